-- Quota and host views (projections/quotas.py, projections/hosts.py).
-- Applied into the "views" schema and into a fresh schema by replay: no schema names.
CREATE TABLE quota_limits (
    project_id text NOT NULL,
    resource text NOT NULL,
    hard_limit integer NOT NULL,
    PRIMARY KEY (project_id, resource)
);

CREATE TABLE quota_claims (
    project_id text NOT NULL,
    instance_id text NOT NULL,
    instances integer NOT NULL,
    cores integer NOT NULL,
    ram integer NOT NULL,
    PRIMARY KEY (project_id, instance_id)
);

CREATE TABLE hosts (
    host text PRIMARY KEY,
    number integer NOT NULL,
    vcpus integer NOT NULL,
    memory_mb integer NOT NULL,
    local_gb integer NOT NULL,
    hypervisor_type text NOT NULL,
    hypervisor_version bigint NOT NULL,
    host_ip text NOT NULL,
    disabled boolean NOT NULL DEFAULT false,
    disabled_reason text,
    registered_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE TABLE host_claims (
    host text NOT NULL,
    instance_id text NOT NULL,
    project_id text NOT NULL,
    vcpus integer NOT NULL,
    memory_mb integer NOT NULL,
    disk_gb integer NOT NULL,
    PRIMARY KEY (host, instance_id)
);

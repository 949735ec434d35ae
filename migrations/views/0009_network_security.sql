-- Floating IP and security group views (projections/network_security.py), the
-- ports' groups they need, and the network claims in the quota view.
-- Applied into the "views" schema and into a fresh schema by replay: no schema names.
ALTER TABLE quota_claims
    ADD COLUMN floating_ips integer NOT NULL DEFAULT 0,
    ADD COLUMN security_groups integer NOT NULL DEFAULT 0;

CREATE TABLE floating_ips (
    id uuid PRIMARY KEY,
    project_id text NOT NULL,
    floating_network_id text NOT NULL,
    floating_ip_address text NOT NULL,
    description text NOT NULL,
    port_id text,
    fixed_ip_address text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    revision_number integer NOT NULL
);

CREATE INDEX floating_ips_by_project ON floating_ips (project_id, created_at, id);
CREATE INDEX floating_ips_by_port ON floating_ips (port_id) WHERE port_id IS NOT NULL;

CREATE TABLE security_groups (
    id uuid PRIMARY KEY,
    project_id text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted boolean NOT NULL DEFAULT false,
    revision_number integer NOT NULL
);

CREATE INDEX security_groups_by_project ON security_groups (project_id, created_at, id);

-- A deleted group's rules, and a removed rule, have no row.
CREATE TABLE security_group_rules (
    id uuid PRIMARY KEY,
    security_group_id uuid NOT NULL,
    project_id text NOT NULL,
    direction text NOT NULL,
    ethertype text NOT NULL,
    protocol text,
    port_range_min integer,
    port_range_max integer,
    remote_ip_prefix text,
    remote_group_id text,
    description text NOT NULL,
    created_at timestamptz NOT NULL,
    position integer NOT NULL  -- its place among its group's rules
);

CREATE INDEX security_group_rules_by_group ON security_group_rules (security_group_id, position);

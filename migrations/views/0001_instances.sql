-- Read-side views. Applied into the "views" schema by the runner, and into a
-- fresh schema by replay; so no statement here names a schema.
CREATE TABLE tracking (
    projection text PRIMARY KEY,
    position bigint NOT NULL
);

CREATE TABLE instances (
    id uuid PRIMARY KEY,
    version bigint NOT NULL,
    project_id text NOT NULL,
    user_id text NOT NULL,
    name text NOT NULL,
    host text NOT NULL,
    flavor_id text NOT NULL,
    image_ref text NOT NULL,
    vcpus integer NOT NULL,
    memory_mb integer NOT NULL,
    disk_gb integer NOT NULL,
    vm_state text NOT NULL,
    task_state text,
    power_state integer NOT NULL,
    status text NOT NULL,
    pending text,
    pending_kind text,
    fault text,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    launched_at timestamptz,
    deleted_at timestamptz
);

CREATE INDEX instances_project_created_idx ON instances (project_id, created_at, id);

CREATE TABLE instance_actions (
    instance_id uuid NOT NULL,
    request_id text NOT NULL,
    action text NOT NULL,
    project_id text NOT NULL,
    user_id text NOT NULL,
    start_time timestamptz NOT NULL,
    finish_time timestamptz,
    result text,
    message text,
    PRIMARY KEY (instance_id, request_id)
);

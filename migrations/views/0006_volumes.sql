-- Volume, snapshot and backup views (projections/volumes.py) and their claims in the quota view.
-- Applied into the "views" schema and into a fresh schema by replay: no schema names.
ALTER TABLE quota_claims
    ADD COLUMN volumes integer NOT NULL DEFAULT 0,
    ADD COLUMN gigabytes integer NOT NULL DEFAULT 0,
    ADD COLUMN snapshots integer NOT NULL DEFAULT 0;

CREATE TABLE volumes (
    id uuid PRIMARY KEY,
    project_id text NOT NULL,
    user_id text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    size_gb integer NOT NULL,
    volume_type text NOT NULL,
    availability_zone text NOT NULL,
    host text NOT NULL,
    status text NOT NULL,
    snapshot_id text,
    fault text,
    pending text,
    pending_kind text,
    server_id text,
    compute_host text,
    device text,
    portal text,
    iqn text,
    lun integer,
    snapshots text[] NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX volumes_by_project ON volumes (project_id, created_at DESC, id);
CREATE INDEX volumes_by_server ON volumes (server_id) WHERE server_id IS NOT NULL;

CREATE TABLE snapshots (
    id uuid PRIMARY KEY,
    volume_id text NOT NULL,
    project_id text NOT NULL,
    user_id text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    size_gb integer NOT NULL,
    host text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    pending text,
    pending_kind text,
    fault text
);

CREATE INDEX snapshots_by_project ON snapshots (project_id, created_at DESC, id);

CREATE TABLE backups (
    id uuid PRIMARY KEY,
    volume_id text NOT NULL,
    project_id text NOT NULL,
    user_id text NOT NULL,
    name text NOT NULL,
    description text NOT NULL,
    size_gb integer NOT NULL,
    host text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    checksum text NOT NULL,
    stored_bytes bigint NOT NULL,
    pending text,
    pending_kind text,
    fault text
);

CREATE INDEX backups_by_project ON backups (project_id, created_at DESC, id);

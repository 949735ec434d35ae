-- Volume view (projections/volumes.py) and the volume claims in the quota view.
-- Applied into the "views" schema and into a fresh schema by replay: no schema names.
ALTER TABLE quota_claims
    ADD COLUMN volumes integer NOT NULL DEFAULT 0,
    ADD COLUMN gigabytes integer NOT NULL DEFAULT 0;

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
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX volumes_by_project ON volumes (project_id, created_at DESC, id);

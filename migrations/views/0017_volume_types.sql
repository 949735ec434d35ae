-- Volume types (projections/volume_types.py): one row per type, its extra
-- specs as a JSON object and the projects that may use a private one as a
-- JSON array. A deleted type keeps its row (deleted) and leaves listings.
-- No statement names a schema (replay applies this file to a fresh one).
CREATE TABLE volume_types (
    id text PRIMARY KEY,
    name text NOT NULL,
    description text,
    is_public boolean NOT NULL,
    extra_specs jsonb NOT NULL,
    projects jsonb NOT NULL,
    deleted boolean NOT NULL,
    created_at timestamptz
);
CREATE INDEX volume_types_by_name ON volume_types (name) WHERE NOT deleted;

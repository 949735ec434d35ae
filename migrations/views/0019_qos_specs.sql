-- QoS specs (projections/qos_specs.py): one row per spec, its keys as a JSON
-- object and the volume types it is associated with as a JSON array. A
-- deleted spec keeps its row (deleted) and leaves listings.
-- No statement names a schema (replay applies this file to a fresh one).
CREATE TABLE qos_specs (
    id text PRIMARY KEY,
    name text NOT NULL,
    consumer text NOT NULL,
    specs jsonb NOT NULL,
    types jsonb NOT NULL,
    deleted boolean NOT NULL,
    created_at timestamptz
);

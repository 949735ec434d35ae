-- Moves of servers (os-migrations, /servers/{id}/migrations): one row per
-- migration, numbered by the log position of the request that started it
-- (the integer id Nova's API shows), from the instance events of
-- domain/migration_events.py. The instance row keeps its latest migration,
-- so the view folds later events onto it. Applied into the "views" schema
-- and by replay: no schema names.
ALTER TABLE instances ADD COLUMN migration jsonb;

CREATE TABLE migrations (
    id bigint PRIMARY KEY,
    uuid uuid NOT NULL UNIQUE,
    instance_uuid uuid NOT NULL,
    project_id text NOT NULL,
    user_id text NOT NULL,
    migration_type text NOT NULL,
    source_compute text NOT NULL,
    dest_compute text NOT NULL,
    old_flavor_id text NOT NULL,
    new_flavor_id text NOT NULL,
    status text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    memory_total_bytes bigint NOT NULL DEFAULT 0,  -- a live migration's copy
    memory_processed_bytes bigint NOT NULL DEFAULT 0,
    memory_remaining_bytes bigint NOT NULL DEFAULT 0,
    disk_total_bytes bigint NOT NULL DEFAULT 0,
    disk_processed_bytes bigint NOT NULL DEFAULT 0,
    disk_remaining_bytes bigint NOT NULL DEFAULT 0
);

CREATE INDEX migrations_instance ON migrations (instance_uuid, id);

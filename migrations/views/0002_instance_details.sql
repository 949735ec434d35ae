-- What boot, lock, rename and metadata add to an instance, and the order of
-- its actions. No statement names a schema (replay applies it elsewhere).
ALTER TABLE instances
    ADD COLUMN fault_at timestamptz,
    ADD COLUMN key_name text,
    ADD COLUMN public_key text,
    ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    ADD COLUMN user_data text,
    ADD COLUMN availability_zone text NOT NULL DEFAULT 'nova',
    ADD COLUMN reservation_id text NOT NULL DEFAULT '',
    ADD COLUMN launch_index integer NOT NULL DEFAULT 0,
    ADD COLUMN description text,
    ADD COLUMN locked boolean NOT NULL DEFAULT false,
    ADD COLUMN locked_by_admin boolean NOT NULL DEFAULT false,
    ADD COLUMN locked_reason text;

CREATE INDEX instances_updated_idx ON instances (updated_at);

-- The log position of the event that started the action: newest first is
-- "highest position first", with no ties.
ALTER TABLE instance_actions ADD COLUMN position bigint;
ALTER TABLE instance_actions ADD COLUMN host text;

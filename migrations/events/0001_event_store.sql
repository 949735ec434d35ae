-- The event store, in the shape eventsourcing's PostgresApplicationRecorder
-- expects (application name "nimbus" -> table nimbus_events). The library is
-- configured with CREATE_TABLE=n: this file is the only place it is defined.
CREATE TYPE stored_event_uuid AS (
    originator_id uuid,
    originator_version bigint,
    topic text,
    state bytea
);

CREATE TABLE nimbus_events (
    originator_id uuid NOT NULL,
    originator_version bigint NOT NULL,
    topic text,
    state bytea,
    notification_id bigserial,
    PRIMARY KEY (originator_id, originator_version)
) WITH (
    autovacuum_enabled = true,
    autovacuum_vacuum_threshold = 100000000,
    autovacuum_vacuum_scale_factor = 0.5,
    autovacuum_analyze_threshold = 1000,
    autovacuum_analyze_scale_factor = 0.01
);

CREATE UNIQUE INDEX nimbus_events_notification_id_idx
    ON nimbus_events (notification_id ASC);

-- Where the relay has got to: the last log position JetStream acknowledged.
CREATE TABLE relay_position (
    relay text PRIMARY KEY,
    position bigint NOT NULL
);

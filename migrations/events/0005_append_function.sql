-- An append in one round trip. The log's lock, the notification and the
-- insert run in one statement: called in autocommit, the statement is its
-- transaction, so the lock is held from the insert to its commit and no
-- longer, with no client round trip in between (four fewer than BEGIN, LOCK,
-- NOTIFY, INSERT and COMMIT sent one by one). The lock is the same EXCLUSIVE
-- lock eventsourcing takes (insert order = commit order, so the log is
-- gap-free); unlike the library's own database functions, nothing is skipped.
-- commands/event_store.py (Recorder.insert_events) calls it.
CREATE FUNCTION nimbus_append(events stored_event_uuid[]) RETURNS SETOF bigint
LANGUAGE plpgsql AS $$
BEGIN
    LOCK TABLE nimbus_events IN EXCLUSIVE MODE;
    NOTIFY nimbus_events;
    RETURN QUERY
        INSERT INTO nimbus_events (originator_id, originator_version, topic, state)
        SELECT e.originator_id, e.originator_version, e.topic, e.state FROM unnest(events) AS e
        RETURNING notification_id;
END
$$;

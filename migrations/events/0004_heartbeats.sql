-- When each hypervisor host last reported (its heartbeat). Not an event and
-- not a view: heartbeats arrive every report_interval from every host, so as
-- events they would fill the log with facts nobody replays; a replay rebuilds
-- the views from registrations alone and liveness is only ever "now".
CREATE TABLE IF NOT EXISTS host_heartbeats (
    host text PRIMARY KEY,
    last_seen timestamptz NOT NULL,
    report jsonb NOT NULL
);

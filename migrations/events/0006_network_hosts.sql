-- What each network host last reported rendering: the log position its plan
-- reflects and the plan's digest (workers/network/plan.py). Not events: a
-- host reports after every render, for ever, and only "now" is ever asked;
-- a host whose position lags the log's head, or whose digest differs from
-- another's, shows drift.
CREATE TABLE IF NOT EXISTS network_hosts (
    host text PRIMARY KEY,
    position bigint NOT NULL,
    digest text NOT NULL,
    reported_at timestamptz NOT NULL,
    last_seen timestamptz NOT NULL
);

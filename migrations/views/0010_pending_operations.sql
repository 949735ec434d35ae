-- The rows that wait on a host, by how long: the deadline sweeper's look
-- (projections/overdue.py). Applied into the "views" schema and by replay: no schema names.
CREATE INDEX instances_pending ON instances (updated_at) WHERE pending IS NOT NULL;
CREATE INDEX volumes_pending ON volumes (updated_at) WHERE pending IS NOT NULL;
CREATE INDEX snapshots_pending ON snapshots (updated_at) WHERE pending IS NOT NULL;

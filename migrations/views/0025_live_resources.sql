-- The live servers and volumes, newest first (projections/cloud_queries.py):
-- /metrics reads at most a bounded number of them on every scrape, through
-- these indexes, however many deleted rows the views keep. No schema names.
CREATE INDEX instances_live_created ON instances (created_at DESC, id DESC)
    WHERE deleted_at IS NULL;
CREATE INDEX volumes_live_created ON volumes (created_at DESC, id DESC)
    WHERE status <> 'deleted';

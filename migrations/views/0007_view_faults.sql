-- The views that are stuck (projections/faults.py): each row names a view
-- that met an event it cannot apply, where, and the database's reason. The
-- projector skips such a view from then on; a replay that reaches the log
-- head builds a schema without rows here, which clears it. No schema names.
CREATE TABLE view_faults (
    view text PRIMARY KEY,
    position bigint NOT NULL,
    event_type text NOT NULL,
    aggregate_id uuid NOT NULL,
    error text NOT NULL,
    at timestamptz NOT NULL DEFAULT now()
);

-- A snapshot's progress as last reported (SnapshotProgressReported); null: from its status.
ALTER TABLE snapshots ADD COLUMN progress text;

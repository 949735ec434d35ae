-- A snapshot's metadata (Cinder's key-value pairs; SnapshotMetadataSet), a JSON object.
ALTER TABLE snapshots ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb;

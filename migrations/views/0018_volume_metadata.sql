-- A volume's metadata (Cinder's key-value pairs; VolumeMetadataSet), a JSON object.
ALTER TABLE volumes ADD COLUMN metadata jsonb NOT NULL DEFAULT '{}'::jsonb;

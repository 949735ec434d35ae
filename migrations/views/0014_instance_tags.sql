-- A server's tags (compute 2.26, InstanceTagsSet), a JSON array of strings so
-- that the views' batch upserts can send it as one value per row, and the
-- list filters can ask for all (@>) or any (?|) of them.
ALTER TABLE instances ADD COLUMN tags jsonb NOT NULL DEFAULT '[]'::jsonb;

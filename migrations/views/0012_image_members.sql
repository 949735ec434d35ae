-- The projects each shared image is shared with (Glance's image members),
-- and a GIN index for the tag filter of image lists.
-- No statement names a schema (replay applies this file to a fresh one).
CREATE TABLE image_members (
    image_id uuid NOT NULL,
    member_id text NOT NULL,
    status text NOT NULL,           -- pending, accepted, rejected
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    PRIMARY KEY (image_id, member_id)
);

CREATE INDEX image_members_member_idx ON image_members (member_id, status);
CREATE INDEX images_tags_idx ON images USING gin (tags);

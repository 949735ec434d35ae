-- A project's enabled flag and tags (ProjectUpdated, ProjectTagsSet).
ALTER TABLE projects ADD COLUMN enabled boolean NOT NULL DEFAULT true,
    ADD COLUMN tags jsonb NOT NULL DEFAULT '[]'::jsonb;

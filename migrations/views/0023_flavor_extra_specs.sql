-- A flavor's extra specs (os-extra_specs: FlavorExtraSpecsSet and
-- FlavorExtraSpecDeleted), a JSON object of strings.
ALTER TABLE flavors ADD COLUMN extra_specs jsonb NOT NULL DEFAULT '{}'::jsonb;

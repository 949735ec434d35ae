-- Host aggregates (os-aggregates, the host_aggregate events): a group of
-- compute hosts with metadata; the "availability_zone" key of the metadata
-- makes it a zone (os-availability-zone reads it). Hosts are a JSON array of
-- names, metadata a JSON object of strings.
CREATE TABLE host_aggregates (
    id integer PRIMARY KEY,
    uuid text NOT NULL,
    name text NOT NULL,
    hosts jsonb NOT NULL DEFAULT '[]'::jsonb,
    metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
    created_at timestamptz NOT NULL,
    updated_at timestamptz
);

-- The catalog views: flavors (with their access lists), images, keypairs.
-- No statement names a schema (replay applies this file to a fresh one).
CREATE TABLE flavors (
    id text PRIMARY KEY,            -- Nova's flavor id ("1", or a UUID)
    name text NOT NULL UNIQUE,
    vcpus integer NOT NULL,
    ram integer NOT NULL,
    disk integer NOT NULL,
    ephemeral integer NOT NULL,
    swap integer NOT NULL,
    rxtx_factor double precision NOT NULL,
    is_public boolean NOT NULL,
    description text,
    created_at timestamptz NOT NULL
);

CREATE TABLE flavor_access (
    flavor_id text NOT NULL,
    project_id text NOT NULL,
    PRIMARY KEY (flavor_id, project_id)
);

CREATE TABLE images (
    id uuid PRIMARY KEY,
    name text,
    owner text NOT NULL,
    visibility text NOT NULL,
    status text NOT NULL,
    disk_format text,
    container_format text,
    size bigint,
    checksum text,
    os_hash_algo text,
    os_hash_value text,
    min_disk integer NOT NULL,
    min_ram integer NOT NULL,
    protected boolean NOT NULL,
    tags jsonb NOT NULL,
    properties jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX images_created_idx ON images (created_at DESC, id DESC);

CREATE TABLE keypairs (
    id uuid PRIMARY KEY,
    user_id text NOT NULL,
    name text NOT NULL,
    public_key text NOT NULL,
    fingerprint text NOT NULL,
    type text NOT NULL,
    created_at timestamptz NOT NULL,
    UNIQUE (user_id, name)
);

-- Domains (DomainCreated/Updated/Deleted; the Default domain is not a row:
-- it always exists), and what projects and users carry of them and of
-- Keystone's user attributes. Names are unique within a domain.
CREATE TABLE domains (
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text NOT NULL,
    enabled boolean NOT NULL,
    created_at timestamptz NOT NULL
);
ALTER TABLE projects ADD COLUMN domain_id text NOT NULL DEFAULT 'default',
    DROP CONSTRAINT projects_name_key, ADD UNIQUE (domain_id, name);
ALTER TABLE users ADD COLUMN domain_id text NOT NULL DEFAULT 'default',
    ADD COLUMN email text, ADD COLUMN description text,
    ADD COLUMN enabled boolean NOT NULL DEFAULT true,
    DROP CONSTRAINT users_name_key, ADD UNIQUE (domain_id, name);

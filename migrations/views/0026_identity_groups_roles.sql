-- Keystone's custom roles (RoleCreated/Updated/Deleted: the default roles
-- are no rows), groups, who is in them, and what groups hold on which scope
-- (a project id, 'domain:<id>' or 'system', as role_assignments.project_id).
-- A grant's role is a default role's name or a custom role's id.
CREATE TABLE custom_roles (
    id text PRIMARY KEY,
    name text NOT NULL,
    domain_id text,
    description text
);

CREATE TABLE groups (
    id text PRIMARY KEY,
    name text NOT NULL,
    domain_id text NOT NULL,
    description text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE group_members (
    group_id text NOT NULL,
    user_id text NOT NULL,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user_idx ON group_members (user_id);

CREATE TABLE group_assignments (
    group_id text NOT NULL,
    scope text NOT NULL,
    role text NOT NULL,
    PRIMARY KEY (group_id, scope, role)
);

-- The regions, services and endpoints an admin registered (CatalogEntrySaved/
-- Deleted; what nimbus serves itself is published from its settings).
CREATE TABLE catalog_entries (
    aggregate_id text PRIMARY KEY,
    kind text NOT NULL,
    id text NOT NULL,
    attributes jsonb NOT NULL,
    UNIQUE (kind, id)
);

-- Implied role rules between custom roles (RoleImplied/RoleImplicationRemoved;
-- the default roles' own rules are domain.identity.IMPLIES). A role is a
-- default role's name or a custom role's id.
CREATE TABLE role_implications (
    prior text NOT NULL,
    implied text NOT NULL,
    PRIMARY KEY (prior, implied)
);

-- Users' credentials (CredentialCreated/Updated/Deleted); the blob only as
-- the API sealed it. An EC2 credential has its access key.
CREATE TABLE credentials (
    id text PRIMARY KEY,
    aggregate_id text NOT NULL UNIQUE,
    user_id text NOT NULL,
    project_id text,
    type text NOT NULL,
    sealed_blob text NOT NULL,
    access text
);
CREATE INDEX credentials_user_idx ON credentials (user_id);

-- Application credentials (ApplicationCredentialCreated/Deleted), without
-- their secrets' hashes.
CREATE TABLE app_credentials (
    id text PRIMARY KEY,
    user_id text NOT NULL,
    project_id text NOT NULL,
    name text NOT NULL,
    description text,
    roles jsonb NOT NULL,
    expires_at text,
    unrestricted boolean NOT NULL
);
CREATE INDEX app_credentials_user_idx ON app_credentials (user_id);

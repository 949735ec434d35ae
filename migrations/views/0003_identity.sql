-- Identity views: projects, users, role assignments (for the Keystone admin
-- API) and token revocations (what every API process checks tokens against).
-- No statement names a schema: the runner and replay choose it.
CREATE TABLE projects (
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    description text NOT NULL,
    created_at timestamptz NOT NULL
);

CREATE TABLE users (
    id text PRIMARY KEY,
    name text NOT NULL UNIQUE,
    default_project_id text,
    created_at timestamptz NOT NULL
);

CREATE TABLE role_assignments (
    user_id text NOT NULL,
    project_id text NOT NULL,
    role text NOT NULL,
    PRIMARY KEY (user_id, project_id, role)
);
CREATE INDEX role_assignments_project_idx ON role_assignments (project_id);

-- One row per revocation, keyed by its log position so a reader can fetch
-- only what is new. A row with an audit id refuses that one token; a row
-- without refuses the tokens of its user and/or project issued no later than
-- revoked_at.
CREATE TABLE revocations (
    position bigint PRIMARY KEY,
    audit_id text,
    user_id text,
    project_id text,
    revoked_at timestamptz NOT NULL
);

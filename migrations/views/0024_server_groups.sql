-- Server groups (os-server-groups, the server_group events) and the servers
-- booted into them; a member whose instance is deleted is left out when read.
CREATE TABLE server_groups (
    id uuid PRIMARY KEY,
    name text NOT NULL,
    policy text NOT NULL,
    project_id text NOT NULL,
    user_id text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE TABLE server_group_members (
    group_id uuid NOT NULL,
    instance_id uuid NOT NULL,
    joined_at timestamptz NOT NULL,
    PRIMARY KEY (group_id, instance_id)
);

-- Network, subnet, port and router views (projections/networks.py).
-- Applied into the "views" schema and into a fresh schema by replay: no schema names.
-- Lists are jsonb, not arrays: a batch's rows go as one array per column (projections/upsert.py).
CREATE TABLE networks (
    id uuid PRIMARY KEY,
    version integer NOT NULL,
    project_id text NOT NULL,
    name text NOT NULL,
    number integer NOT NULL,
    external boolean NOT NULL,
    shared boolean NOT NULL,
    admin_state_up boolean NOT NULL,
    mtu integer NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted boolean NOT NULL
);

CREATE INDEX networks_by_project ON networks (project_id, created_at, id) WHERE NOT deleted;

CREATE TABLE subnets (
    id uuid PRIMARY KEY,
    network_id text NOT NULL,
    project_id text NOT NULL,
    name text NOT NULL,
    cidr text NOT NULL,
    gateway_ip text,
    allocation_pools jsonb NOT NULL,
    enable_dhcp boolean NOT NULL,
    dns_nameservers jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL
);

CREATE INDEX subnets_by_network ON subnets (network_id);

CREATE TABLE ports (
    id uuid PRIMARY KEY,
    version integer NOT NULL,
    project_id text NOT NULL,
    network_id text NOT NULL,
    name text NOT NULL,
    mac_address text NOT NULL,
    fixed_ips jsonb NOT NULL,
    device_id text NOT NULL,
    device_owner text NOT NULL,
    security_groups jsonb NOT NULL,
    admin_state_up boolean NOT NULL,
    status text NOT NULL,
    binding_host text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted boolean NOT NULL
);

CREATE INDEX ports_by_network ON ports (network_id) WHERE NOT deleted;
CREATE INDEX ports_by_device ON ports (device_id) WHERE NOT deleted AND device_id <> '';
CREATE INDEX ports_by_group ON ports USING gin (security_groups) WHERE NOT deleted;

CREATE TABLE routers (
    id uuid PRIMARY KEY,
    version integer NOT NULL,
    project_id text NOT NULL,
    name text NOT NULL,
    admin_state_up boolean NOT NULL,
    gateway_network_id text,
    interfaces jsonb NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted boolean NOT NULL
);

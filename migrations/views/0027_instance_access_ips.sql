-- A server's accessIPv4/accessIPv6, as its boot gave them (Nova keeps and
-- shows them; nothing uses them). No schema names.
ALTER TABLE instances
    ADD COLUMN access_ip_v4 text NOT NULL DEFAULT '',
    ADD COLUMN access_ip_v6 text NOT NULL DEFAULT '';

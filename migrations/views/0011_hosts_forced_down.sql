-- A host an operator forced down (os-services force-down, HostForcedDown):
-- shown down whatever its heartbeat. Applied into the "views" schema and by replay.
ALTER TABLE hosts ADD COLUMN forced_down boolean NOT NULL DEFAULT false;

"""The catalog views (flavors, flavor access, images, image members, keypairs)
from their events.

Each event maps to one or two statements, in log order, inside the
projector's transaction; only event data is written (never now()), so a
replay rebuilds the same rows; a create met again (a view re-fed from an
earlier position) overwrites rather than fails. Deleted flavors, images and keypairs leave
their views, as they leave Nova's and Glance's listings.
"""

from __future__ import annotations

from typing import Any
from uuid import UUID

import psycopg
from psycopg.types.json import Jsonb

from domain import flavor as fl
from domain import image as im
from domain import keypair as kp
from projections.log import LogEntry
from projections.statements import Statements

_FLAVOR = (
    "INSERT INTO flavors (id, name, vcpus, ram, disk, ephemeral, swap, rxtx_factor,"
    " is_public, description, created_at) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, vcpus = EXCLUDED.vcpus,"
    " ram = EXCLUDED.ram, disk = EXCLUDED.disk, ephemeral = EXCLUDED.ephemeral,"
    " swap = EXCLUDED.swap, rxtx_factor = EXCLUDED.rxtx_factor,"
    " is_public = EXCLUDED.is_public, description = EXCLUDED.description,"
    " created_at = EXCLUDED.created_at, extra_specs = '{}'::jsonb"
)
_IMAGE = (
    "INSERT INTO images (id, name, owner, visibility, status, disk_format, container_format,"
    " min_disk, min_ram, protected, tags, properties, created_at, updated_at)"
    " VALUES (%s, %s, %s, %s, 'queued', %s, %s, %s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (id) DO NOTHING"
)
_KEYPAIR = (
    "INSERT INTO keypairs (id, user_id, name, public_key, fingerprint, type, created_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
    " ON CONFLICT (id) DO UPDATE SET public_key = EXCLUDED.public_key,"
    " fingerprint = EXCLUDED.fingerprint, type = EXCLUDED.type, created_at = EXCLUDED.created_at"
)


def apply_flavors(conn: psycopg.Connection[Any],
                  items: list[tuple[LogEntry, fl.FlavorEvent]]) -> None:
    out = Statements()
    for _, e in items:
        if isinstance(e, fl.FlavorCreated):
            out.add(_FLAVOR, (e.flavor_id, e.name, e.vcpus, e.ram, e.disk, e.ephemeral,
                                  e.swap, e.rxtx_factor, e.is_public, e.description, e.at))
        elif isinstance(e, fl.FlavorDeleted):
            out.add("DELETE FROM flavors WHERE id = %s", (e.flavor_id,))
            out.add("DELETE FROM flavor_access WHERE flavor_id = %s", (e.flavor_id,))
        elif isinstance(e, fl.FlavorAccessAdded):
            out.add("INSERT INTO flavor_access (flavor_id, project_id) VALUES (%s, %s)"
                    " ON CONFLICT DO NOTHING", (e.flavor_id, e.project_id))
        elif isinstance(e, fl.FlavorAccessRemoved):
            out.add("DELETE FROM flavor_access WHERE flavor_id = %s AND project_id = %s",
                    (e.flavor_id, e.project_id))
        elif isinstance(e, fl.FlavorExtraSpecsSet):
            out.add("UPDATE flavors SET extra_specs = extra_specs || %s WHERE id = %s",
                    (Jsonb(e.extra_specs), e.flavor_id))
        elif isinstance(e, fl.FlavorExtraSpecDeleted):
            out.add("UPDATE flavors SET extra_specs = extra_specs - %s WHERE id = %s",
                    (e.key, e.flavor_id))
    out.send(conn)


def apply_images(conn: psycopg.Connection[Any],
                 items: list[tuple[LogEntry, im.ImageEvent]]) -> None:
    out = Statements()
    for entry, e in items:
        key: UUID = entry.aggregate_id
        if isinstance(e, im.ImageCreated):
            out.add(_IMAGE, (key, e.name, e.owner, e.visibility, e.disk_format,
                                 e.container_format, e.min_disk, e.min_ram, e.protected,
                                 Jsonb(e.tags), Jsonb(e.properties), e.at, e.at))
        elif isinstance(e, im.ImageUploadStarted):
            out.add("UPDATE images SET status = 'saving', updated_at = %s WHERE id = %s",
                    (e.at, key))
        elif isinstance(e, im.ImageUploadFailed):
            out.add("UPDATE images SET status = 'queued', updated_at = %s WHERE id = %s",
                    (e.at, key))
        elif isinstance(e, im.ImageActivated):
            out.add(
                "UPDATE images SET status = 'active', updated_at = %s, size = %s,"
                " checksum = %s, os_hash_algo = %s, os_hash_value = %s WHERE id = %s",
                (e.at, e.size, e.checksum, e.os_hash_algo, e.os_hash_value, key))
        elif isinstance(e, im.ImageDeleted):
            out.add("DELETE FROM images WHERE id = %s", (key,))
            out.add("DELETE FROM image_members WHERE image_id = %s", (key,))
        else:
            _image_change(out, key, e)
    out.send(conn)


def _image_change(out: Statements, key: UUID, e: im.ImageEvent) -> None:
    """A PATCH, a tag, a deactivation or a member: a row changed in place."""
    if isinstance(e, im.ImageUpdated):
        out.add("UPDATE images SET name = %s, visibility = %s, disk_format = %s,"
                " container_format = %s, min_disk = %s, min_ram = %s, protected = %s,"
                " tags = %s, properties = %s, owner = COALESCE(%s, owner), updated_at = %s"
                " WHERE id = %s",
                (e.name, e.visibility, e.disk_format, e.container_format, e.min_disk,
                 e.min_ram, e.protected, Jsonb(list(dict.fromkeys(e.tags))),
                 Jsonb(e.properties), e.owner, e.at, key))
    elif isinstance(e, im.ImageTagAdded):
        out.add("UPDATE images SET tags = CASE WHEN tags ? %s THEN tags ELSE tags || %s END,"
                " updated_at = %s WHERE id = %s", (e.tag, Jsonb([e.tag]), e.at, key))
    elif isinstance(e, im.ImageTagRemoved):
        out.add("UPDATE images SET tags = tags - %s, updated_at = %s WHERE id = %s",
                (e.tag, e.at, key))
    elif isinstance(e, im.ImageDeactivated):
        out.add("UPDATE images SET status = 'deactivated', updated_at = %s WHERE id = %s",
                (e.at, key))
    elif isinstance(e, im.ImageReactivated):
        out.add("UPDATE images SET status = 'active', updated_at = %s WHERE id = %s",
                (e.at, key))
    elif isinstance(e, im.ImageMemberAdded):
        out.add("INSERT INTO image_members (image_id, member_id, status, created_at, updated_at)"
                " VALUES (%s, %s, 'pending', %s, %s) ON CONFLICT (image_id, member_id) DO UPDATE"
                " SET status = 'pending', created_at = EXCLUDED.created_at,"
                " updated_at = EXCLUDED.updated_at", (key, e.member_id, e.at, e.at))
    elif isinstance(e, im.ImageMemberStatusChanged):
        out.add("UPDATE image_members SET status = %s, updated_at = %s"
                " WHERE image_id = %s AND member_id = %s", (e.status, e.at, key, e.member_id))
    elif isinstance(e, im.ImageMemberRemoved):
        out.add("DELETE FROM image_members WHERE image_id = %s AND member_id = %s",
                (key, e.member_id))


def apply_keypairs(conn: psycopg.Connection[Any],
                   items: list[tuple[LogEntry, kp.KeypairEvent]]) -> None:
    out = Statements()
    for entry, e in items:
        if isinstance(e, kp.KeypairCreated):
            out.add(_KEYPAIR, (entry.aggregate_id, e.user_id, e.name, e.public_key,
                                   e.fingerprint, e.key_type, e.at))
        elif isinstance(e, kp.KeypairDeleted):
            out.add("DELETE FROM keypairs WHERE id = %s", (entry.aggregate_id,))
    out.send(conn)

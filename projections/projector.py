"""Keeps the views up to date with the log, exactly once.

Each batch is one transaction: lock the projection's tracking row, read the
entries after its position, apply them, move the position. A crash anywhere
rolls the whole batch back, so a restart resumes where the last commit left
off and no event is applied twice or skipped. The lock also makes a second
projector (or a replay) wait its turn instead of racing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

import psycopg
from psycopg import sql

from domain.base import Event
from migrations.runner import VIEWS_SCHEMA
from projections import catalog, hosts, identity, instances, quotas, volumes
from projections.log import CHANNEL, LogEntry, read_after

log = logging.getLogger(__name__)

BATCH = 1000
NAME = "views"  # the tracking row: every view moves in the same transaction


class Projection(NamedTuple):
    """A view: the events it reads and how it applies a batch of them."""

    events: type[Event]
    apply: Callable[[psycopg.Connection[Any], list[Any]], None]


PROJECTIONS: tuple[Projection, ...] = (
    Projection(instances.EVENTS, instances.apply),
    Projection(identity.EVENTS, identity.apply),
    Projection(catalog.FLAVOR_EVENTS, catalog.apply_flavors),
    Projection(catalog.IMAGE_EVENTS, catalog.apply_images),
    Projection(catalog.KEYPAIR_EVENTS, catalog.apply_keypairs),
    Projection(quotas.EVENTS, quotas.apply),
    Projection(hosts.EVENTS, hosts.apply),
    Projection(volumes.VOLUME_EVENTS, volumes.apply_volumes),
    Projection(volumes.SNAPSHOT_EVENTS, volumes.apply_snapshots),
    Projection(volumes.BACKUP_EVENTS, volumes.apply_backups),
)


def apply(conn: psycopg.Connection[Any], entries: list[LogEntry]) -> None:
    """Decode each entry once and hand every view the events it reads."""
    items = [(entry, entry.decode()) for entry in entries]
    for projection in PROJECTIONS:
        mine = [(e, event) for e, event in items if isinstance(event, projection.events)]
        if mine:
            projection.apply(conn, mine)


def catch_up(
    conn: psycopg.Connection[Any], schema: str = VIEWS_SCHEMA, upto: int | None = None
) -> int:
    """Apply one batch in its own transaction; return how many entries were applied."""
    with conn.transaction():
        conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(sql.Identifier(schema)))
        conn.execute(
            "INSERT INTO tracking (projection, position) VALUES (%s, 0) ON CONFLICT DO NOTHING",
            (NAME,),
        )
        row = conn.execute(
            "SELECT position FROM tracking WHERE projection = %s FOR UPDATE", (NAME,)
        ).fetchone()
        assert row is not None
        position = int(row[0])
        limit = BATCH if upto is None else max(0, min(BATCH, upto - position))
        entries = read_after(conn, position, limit) if limit else []
        if entries:
            apply(conn, entries)
            conn.execute(
                "UPDATE tracking SET position = %s WHERE projection = %s",
                (entries[-1].position, NAME),
            )
    return len(entries)


def run(database_url: str, stop: threading.Event) -> None:
    """Follow the log until ``stop`` is set (blocking; run it in a thread)."""
    with (
        psycopg.connect(database_url, autocommit=True) as listener,
        psycopg.connect(database_url, autocommit=True) as conn,
    ):
        listener.execute(sql.SQL("LISTEN {}").format(sql.Identifier(CHANNEL)))
        while not stop.is_set():
            try:
                if catch_up(conn) == BATCH:
                    continue
            except psycopg.Error as exc:
                # e.g. a replay swapped the views under a waiting batch: the
                # batch rolled back, so simply try again.
                log.warning("projector batch rolled back, retrying: %s", exc)
            # Wake on the next insert, or look again after a short while.
            for _ in listener.notifies(timeout=0.5, stop_after=1):
                pass
    log.info("projector stopped")

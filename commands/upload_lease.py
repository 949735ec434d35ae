"""Which process is receiving an image's bytes, and whether it still lives.

An upload is recorded with its owner: the id of the receiving process's
upload lease, a PostgreSQL session that holds an advisory lock named by that
id for as long as the process runs. The database ends the session, and with
it the lock, when the process dies however it dies (kill -9 included), so
"is this upload's receiver still there?" is "is its lock held?", asked of
``pg_locks`` by any API process of the cloud, without guessing from times.
TCP keepalives on the session bound how long a vanished machine's lock
outlives it. The session is opened on first use and again after it is lost
(taking the same lock, so this process's uploads are its own again).
"""

from __future__ import annotations

import threading
import uuid
from typing import Any

import psycopg

from commands.event_store import StoreUnavailable

NAMESPACE_KEY = 0x6E696D75  # "nimu": the first half of every upload lease's lock key
_KEEPALIVES = ("SET tcp_keepalives_idle = 10", "SET tcp_keepalives_interval = 5",
               "SET tcp_keepalives_count = 3")
_HELD = (
    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND granted"
    " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
    " AND classid::bigint = %s AND objid::bigint = %s AND objsubid = 2)"
)


def _key(owner: str) -> int:
    return uuid.UUID(owner).int & 0x7FFFFFFF


class UploadLease:
    """This process's upload lease, and a look at other processes' leases."""

    def __init__(self, database_url: str) -> None:
        self.owner = str(uuid.uuid4())
        self._url = database_url
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()
        self._closed = False

    def hold(self) -> str:
        """The owner id to record with an upload starting now; the lease is
        held from here on."""
        self._session()
        return self.owner

    def alive(self, owner: str | None) -> bool:
        """Whether the process whose lease is ``owner`` still runs."""
        if not owner:
            return False  # recorded before uploads had owners
        if owner == self.owner:
            return True
        try:
            key = _key(owner)
        except ValueError:
            return False
        row = self._session().execute(_HELD, (NAMESPACE_KEY, key)).fetchone()
        return bool(row and row[0])

    def close(self) -> None:
        with self._lock:
            conn, self._conn, self._closed = self._conn, None, True
        if conn is not None:
            conn.close()

    def _session(self) -> psycopg.Connection[Any]:
        with self._lock:
            if self._closed:  # a late caller must not open a session nobody closes
                raise StoreUnavailable("The upload lease is closed: the service is stopping.")
            if self._conn is None or self._conn.closed or self._conn.broken:
                conn = psycopg.connect(self._url, autocommit=True, keepalives=1,
                                       keepalives_idle=10, keepalives_interval=5,
                                       keepalives_count=3)
                try:
                    for setting in _KEEPALIVES:
                        conn.execute(setting)
                    conn.execute("SELECT pg_advisory_lock(%s::int4, %s::int4)",
                                 (NAMESPACE_KEY, _key(self.owner)))
                except BaseException:
                    conn.close()
                    raise
                self._conn = conn
            return self._conn

"""Which tokens were given up or invalidated: a cache every API process keeps.

Tokens are signed, so checking one needs no lookup, but a revoked token must
be refused everywhere. Each API process (command, query or both) keeps the
revocations in memory and, when its copy is older than ``ttl_seconds``, reads
only the rows added since (``views.revocations`` is keyed by log position)
through a ``RevocationReader``, one small synchronous connection of its own:
one indexed query per second at most, whatever the request rate. A logout handled by this process
is added at once, so it is refused here immediately; other processes refuse
it once the projector has applied the event and their cache has refreshed
(the projector's lag plus at most ``ttl_seconds``).
"""

from __future__ import annotations

import threading
import time

from api.tokens import Claims
from projections.identity_queries import RevocationReader


class RevocationCache:
    def __init__(self, database_url: str | None, ttl_seconds: float = 1.0) -> None:
        self._reader = None if database_url is None else RevocationReader(database_url)
        self.ttl = ttl_seconds
        self._lock = threading.Lock()
        self._position = 0
        self._fetched_at = float("-inf")
        self._audit_ids: set[str] = set()
        self._users: dict[str, float] = {}
        self._projects: dict[str, float] = {}
        self._user_projects: dict[tuple[str, str], float] = {}

    def add(self, audit_id: str) -> None:
        """A token this process has just revoked: refuse it from now on."""
        with self._lock:
            self._audit_ids.add(audit_id)

    def is_revoked(self, token: Claims) -> bool:
        self._refresh()
        issued = token.issued_at
        return (
            token.audit_id in self._audit_ids
            or issued <= self._users.get(token.user_id, float("-inf"))
            or issued <= self._projects.get(token.project_id, float("-inf"))
            or issued <= self._user_projects.get((token.user_id, token.project_id),
                                                 float("-inf"))
        )

    def _refresh(self) -> None:
        if self._reader is None or time.monotonic() - self._fetched_at < self.ttl:
            return
        with self._lock:
            if time.monotonic() - self._fetched_at < self.ttl:
                return
            rows = self._reader.after(self._position)
            if rows is None:
                # Keep what is known; a database that is down fails the request
                # elsewhere anyway. Try again on the next check.
                return
            self._fetched_at = time.monotonic()
            for row in rows:
                self._position = row.position
                at = row.revoked_at.timestamp()
                if row.audit_id is not None:
                    self._audit_ids.add(row.audit_id)
                elif row.user_id is not None and row.project_id is not None:
                    key = (row.user_id, row.project_id)
                    self._user_projects[key] = max(at, self._user_projects.get(key, at))
                elif row.user_id is not None:
                    self._users[row.user_id] = max(at, self._users.get(row.user_id, at))
                elif row.project_id is not None:
                    self._projects[row.project_id] = max(at, self._projects.get(row.project_id,
                                                                                at))

    def close(self) -> None:
        with self._lock:
            if self._reader is not None:
                self._reader.close()

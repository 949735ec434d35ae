"""A table of facts about now (heartbeats, what a network host rendered), as
the hosts' reports write it: not events, one autocommit connection, opened
when first needed.

The writer records one report at a time; a report still recording in its
thread when the service stops finishes before the close, and none is taken
after it (it would open a connection nobody closes): ``StoreUnavailable``.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg

from commands.event_store import StoreUnavailable


class FactTable:
    def __init__(self, database_url: str, what: str) -> None:
        self.database_url = database_url
        self.what = what  # "host reports", "network reports": said when refused
        self._conn: psycopg.Connection[Any] | None = None
        self._closed = False
        self._guard = threading.Lock()

    @contextmanager
    def recording(self) -> Iterator[Callable[[str, tuple[Any, ...]], None]]:
        """One report: the block may record events, then ``write(sql, params)``."""
        with self._guard:
            if self._closed:
                raise StoreUnavailable(f"The {self.what} are closed: the service is stopping.")
            yield self._write

    def _write(self, statement: str, params: tuple[Any, ...]) -> None:
        if self._conn is None or self._conn.closed:
            self._conn = psycopg.connect(self.database_url, autocommit=True)
        self._conn.execute(statement, params)

    def close(self) -> None:
        with self._guard:
            self._closed = True
            if self._conn is not None:
                self._conn.close()
                self._conn = None

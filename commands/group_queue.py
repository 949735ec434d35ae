"""Requests that arrive together are served together, by one of their callers.

Why this exists: every commit takes the event table's lock and waits for one
flush, so a process that commits its requests one by one is as fast as one
lock round and one fsync each, and its requests on one hot aggregate (a
project's quota, a host) only race each other. Here each caller queues its
request; the first caller that finds nobody serving becomes the *leader*,
takes every request queued so far (its own among them) and serves them as one
batch, while those arriving meanwhile queue for the next batch. There is no
timer: a batch is whatever arrived while the last one was being served, so an
idle process serves a lone request at once.

``serve`` answers every request of its batch (it records each one's result
or error on the request itself); the queue only says who serves what, and
wakes the callers once their batch is served.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class _Ticket(Generic[T]):
    __slots__ = ("done", "request")

    def __init__(self, request: T) -> None:
        self.request = request
        self.done = False


class GroupQueue(Generic[T]):
    """Serve requests in batches, one batch at a time, each by a caller of its own."""

    def __init__(self, serve: Callable[[list[T]], None]) -> None:
        self._serve = serve
        self._changed = threading.Condition()
        self._queued: list[_Ticket[T]] = []
        self._serving = False

    @property
    def waiting(self) -> int:
        """How many requests wait for the batch being served to end."""
        with self._changed:
            return len(self._queued)

    def submit(self, request: T) -> None:
        """Return once ``request`` was served, in a batch led by this caller or another."""
        ticket = _Ticket(request)
        with self._changed:
            self._queued.append(ticket)
            while self._serving and not ticket.done:
                self._changed.wait()
            if ticket.done:
                return
            self._serving = True
            batch, self._queued = self._queued, []
        try:
            self._serve([t.request for t in batch])
        finally:
            with self._changed:
                self._serving = False
                for t in batch:
                    t.done = True
                self._changed.notify_all()

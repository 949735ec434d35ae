"""A clock a test sets: time moves only when the test says so.

Pass it wherever product code takes a ``domain.clock.Clock``; ``advance`` stands
in for waiting, so a test of expiry neither sleeps nor depends on the machine's
speed.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

START = datetime(2026, 1, 1, tzinfo=UTC)


class SetClock:
    """Gives the same time until ``advance`` moves it on."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)

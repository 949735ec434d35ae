"""The time, as something handed in: a ``Clock`` is any callable giving now.

What stamps or compares times (a token's expiry, a host's outcomes and
reports, the write side's decisions) takes a ``Clock`` instead of reading the
system time, so that a test sets the time rather than waiting for it to pass.
The domain's own decisions never call one: they are given ``now``. This module
lives in the domain because every layer may import the domain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

Clock = Callable[[], datetime]  # an aware UTC datetime


def system_clock() -> datetime:
    """The real time, in UTC."""
    return datetime.now(UTC)

"""The one way a test waits for something: poll a check until it holds.

A fixed sleep either wastes time or, on a loaded machine, is too short; a
poll returns as soon as the condition holds and fails with what it last saw.
A check holds when it returns anything but ``None`` or ``False`` and does not
raise ``AssertionError`` (so a check may assert); that value is returned.
``timeout`` is a bound for a hung system, not a measurement.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

TIMEOUT = 15.0
INTERVAL = 0.05


async def eventually(
    check: Callable[[], Awaitable[T | None]], *, timeout: float = TIMEOUT,
    interval: float = INTERVAL, what: str = "the condition",
) -> T:
    """``await check()`` every ``interval`` seconds until it holds; its value."""
    deadline = time.monotonic() + timeout
    while True:
        error: AssertionError | None = None
        try:
            value = await check()
        except AssertionError as failed:
            value, error = None, failed
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise _never(what, timeout, value, error) from error
        await asyncio.sleep(interval)


def eventually_sync(
    check: Callable[[], T | None], *, timeout: float = TIMEOUT,
    interval: float = INTERVAL, what: str = "the condition",
) -> T:
    """``check()`` every ``interval`` seconds until it holds; its value (for
    tests without an event loop: threads, subprocesses, /proc)."""
    deadline = time.monotonic() + timeout
    while True:
        error: AssertionError | None = None
        try:
            value = check()
        except AssertionError as failed:
            value, error = None, failed
        if value is not None and value is not False:
            return value
        if time.monotonic() > deadline:
            raise _never(what, timeout, value, error) from error
        time.sleep(interval)


def _never(what: str, timeout: float, value: object, error: AssertionError | None) -> (
        AssertionError):
    last = str(error) if error is not None else repr(value)
    return AssertionError(f"{what} did not hold within {timeout} s; last: {last}")

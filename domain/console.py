"""The console-output request a host's worker answers (core NATS request/reply).

The API asks ``<prefix>.hosts.<host>.console`` with a ``ConsoleRequest`` and
gets a ``ConsoleReply``: what the guest wrote to its serial console (on the
libvirt test driver, which has no console, the lines the worker logged for
that guest's lifecycle).
"""

from __future__ import annotations

from typing import Final

import msgspec

CONSOLE: Final = "console"  # the ``what`` of ask_host / the subject's last token


class ConsoleRequest(msgspec.Struct, frozen=True, kw_only=True):
    instance_id: str
    length: int | None = None  # the last ``length`` lines; None: all


class ConsoleReply(msgspec.Struct, frozen=True, kw_only=True):
    found: bool  # False: the host has no such guest
    output: str = ""


def tail(text: str, length: int | None) -> str:
    """The last ``length`` lines of ``text`` (all of it for None or -1)."""
    if length is None or length < 0:
        return text
    if length == 0:
        return ""
    lines = text.splitlines(keepends=True)
    return "".join(lines[-length:])

"""Installs are reproducible: every dependency nimbus names is pinned exactly.

scripts/install.sh installs with ``-c constraints.txt``; a dependency missing
from that file would float to whatever the index serves that day, which is
how a fresh machine once failed a test that passed on the machine before it.
"""

from __future__ import annotations

import re
from importlib.metadata import distribution
from pathlib import Path

CONSTRAINTS = Path(__file__).resolve().parents[2] / "constraints.txt"


def _name(requirement: str) -> str:
    return re.split(r"[\s\[<>=!~;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _pins() -> dict[str, str]:
    pins = {}
    for line in CONSTRAINTS.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            name, _, version = line.partition("==")
            pins[_name(name)] = version.strip()
    return pins


def test_every_dependency_of_nimbus_and_its_tests_is_pinned_to_one_version() -> None:
    pins = _pins()
    wanted = {_name(r) for r in distribution("nimbus").requires or []}
    assert wanted, "nimbus's metadata names no dependency"
    assert sorted(wanted - pins.keys()) == []
    assert all(re.fullmatch(r"[0-9][\w.+!-]*", v) for v in pins.values())


def test_the_installed_versions_are_the_pinned_ones() -> None:
    pins = _pins()
    for name in ("msgspec", "starlette", "eventsourcing", "psycopg", "nats-py"):
        assert distribution(name).version == pins[name], name

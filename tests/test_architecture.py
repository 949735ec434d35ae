"""Imports point one way, and each SDK lives behind one adapter (DESIGN.md §2)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
OURS = {"domain", "commands", "projections", "workers", "api", "messaging", "runtime",
        "migrations", "tests", "bench"}

# package -> the packages of ours it may import
MAY_IMPORT = {
    "domain": set(),
    "messaging": {"domain"},
    "workers": {"domain", "messaging"},
    "commands": {"domain", "messaging"},
    "projections": {"domain", "messaging", "migrations"},
    "migrations": set(),
    "api": {"domain", "commands", "projections", "migrations"},
}

# SDK -> the only modules that may import it
ADAPTERS = {
    "libvirt": {"workers/hypervisor/libvirt_adapter.py"},
    "nats": {"messaging/nats.py"},
    "pyroute2": set(),
    "rtslib_fb": {"workers/storage/lio_exporter.py"},
    "eventsourcing": {"commands/application.py", "commands/event_store.py",
                      "commands/mapper.py"},
}


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_imports_only_the_packages_beneath_it(package: str) -> None:
    for path in sources(package):
        wrong = (imports_of(path) & OURS) - MAY_IMPORT[package] - {package}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_the_domain_uses_nothing_but_the_standard_library_and_msgspec() -> None:
    for path in sources("domain"):
        foreign = {n for n in imports_of(path) - OURS
                   if n not in sys.stdlib_module_names and n != "msgspec"}
        assert not foreign, f"{path.relative_to(ROOT)} imports {sorted(foreign)}"


@pytest.mark.parametrize("sdk", sorted(ADAPTERS))
def test_each_sdk_is_imported_by_its_adapter_only(sdk: str) -> None:
    users = {
        str(path.relative_to(ROOT))
        for package in OURS - {"tests", "bench"}
        for path in sources(package)
        if sdk in imports_of(path)
    }
    assert users <= ADAPTERS[sdk]


def test_workers_never_touch_the_database() -> None:
    for path in sources("workers"):
        assert not imports_of(path) & {"psycopg", "psycopg_pool", "eventsourcing"}, path

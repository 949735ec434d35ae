"""Imports point one way, and each SDK lives behind one adapter (DESIGN.md §2).

Also the wire contract: every NATS subject is built in ``messaging/subjects.py``,
the wire messages live in ``messaging/wire.py``, and the domain holds neither.
"""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
OURS = {"domain", "commands", "projections", "workers", "api", "messaging", "runtime",
        "migrations", "tests", "bench"}

# package -> the packages of ours it may import. Workers take the wire
# messages and subjects from ``messaging`` and the values from ``domain``.
MAY_IMPORT = {
    "domain": set(),
    "messaging": {"domain"},
    "workers": {"domain", "messaging"},
    "commands": {"domain", "messaging"},
    "projections": {"domain", "messaging", "migrations"},
    "migrations": set(),
    "api": {"domain", "commands", "projections", "migrations"},
}

# SDK -> the only modules (or, ending in "/", packages) that may import it
ADAPTERS = {
    "libvirt": {"workers/hypervisor/libvirt_adapter.py"},
    "nats": {"messaging/nats.py"},
    "pyroute2": {"workers/network/links.py"},
    "rtslib_fb": {"workers/storage/lio_exporter.py"},
    "eventsourcing": {"commands/application.py", "commands/event_store.py",
                      "commands/mapper.py"},
    "starlette": {"api/"},
}

# packages that must not know of each other (sibling independence); the API's
# services share only what lives at api/ top level
API_SERVICES = ("api.identity", "api.compute", "api.image", "api.volume", "api.network")
INDEPENDENT = [("workers.hypervisor", "workers.storage"), ("workers.storage", "workers.network"),
               *((one, other) for i, one in enumerate(API_SERVICES)
                 for other in API_SERVICES[i + 1:])]

SUBJECTS_MODULE = "messaging/subjects.py"
# A piece of a subject or stream name: ``<prefix>.events.…``, ``….hosts.<host>.…``,
# ``<PREFIX>_OUTCOMES``. Only SUBJECTS_MODULE may spell one.
SUBJECT_FRAGMENT = re.compile(r"\.(events|outcomes|hosts)\.|_(EVENTS|OUTCOMES)$")


def imports_of(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def modules_imported_by(path: Path) -> set[str]:
    """The dotted names ``path`` imports, wherever in it (``from a import b`` gives
    ``a`` and ``a.b``)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{a.name}" for a in node.names)
    return names


def sources(package: str) -> list[Path]:
    return sorted((ROOT / package).rglob("*.py"))


def module_name(path: Path) -> str:
    return ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")


def strings_outside_docstrings(path: Path) -> list[tuple[int, str]]:
    """Every string constant in ``path`` (f-strings' literal parts too), docstrings aside."""
    tree = ast.parse(path.read_text())
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [(node.lineno, node.value) for node in ast.walk(tree)
            if isinstance(node, ast.Constant) and isinstance(node.value, str)
            and id(node) not in docstrings]


def allowed(module: str, places: set[str]) -> bool:
    return any(module == p or (p.endswith("/") and module.startswith(p)) for p in places)


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
    assert {user for user in users if not allowed(user, ADAPTERS[sdk])} == set()


def test_workers_never_touch_the_database() -> None:
    for path in sources("workers"):
        assert not imports_of(path) & {"psycopg", "psycopg_pool", "eventsourcing"}, path


def test_only_the_subjects_module_spells_a_nats_subject() -> None:
    spelled = [
        f"{path.relative_to(ROOT)}:{line} {text!r}"
        for package in sorted(OURS)
        for path in sources(package)
        if str(path.relative_to(ROOT)) not in (SUBJECTS_MODULE, "tests/unit/test_architecture.py")
        for line, text in strings_outside_docstrings(path)
        if SUBJECT_FRAGMENT.search(text)
    ]
    assert spelled == [], "build subjects with messaging.subjects.Subjects"


def test_the_subject_check_finds_a_subject_spelled_in_an_f_string(tmp_path: Path) -> None:
    spelling = tmp_path / "spelling.py"
    spelling.write_text('def inspect(prefix, host):\n    return f"{prefix}.hosts.{host}.inspect"\n')
    assert [text for _, text in strings_outside_docstrings(spelling)
            if SUBJECT_FRAGMENT.search(text)] == [".hosts."]


@pytest.mark.parametrize(("one", "other"), INDEPENDENT)
def test_sibling_packages_do_not_import_each_other(one: str, other: str) -> None:
    for this, that in ((one, other), (other, one)):
        for path in sources(this.replace(".", "/")):
            wrong = {m for m in modules_imported_by(path) if m == that or m.startswith(f"{that}.")}
            assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_the_shared_api_modules_import_no_service_package() -> None:
    """api/'s top-level modules are what every service shares, so none of them
    leans on one service; only the app that collects the services imports them."""
    for path in sorted((ROOT / "api").glob("*.py")):
        if path.name == "app.py":
            continue
        wrong = {m for m in modules_imported_by(path)
                 if any(m == s or m.startswith(f"{s}.") for s in API_SERVICES)}
        assert not wrong, f"{path.relative_to(ROOT)} imports {sorted(wrong)}"


def test_every_api_resource_module_is_served_with_its_command_and_query_routes() -> None:
    """Each module of a service package exports its command and query routes,
    and the app serves exactly those for each role (logins, health and metrics
    in both)."""
    from api import app, console, health, metrics, stream
    from api.identity import auth

    for service in API_SERVICES:
        package = __import__(service, fromlist=["RESOURCES"])
        modules = {p.stem for p in (ROOT / service.replace(".", "/")).glob("*.py")
                   if p.stem != "__init__"}
        routed = {m.__name__.rpartition(".")[2] for m in package.RESOURCES}
        shared = modules - routed  # shapes, bodies and the like: no routes of their own
        for name in shared:
            module = __import__(f"{service}.{name}", fromlist=["_"])
            assert not hasattr(module, "command_routes"), f"{service}.{name} is not served"
        for module in package.RESOURCES:
            assert isinstance(module.command_routes, list), module.__name__
            assert isinstance(module.query_routes, list), module.__name__
    both = [*auth.routes, *health.routes, *metrics.routes]
    assert app.routes_for("command") == [
        *both, *(r for m in app.RESOURCES for r in m.command_routes)]
    assert app.routes_for("query") == [
        *both, *(r for m in app.RESOURCES for r in m.query_routes), *stream.routes,
        *console.routes]


def test_nothing_but_the_composition_root_loads_libvirt() -> None:
    """The hypervisor worker and heartbeat open libvirt through its adapter when
    they run; importing them (or anything else below the composition root) does
    not load libvirt."""
    adapter = "workers/hypervisor/libvirt_adapter.py"
    names = [module_name(path) for package in ("domain", "messaging", "commands",
                                               "projections", "workers", "api")
             for path in sources(package) if str(path.relative_to(ROOT)) != adapter]
    probe = f"import sys\nfor n in {names!r}: __import__(n)\nprint('libvirt' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                          text=True, check=True)
    assert done.stdout.strip() == "False"


def test_the_api_reads_through_the_projections_and_never_touches_the_driver() -> None:
    for path in sources("api"):
        assert not imports_of(path) & {"psycopg", "psycopg_pool"}, path

"""The ``nimbus server|flavor`` subcommands: a running cloud, from a shell.

Operators want to boot, inspect, pause and delete servers without installing
the ``openstack`` client. These commands go through the public API (with
``runtime.api_client``) exactly as any user would, print aligned tables (or
``--json``), and turn every API or connection failure into one line on
stderr and exit code 1. ``runtime.cli`` adds them with ``register()``; the
image and backup commands (runtime/cli_images.py, runtime/cli_backups.py)
share ``with_client``, ``common_options`` and ``print_json``.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable
from typing import Any

from runtime import settings
from runtime.api_client import ApiError, NimbusClient, load_credentials
from runtime.tables import format_fields, format_table

Command = Callable[[NimbusClient, argparse.Namespace], int]

WAIT_TIMEOUT = 120.0
WAIT_INTERVAL = 0.5
POWER_STATES = {0: "NOSTATE", 1: "Running", 3: "Paused", 4: "Shutdown", 6: "Crashed"}
SHOW_ORDER = (
    "id", "name", "status", "OS-EXT-STS:vm_state", "OS-EXT-STS:task_state",
    "OS-EXT-STS:power_state", "OS-EXT-SRV-ATTR:host", "flavor", "image", "fault",
    "tenant_id", "user_id", "created", "updated",
)


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``server`` and ``flavor`` to the ``nimbus`` parser.

    Every leaf parser sets ``func``; the caller runs ``args.func(args)`` and
    exits with the int it returns.
    """
    common = common_options()
    listing = argparse.ArgumentParser(add_help=False)
    listing.add_argument("--json", action="store_true", help="print JSON instead of a table")

    server = subparsers.add_parser("server", help="boot, list, show, pause, unpause, delete")
    commands = server.add_subparsers(dest="server_command", metavar="COMMAND", required=True)

    boot = commands.add_parser("boot", parents=[common], help="boot a new server")
    boot.add_argument("name", help="the new server's name")
    boot.add_argument("--flavor", required=True, help="flavor id or name (m1.tiny)")
    boot.add_argument("--image", required=True, help="image id or name")
    _add_wait(boot, "until the server is ACTIVE or ERROR")
    boot.set_defaults(func=with_client(_boot))

    p = commands.add_parser("list", parents=[common, listing], help="list servers")
    p.set_defaults(func=with_client(_list_servers))
    p = commands.add_parser("show", parents=[common, listing], help="show one server")
    p.add_argument("server", help="server id or name")
    p.set_defaults(func=with_client(_show_server))
    for action, target, help_text in (
        ("pause", "PAUSED", "pause a running server"),
        ("unpause", "ACTIVE", "unpause a paused server"),
        ("delete", None, "delete a server"),
    ):
        p = commands.add_parser(action, parents=[common], help=help_text)
        p.add_argument("server", help="server id or name")
        _add_wait(p, f"until the {action} has finished")
        p.set_defaults(func=with_client(_action), action=action, target=target)

    flavor = subparsers.add_parser("flavor", help="the flavors servers can be booted with")
    commands = flavor.add_subparsers(dest="flavor_command", metavar="COMMAND", required=True)
    p = commands.add_parser("list", parents=[common, listing], help="list flavors")
    p.set_defaults(func=with_client(_list_flavors))


def common_options() -> argparse.ArgumentParser:
    """Credentials; SUPPRESS keeps a value the main parser already set."""
    common = argparse.ArgumentParser(add_help=False)
    for name, variable in (
        ("auth-url", "OS_AUTH_URL"), ("username", "OS_USERNAME"),
        ("password", "OS_PASSWORD"), ("project-name", "OS_PROJECT_NAME"),
    ):
        common.add_argument(
            f"--os-{name}", default=argparse.SUPPRESS,
            help=f"default: ${variable}, else the rc file `nimbus up` wrote",
        )
    return common


def _add_wait(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--wait", action="store_true", help=f"poll every {WAIT_INTERVAL:g} s {what} "
        f"(at most {WAIT_TIMEOUT:g} s)",
    )


def with_client(body: Command) -> Callable[[argparse.Namespace], int]:
    """Run ``body`` with a client; API and connection errors become one line."""

    def run(args: argparse.Namespace) -> int:
        explicit = {
            field: getattr(args, f"os_{field}", None)
            for field in ("auth_url", "username", "password", "project_name")
        }
        try:
            state_dir = getattr(args, "state_dir", None) or settings.load().state_dir
            with NimbusClient(load_credentials(state_dir, explicit)) as client:
                return body(client, args)
        except ApiError as exc:
            print(f"nimbus: error: {exc}", file=sys.stderr)
            return 1
        except KeyboardInterrupt:
            print("nimbus: interrupted", file=sys.stderr)
            return 130

    return run


def _boot(client: NimbusClient, args: argparse.Namespace) -> int:
    created = client.boot(args.name, args.flavor, args.image)
    if not args.wait:
        print(format_fields([("id", created["id"]), ("name", args.name)]))
        return 0
    return _wait(client, args, created["id"], "ACTIVE", before=None)


def _action(client: NimbusClient, args: argparse.Namespace) -> int:
    server_id = client.server_id(args.server)
    before = client.server(server_id) if args.wait else None
    if args.action == "delete":
        client.delete(server_id)
    else:
        getattr(client, args.action)(server_id)
    if not args.wait:
        print(f"Request to {args.action} server {server_id} has been accepted.")
        return 0
    return _wait(client, args, server_id, args.target, before)


def _wait(
    client: NimbusClient, args: argparse.Namespace, server_id: str,
    target: str | None, before: dict[str, Any] | None,
) -> int:
    """Poll until the operation ended; target None means "until it is gone".

    The operation ended when the status reached the target or ERROR, or when
    the task state cleared after having been seen (or after the server's
    ``updated`` moved): a failed pause leaves the server ACTIVE with a fault.
    """
    seen_busy = False

    def done(server: dict[str, Any] | None) -> bool:
        nonlocal seen_busy
        if server is None:  # gone; a new server may not be visible yet
            return target is None
        if server.get("status") in (target, "ERROR", "DELETED"):
            return True
        if server.get("OS-EXT-STS:task_state"):
            seen_busy = True
            return False
        moved = before is not None and server.get("updated") != before.get("updated")
        return seen_busy or moved

    server = client.wait_for(server_id, done, timeout=WAIT_TIMEOUT, interval=WAIT_INTERVAL)
    if server is None or (target is None and server.get("status") == "DELETED"):
        print(f"Server {server_id} has been deleted.")
        return 0
    if server.get("status") != target:
        fault = (server.get("fault") or {}).get("message") or "no fault reported"
        print(
            f"nimbus: error: server {server_id} is {server.get('status')} after "
            f"{args.server_command}: {fault}",
            file=sys.stderr,
        )
        return 1
    print(format_fields(_server_fields(server, _flavor_names(client))))
    return 0


def _list_servers(client: NimbusClient, args: argparse.Namespace) -> int:
    servers = client.servers()
    if args.json:
        return print_json(servers)
    flavor_names = _flavor_names(client) if servers else {}
    rows = [
        (
            s.get("id"), s.get("name"), s.get("status"), s.get("OS-EXT-STS:task_state"),
            _power_state(s.get("OS-EXT-STS:power_state")), s.get("OS-EXT-SRV-ATTR:host"),
            _flavor(s.get("flavor"), flavor_names),
        )
        for s in servers
    ]
    headers = ("ID", "Name", "Status", "Task State", "Power State", "Host", "Flavor")
    print(format_table(headers, rows))
    return 0


def _show_server(client: NimbusClient, args: argparse.Namespace) -> int:
    server = client.server(args.server)
    if args.json:
        return print_json(server)
    print(format_fields(_server_fields(server, _flavor_names(client))))
    return 0


def _list_flavors(client: NimbusClient, args: argparse.Namespace) -> int:
    flavors = client.flavors()
    if args.json:
        return print_json(flavors)
    rows = [
        (f.get("id"), f.get("name"), f.get("vcpus"), f.get("ram"), f.get("disk"),
         f.get("os-flavor-access:is_public"))
        for f in flavors
    ]
    print(format_table(("ID", "Name", "vCPUs", "RAM (MB)", "Disk (GB)", "Public"), rows))
    return 0


def _server_fields(
    server: dict[str, Any], flavor_names: dict[str, str] | None = None
) -> list[tuple[str, object]]:
    """The server's fields for ``show``: the familiar ones first, links left out."""
    keys = [k for k in SHOW_ORDER if k in server]
    keys += sorted(k for k in server if k not in SHOW_ORDER and k != "links")
    shown: list[tuple[str, object]] = []
    for key in keys:
        value = server[key]
        if key == "flavor":
            value = _flavor(value, flavor_names or {})
        elif key == "OS-EXT-STS:power_state":
            value = _power_state(value)
        elif isinstance(value, dict):
            value = value.get("message") or value.get("id") or json.dumps(value)
        elif isinstance(value, list):
            value = json.dumps(value)
        shown.append((key, value))
    return shown


def _flavor_names(client: NimbusClient) -> dict[str, str]:
    return {str(f["id"]): str(f["name"]) for f in client.flavors()}


def _flavor(flavor: object, names: dict[str, str]) -> object:
    """A server's flavor by name: microversion 2.47+ embeds it, older ones give the id."""
    if not isinstance(flavor, dict):
        return flavor
    if flavor.get("original_name"):
        return flavor["original_name"]
    flavor_id = str(flavor.get("id", ""))
    return names.get(flavor_id, flavor_id)


def _power_state(value: object) -> object:
    return POWER_STATES.get(value, value) if isinstance(value, int) else value


def print_json(value: object) -> int:
    print(json.dumps(value, indent=2, sort_keys=True))
    return 0

"""``nimbus host evacuate HOST``: drain a hypervisor host for maintenance.

The host is disabled first (placement gives it nothing new), then every
server on it moves off: a running one by live migration, a stopped one by
cold migration (confirmed once it is in VERIFY_RESIZE), each to the host
placement picks (``--to``: one named host). Paused, suspended or erring
servers, and those in a task, are listed and left. The commands go through
the write side as the API's do (admin, with request ids derived from the
host, the server and its version: a rerun asks nothing twice), so the
moves are exactly those of docs/migrations.md. With ``--wait`` it polls the
write side until every move ended and says how each did; the exit status
is 0 when the host has no server left.
"""

from __future__ import annotations

import argparse
import sys
import time
import uuid

from runtime.settings import load
from runtime.tables import format_table


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = commands.add_parser("evacuate", help="drain a host for maintenance: disable it, live"
                            " migrate its running servers and cold migrate its stopped ones")
    p.add_argument("host", help="the host's name (compute1)")
    p.add_argument("--to", help="the one host to move them to (default: placement's choice)")
    p.add_argument("--wait", action="store_true", help="wait until every move ended")
    p.add_argument("--timeout", type=float, default=600.0, help="seconds --wait waits at most")
    p.set_defaults(func=cmd_evacuate)


def cmd_evacuate(args: argparse.Namespace) -> int:
    from commands.application import NimbusApplication
    from commands.catalog import CatalogLookups
    from commands.hosts import HostCommands, SetHostEnabled
    from commands.messages import Caller
    from commands.migrations import (
        ConfirmResize,
        LiveMigrateInstance,
        MigrationCommands,
        ResizeInstance,
    )
    from commands.placement import Placement
    from domain import host as hosts_model
    from domain import instance as model
    from domain.errors import DomainError
    from domain.registry import HOST, INSTANCE
    from runtime import stack
    from runtime.cli import backing_servers

    settings = load()
    with backing_servers(settings, nats=False) as (database_url, _):
        app = NimbusApplication(database_url, bounds=stack.session_bounds(settings))
        try:
            host = app.find(HOST, hosts_model.host_id(args.host))
            if host is None or not host.state.registered:
                print(f"nimbus: error: host {args.host} is not registered", file=sys.stderr)
                return 1
            HostCommands(app).set_enabled(SetHostEnabled(
                request_id=f"evacuate-{args.host}-{uuid.uuid4().hex[:8]}", host=args.host,
                enabled=False, reason="evacuating"))
            moves = MigrationCommands(app, CatalogLookups(app), Placement(app, settings.hosts))
            operator = Caller(user_id="nimbus-operator", project_id="admin", is_admin=True)
            started: dict[str, str] = {}  # instance id -> how it moves
            rows: list[tuple[object, ...]] = []
            for instance_id in sorted(host.state.claims):
                found = app.find(INSTANCE, uuid.UUID(instance_id))
                if found is None or found.state.host != args.host:
                    continue  # a claim of a move under way elsewhere
                state = found.state
                request_id = f"evacuate-{args.host}-{instance_id}-{found.version}"
                try:
                    if state.vm_state == model.VmState.ACTIVE and state.task_state is None:
                        moves.live_migrate(LiveMigrateInstance(
                            request_id=request_id, caller=operator, instance_id=instance_id,
                            host=args.to))
                        started[instance_id] = "live-migration"
                    elif state.vm_state == model.VmState.STOPPED and state.task_state is None:
                        moves.resize(ResizeInstance(request_id=request_id, caller=operator,
                                                    instance_id=instance_id, host=args.to))
                        started[instance_id] = "migration"
                    else:
                        rows.append((instance_id, state.name, "left", model.status(
                            state.vm_state, state.task_state)))
                except DomainError as error:
                    rows.append((instance_id, state.name, "refused", str(error)))
            if args.wait:
                deadline = time.monotonic() + args.timeout
                while started and time.monotonic() < deadline:
                    for instance_id, how in list(started.items()):
                        now = app.find(INSTANCE, uuid.UUID(instance_id))
                        assert now is not None
                        state = now.state
                        if state.vm_state == model.VmState.RESIZED and state.pending is None:
                            moves.confirm(ConfirmResize(
                                request_id=f"evacuate-confirm-{instance_id}-{now.version}",
                                caller=operator, instance_id=instance_id))
                            continue
                        if state.task_state is None and state.pending is None:
                            migration = state.migration
                            rows.append((instance_id, state.name, how,
                                         f"{migration.status if migration else '?'} on "
                                         f"{state.host}"))
                            del started[instance_id]
                    time.sleep(0.5)
            rows += [(i, "", how, "asked") for i, how in started.items()]
            print(format_table(("Server", "Name", "Move", "Result"), rows))
            left = app.find(HOST, hosts_model.host_id(args.host))
            on_it = [i for i in (left.state.claims if left else {})
                     if (s := app.find(INSTANCE, uuid.UUID(i))) and s.state.host == args.host]
            if on_it:
                print(f"{len(on_it)} servers still on {args.host}", file=sys.stderr)
            return 1 if on_it and args.wait else 0
        finally:
            app.close()

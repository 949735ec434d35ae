"""The ``nimbus`` command: run the cloud, operate it, and use it from a shell.

``nimbus up`` runs everything in the foreground; ``nimbus run PART`` runs one
part as its own process; ``db upgrade``, ``replay``, ``recover`` and
``events tail`` are for operators; ``server``/``flavor``/``image``/``backup``
wrap the API for users.
Failures print one line, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Iterator
from typing import Any

import msgspec

from runtime import (
    cli_backups,
    cli_hosts,
    cli_identity,
    cli_images,
    cli_networks,
    cli_quotas,
    cli_recover,
    cli_replay,
    cli_servers,
    credentials,
    logs,
    stack,
)
from runtime.embedded import (
    EmbeddedNats,
    EmbeddedPostgres,
    EmbeddedServerError,
    nats_answers,
    postgres_answers,
)
from runtime.settings import Settings, load

log = logging.getLogger("nimbus")


@contextlib.contextmanager
def backing_servers(
    settings: Settings, *, nats: bool = True, database: bool = True
) -> Iterator[tuple[str, str]]:
    """The database and NATS URLs: configured ones, else the embedded servers
    (reused if another nimbus process on this state directory runs them).
    A server that is not wanted is neither started nor looked for ("")."""
    with contextlib.ExitStack() as servers:
        database_url = settings.database_url or ""
        if database and not database_url:
            pg = EmbeddedPostgres(settings.state_path)
            if not postgres_answers(pg.url):
                servers.enter_context(pg.start())
            database_url = pg.url
        nats_url = settings.nats_url or ""
        if nats and not nats_url:
            server = EmbeddedNats(settings.state_path)
            port_file = server.store_dir / "port"
            remembered = port_file.read_text().strip() if port_file.exists() else ""
            if remembered and nats_answers(f"nats://127.0.0.1:{remembered}"):
                nats_url = f"nats://127.0.0.1:{remembered}"
            else:
                nats_url = servers.enter_context(server.start()).url
        yield database_url, nats_url


STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _forget_stop_signals() -> None:
    """In a process forked from nimbus (pyroute2 forks one for each socket it
    opens in a namespace, and stops it with SIGTERM): the stop signals are its
    own again. Inherited, the event loop's wakeup descriptor would carry the
    child's SIGTERM to nimbus, which then stopped as if told to."""
    signal.set_wakeup_fd(-1)
    for sig in STOP_SIGNALS:
        signal.signal(sig, signal.SIG_DFL)


def _run_until_signalled(main: Any) -> None:
    """Run ``main(stop)`` until SIGINT/SIGTERM sets ``stop``."""

    async def runner() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in STOP_SIGNALS:
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    os.register_at_fork(after_in_child=_forget_stop_signals)
    asyncio.run(runner())


def cmd_up(args: argparse.Namespace) -> int:
    overrides: dict[str, Any] = {}
    if args.port:
        overrides["api_port"] = args.port
    settings = load(overrides)
    settings.state_path.mkdir(parents=True, exist_ok=True)
    with backing_servers(settings) as (database_url, nats_url):
        password = credentials.admin_password(settings)
        rc, clouds = credentials.write_client_files(settings, password)

        def ready() -> None:
            print(f"nimbus is up: API at {settings.base_url}", flush=True)
            print(f"  admin user: {settings.admin_user}  project: {settings.admin_project}"
                  f"  password: {password}")
            print(f"  credentials: source {rc}   (or OS_CLIENT_CONFIG_FILE={clouds}"
                  f" OS_CLOUD={credentials.CLOUD_NAME})")
            print(f"  hosts: {', '.join(settings.hosts)}"
                  f"   storage: {', '.join(settings.storage_hosts)}"
                  f"   state: {settings.state_dir}")
            print("  Ctrl-C stops everything.", flush=True)

        _run_until_signalled(
            lambda stop: stack.serve(settings, database_url, nats_url, stop, ready)
        )
    print("nimbus stopped.")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    settings = load()
    hosts = [args.host] if args.host else settings.hosts
    parts = frozenset(args.parts)
    with backing_servers(settings, database=bool(parts & stack.DATABASE_PARTS)) as (
            database_url, nats_url):
        _run_until_signalled(lambda stop: stack.serve(
            settings, database_url, nats_url, stop, parts=parts, hosts=hosts,
            api_role=args.role, reuse_port=args.reuse_port,
        ))
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    from migrations.runner import upgrade

    with backing_servers(load(), nats=False) as (database_url, _):
        applied = upgrade(database_url)
    print("applied: " + ", ".join(applied) if applied else "the database is up to date")
    return 0


def cmd_replay(args: argparse.Namespace) -> int:
    from migrations.runner import upgrade
    from projections.replay import ReplayFailed

    with backing_servers(load(), nats=False) as (database_url, _):
        upgrade(database_url)
        try:
            report, progress = cli_replay.rebuilt(
                database_url, swap=not args.verify, quiet=args.json,
                what="replay" if not args.verify else "replay (verify)")
        except ReplayFailed as failed:
            print(f"nimbus: error: {failed}", file=sys.stderr)
            return 1
    progress.finish()
    print(cli_replay.as_json(report, progress) if args.json else cli_replay.as_text(report))
    return 0 if report.equal else 1


def cmd_events_tail(args: argparse.Namespace) -> int:
    from messaging import nats as bus
    from messaging.subjects import Subjects
    from messaging.wire import EventMessage
    from projections.shown import shown

    settings = load()
    decoder = msgspec.json.Decoder(EventMessage)

    async def tail(stop: asyncio.Event) -> None:
        nc = await bus.connect(nats_url, name="nimbus-events-tail")
        try:
            subjects = Subjects(settings.subject_prefix)
            js = nc.jetstream()
            await bus.ensure_streams(js, subjects)
            async for _subject, data in bus.follow(js, subjects.all_events(),
                                                  from_start=args.from_start, stop=stop):
                m = decoder.decode(data)
                if args.json:
                    print(msgspec.json.encode(shown(m)).decode(), flush=True)
                    continue
                event = shown(m.event)
                print(f"{m.position:>8}  {event.pop('at')}  {m.type:<26} {m.aggregate_id}  "
                      f"{msgspec.json.encode(event).decode()}", flush=True)
        finally:
            await nc.close()

    with backing_servers(settings, database=False) as (_, nats_url):
        _run_until_signalled(tail)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nimbus", description=__doc__.splitlines()[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="log more")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    p = sub.add_parser("up", help="run the whole cloud in the foreground")
    p.add_argument("--port", type=int, help="API port (default 8774)")
    p.set_defaults(func=cmd_up)

    p = sub.add_parser("run", help="run some parts of nimbus as this process")
    p.add_argument("parts", nargs="+", choices=sorted(stack.PARTS),
                   help="storage runs a storage worker for each of NIMBUS_STORAGE_HOSTS")
    p.add_argument("--role", choices=["all", "command", "query"], default="all",
                   help="which API routes to serve")
    p.add_argument("--host", help="the hypervisor host to run (default: every configured one)")
    p.add_argument("--reuse-port", action="store_true",
                   help="share the API's port with other processes serving it (SO_REUSEPORT)")
    p.set_defaults(func=cmd_run)

    db = sub.add_parser("db", help="the database").add_subparsers(
        dest="db_command", metavar="COMMAND", required=True)
    db.add_parser("upgrade", help="apply the migrations").set_defaults(func=cmd_db_upgrade)

    p = sub.add_parser("replay", help="rebuild every view from the event log and swap it in")
    p.add_argument("--verify", action="store_true",
                   help="compare a rebuild with the live views and keep the live ones "
                        "(exit 1 if they differ)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.set_defaults(func=cmd_replay)

    events = sub.add_parser("events", help="the event stream").add_subparsers(
        dest="events_command", metavar="COMMAND", required=True)
    p = events.add_parser("tail", help="print events as they are committed")
    p.add_argument("--from-start", action="store_true", help="begin with the first event")
    p.add_argument("--json", action="store_true", help="print each EventMessage as JSON")
    p.set_defaults(func=cmd_events_tail)

    cli_servers.register(sub)
    cli_images.register(sub)
    cli_hosts.register(sub)
    cli_identity.register(sub)
    cli_quotas.register(sub)
    cli_networks.register(sub)
    cli_backups.register(sub)
    cli_recover.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load()
        logs.configure(settings.log_format, settings.log_level, verbose=args.verbose)
        result: int = args.func(args)
        return result
    except (EmbeddedServerError, stack.StackFailed) as exc:
        print(f"nimbus: error: {exc}", file=sys.stderr)
    except KeyboardInterrupt:
        return 130
    except SystemExit:
        raise
    except Exception as exc:  # an operator gets one line; -v shows the traceback
        log.debug("failed", exc_info=True)
        print(f"nimbus: error: {type(exc).__name__}: {exc}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())

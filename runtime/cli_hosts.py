"""The ``nimbus host list|describe`` operator commands (the seed's
``nova-manage service list`` and ``service describe_resource``).

They read the hosts view and the heartbeats straight from the database, as
nova-manage did, so they work even when the API is down.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from typing import Any

from psycopg_pool import AsyncConnectionPool

from runtime import cli_evacuate
from runtime.settings import load
from runtime.tables import format_table


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    host = subparsers.add_parser("host", help="the hypervisor hosts: list, describe,"
                                 " evacuate; any host: power-loss")
    commands = host.add_subparsers(dest="host_command", metavar="COMMAND", required=True)
    p = commands.add_parser("list", help="every registered host, enabled or not, up or down")
    p.set_defaults(func=cmd_list)
    p = commands.add_parser("describe", help="a host's total, used and per-project resources")
    p.add_argument("host", help="the host's name (compute1)")
    p.set_defaults(func=cmd_describe)
    p = commands.add_parser("power-loss", help="simulate a power loss of a host (tests and"
                            " demos): a hypervisor's guests off, their saved memory gone; a"
                            " storage host's iSCSI exports gone; a network host's bridges,"
                            " dnsmasq and rules gone")
    p.add_argument("host", help="the host's name (compute1, storage1, network1)")
    p.set_defaults(func=cmd_power_loss)
    cli_evacuate.register(commands)


def _with_pool(work: Any) -> Any:
    from runtime.cli import backing_servers

    settings = load()

    async def run(url: str) -> Any:
        async with AsyncConnectionPool(url, min_size=1, max_size=2) as pool:
            return await work(pool, settings.service_down_time)

    with backing_servers(settings, nats=False) as (database_url, _):
        return asyncio.run(run(database_url))


def cmd_list(args: argparse.Namespace) -> int:
    from projections.hosts_queries import list_hosts

    async def work(pool: AsyncConnectionPool[Any], down_after: float) -> str:
        rows = [
            (h.number, h.host, "nova-compute", "disabled" if h.disabled else "enabled",
             ":-)" if h.is_up(down_after) else "XXX", h.vcpus, h.memory_mb, h.local_gb,
             h.running_vms, h.disabled_reason)
            for h in await list_hosts(pool)
        ]
        return format_table(("ID", "Host", "Binary", "Status", "State", "vCPUs",
                             "Memory MB", "Disk GB", "Instances", "Disabled Reason"), rows)

    print(_with_pool(work))
    return 0


def cmd_describe(args: argparse.Namespace) -> int:
    from projections.hosts_queries import get_host, usage_by_project

    async def work(pool: AsyncConnectionPool[Any], _down_after: float) -> str | None:
        host = await get_host(pool, args.host)
        if host is None:
            return None
        now = await usage_by_project(pool, args.host, running_only=True)
        every = await usage_by_project(pool, args.host)
        name = host.host
        rows: list[tuple[object, ...]] = [
            (f"{name}(total)", "", host.vcpus, host.memory_mb, host.local_gb),
            (f"{name}(used_now)", "", sum(u.vcpus for u in now),
             sum(u.memory_mb for u in now), sum(u.disk_gb for u in now)),
            (f"{name}(used_max)", "", host.vcpus_used, host.memory_mb_used,
             host.local_gb_used),
            *((name, u.project_id, u.vcpus, u.memory_mb, u.disk_gb) for u in every),
        ]
        return format_table(("HOST", "PROJECT", "cpu", "mem(mb)", "disk(gb)"), rows)

    table = _with_pool(work)
    if table is None:
        raise SystemExit(f"nimbus: error: host {args.host} is not registered")
    print(table)
    return 0


def cmd_power_loss(args: argparse.Namespace) -> int:
    """Ask the host's worker, over NATS, to cut its power: whichever worker
    serves that host name answers (host names are unique across roles), and
    says what it lost."""
    from messaging.wire import PowerLost
    from runtime.cli import backing_servers
    from runtime.host_requests import HostRequests

    settings = load()

    async def cut(nats_url: str) -> PowerLost:
        requests = HostRequests(nats_url, settings.subject_prefix, timeout=10.0)
        try:
            return await requests.power_loss(args.host)
        finally:
            await requests.close()

    with backing_servers(settings, database=False) as (_, nats_url):
        try:
            lost = asyncio.run(cut(nats_url))
        except TimeoutError:
            print(f"nimbus: no hypervisor, storage or network worker answered for host"
                  f" {args.host}", file=sys.stderr)
            return 1
    what = {"compute": "guests were on", "storage": "exports gone",
            "network": "parts gone"}.get(lost.role, "parts gone")
    print(f"{args.host}: power lost; {len(lost.lost)} {what}"
          + "".join(f"\n  {line}" for line in lost.lost))
    return 0

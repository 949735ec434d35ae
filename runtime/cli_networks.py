"""``nimbus network create``: the seed's ``nova-manage network create``.

An operator makes the fixed networks straight on the event store (so this
works while the API is down), with the same network command the Neutron API
runs: the network and its one subnet in one transaction, owned by the
project named (the admin project by default), numbered by the fabric.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from commands.messages import Caller
from commands.networks import NetworkCommands
from domain import network as model
from domain.errors import DomainError
from runtime.cli_identity import identity_on_store
from runtime.settings import load
from runtime.stack import quota_defaults
from runtime.tables import format_table


def cmd_create(args: argparse.Namespace) -> int:
    settings = load()
    try:
        with identity_on_store(settings) as (identity, _):
            project_id = identity.project(args.project or settings.admin_project).id
            networks = NetworkCommands(identity.app, quota_defaults(settings))
            caller = Caller(user_id="nimbus-manage", project_id=project_id, is_admin=True)
            state = networks.create_fixed_network(
                caller, f"req-cli-{secrets.token_hex(8)}", name=args.label,
                cidr=args.fixed_range_v4, external=args.external, shared=args.share).state
    except DomainError as exc:
        print(f"nimbus: error: {exc.message}", file=sys.stderr)
        return 1
    carried = model.provider(settings.network_manager, state.number,
                             vlan_start=settings.vlan_start)
    subnet = state.subnets[0]
    print(format_table(
        ("ID", "Label", "CIDR", "Gateway", "Project", "Type", "Bridge", "Segment"),
        [(state.id, state.name, subnet.cidr, subnet.gateway_ip, state.project_id,
          carried.network_type, carried.physical_network or "",
          carried.segmentation_id or "")]))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    network = subparsers.add_parser("network", help="fixed networks (nova-manage network)")
    commands = network.add_subparsers(dest="network_command", metavar="COMMAND",
                                      required=True)
    p = commands.add_parser("create", help="a network with one IPv4 subnet")
    p.add_argument("label", help="the network's name (what --network NAME finds)")
    p.add_argument("--fixed-range-v4", required=True, metavar="CIDR",
                   help="the subnet's range, e.g. 10.0.0.0/24 (its first address is the"
                        " gateway)")
    p.add_argument("--external", action="store_true",
                   help="a provider (public) network: floating IPs and router gateways")
    p.add_argument("--share", action="store_true", help="every project may use it")
    p.add_argument("--project", help="the owning project's name or id (default: admin's)")
    p.set_defaults(func=cmd_create)

"""``nimbus quota show|set|reset``: the seed's ``nova-manage project quota``.

Like the identity commands next to it, these run the same quota commands the
``os-quota-sets`` API runs, straight on the event store, so they work while
the API is down. Limits are the settings' defaults with the project's
overrides; usage is what the project's instances claim now.
"""

from __future__ import annotations

import argparse
import secrets
import sys

from commands.identity import IdentityCommands
from commands.quotas import QuotaCommands, ResetQuotaLimits, SetQuotaLimits
from domain.errors import DomainError
from domain.quota import RESOURCES
from runtime.cli_identity import identity_on_store
from runtime.settings import load
from runtime.stack import quota_defaults
from runtime.tables import format_table


def _quotas(identity: IdentityCommands) -> QuotaCommands:
    return QuotaCommands(identity.app, quota_defaults(load()))


def _request_id() -> str:
    return f"req-cli-{secrets.token_hex(8)}"


def _show(quotas: QuotaCommands, project_id: str) -> None:
    quota = quotas.quota(project_id)
    used = quota.in_use()
    rows = [(name, "unlimited" if limit == -1 else limit, used.get(name),
             "override" if name in quota.overrides else "default")
            for name, limit in quota.limits(quotas.defaults).items()]
    print(format_table(["Resource", "Limit", "In use", "Source"], rows))


def run(args: argparse.Namespace) -> int:
    try:
        with identity_on_store(load()) as (identity, _):
            project_id = identity.project(args.project).id
            quotas = _quotas(identity)
            if args.quota_command == "set":
                limits = {name: value for name in RESOURCES
                          if (value := getattr(args, name)) is not None}
                if not limits:
                    raise SystemExit("nimbus: error: name at least one limit, e.g. "
                                     "--instances 20")
                quotas.set_limits(SetQuotaLimits(request_id=_request_id(),
                                                 project_id=project_id, limits=limits,
                                                 force=args.force))
            elif args.quota_command == "reset":
                quotas.reset(ResetQuotaLimits(request_id=_request_id(), project_id=project_id))
            _show(quotas, project_id)
            return 0
    except DomainError as exc:
        print(f"nimbus: error: {exc.message}", file=sys.stderr)
        return 1


def _limit(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < -1:
        raise argparse.ArgumentTypeError(f"{value} is below -1 (-1 means unlimited)")
    return value


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    quota = subparsers.add_parser("quota", help="a project's limits and usage "
                                                "(nova-manage project quota)")
    commands = quota.add_subparsers(dest="quota_command", metavar="COMMAND", required=True)
    p = commands.add_parser("show", help="limits and what the project uses")
    p.add_argument("project", help="the project's name or id")
    p.set_defaults(func=run)
    p = commands.add_parser("set", help="override some limits (-1: unlimited)")
    p.add_argument("project", help="the project's name or id")
    for name in RESOURCES:
        p.add_argument(f"--{name.replace('_', '-')}", dest=name, type=_limit, metavar="N")
    p.add_argument("--force", action="store_true",
                   help="allow a limit below what the project uses now")
    p.set_defaults(func=run)
    p = commands.add_parser("reset", help="drop the overrides: back to the defaults")
    p.add_argument("project", help="the project's name or id")
    p.set_defaults(func=run)

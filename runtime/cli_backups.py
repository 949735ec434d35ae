"""``nimbus backup create|restore|prune``: volume backups from a shell.

``create`` and ``restore`` go through the Cinder v3 API as any user would
(runtime/api_client.py): ``create VOLUME`` takes a backup of a volume (by id
or name), ``restore BACKUP`` restores one into a new volume (``--volume``
names it). The storage host does the work; ``--wait`` polls the backup's or
the new volume's status, shown as it moves (runtime/progress.py
``Waiting``), and ends in one summary line, exit 1 if it ends in error.
``--json`` prints one object instead of tables and progress.

``prune`` is the seed's backup retention, for an operator's cron.

The seed's backup script removed archives older than ``backups_retention_days``
(7). Here the retention is a command on the event store: every available
backup older than that gets a delete request, as if its owner had asked, and
the storage host removes the archive and its checksum when the stack runs.
The delete requests are counted as they go (runtime/progress.py); ``--json``
prints one object with the retention and the backups instead of the table.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import msgspec

from commands.backups import BackupCommands, DeleteBackup
from commands.messages import Caller
from domain.errors import DomainError
from runtime.api_client import ApiError, NimbusClient, is_uuid
from runtime.cli_identity import identity_on_store, views_rows
from runtime.cli_servers import common_options, print_json, with_client
from runtime.cli_waits import until_settled
from runtime.progress import Progress, Waiting
from runtime.settings import load
from runtime.tables import format_fields, format_table

OPERATOR = "nimbus-backup-prune"
BUSY = frozenset({"creating", "restoring", "deleting", "restoring-backup", "downloading"})
BACKUP_FIELDS = ("id", "name", "status", "volume_id", "size", "fail_reason", "created_at")
VOLUME_FIELDS = ("id", "name", "status", "size", "volume_type", "created_at")


def _find(client: NimbusClient, what: str, ref: str) -> str:
    """The id of the volume or backup (``what``) with id or name ``ref``."""
    if is_uuid(ref):
        return ref
    listed = client.call("volume", "GET", f"/{what}s/detail")[f"{what}s"]
    matches = [str(r["id"]) for r in listed if r.get("name") == ref]
    if not matches:
        raise ApiError(404, f"No {what} with a name or ID of '{ref}' exists.")
    if len(matches) > 1:
        raise ApiError(409, f"More than one {what} is named '{ref}'; use its ID.")
    return matches[0]


def _shown(args: argparse.Namespace, kind: str, found: dict[str, Any], fields: tuple[str, ...],
           waiting: Waiting | None, answered: dict[str, Any]) -> int:
    """Print the outcome; 1 when the wait ended in an error status."""
    failed = waiting is not None and found.get("status") != "available"
    if args.json:
        print_json({**answered, kind: found,
                    **({"wait": waiting.as_json()} if waiting else {})})
    else:
        print(format_fields([(k, found.get(k)) for k in fields if k in found]))
    if failed:
        why = found.get("fail_reason") or "no reason given"
        print(f"nimbus: error: {kind} {found['id']} is {found.get('status')}: {why}",
              file=sys.stderr)
        return 1
    return 0


def _create(client: NimbusClient, args: argparse.Namespace) -> int:
    volume_id = _find(client, "volume", args.volume)
    body = {"backup": {"volume_id": volume_id, **({"name": args.name} if args.name else {})}}
    backup_id = str(client.call("volume", "POST", "/backups", json=body)["backup"]["id"])
    if not args.wait:
        found = client.call("volume", "GET", f"/backups/{backup_id}")["backup"]
        return _shown(args, "backup", found, BACKUP_FIELDS, None, {})
    with Waiting(f"backup {backup_id} of volume {volume_id}", quiet=args.json) as waiting:
        found = until_settled(client, waiting, "volume", f"/backups/{backup_id}", "backup",
                              BUSY)
    waiting.finish()
    return _shown(args, "backup", found, BACKUP_FIELDS, waiting, {})


def _restore(client: NimbusClient, args: argparse.Namespace) -> int:
    backup_id = _find(client, "backup", args.backup)
    body = {"restore": {"name": args.volume} if args.volume else {}}
    restore = client.call("volume", "POST", f"/backups/{backup_id}/restore", json=body)["restore"]
    volume_id = str(restore["volume_id"])
    if not args.wait:
        found = client.call("volume", "GET", f"/volumes/{volume_id}")["volume"]
        return _shown(args, "volume", found, VOLUME_FIELDS, None, {"restore": restore})
    with Waiting(f"restore of backup {backup_id} into volume {volume_id}",
                 quiet=args.json) as waiting:
        found = until_settled(client, waiting, "volume", f"/volumes/{volume_id}", "volume",
                              BUSY)
    waiting.finish()
    return _shown(args, "volume", found, VOLUME_FIELDS, waiting, {"restore": restore})


def _expired(database_url: str, days: int) -> list[tuple[str, str, str]]:
    """(id, project, created) of the available backups older than ``days``."""
    rows = views_rows(database_url,
                      "SELECT id::text, project_id, created_at::text FROM {V}.backups"
                      " WHERE status = 'available'"
                      " AND created_at <= now() - make_interval(days => %s) ORDER BY created_at",
                      (days,))
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def prune(args: argparse.Namespace) -> int:
    settings = load()
    days = settings.backups_retention_days if args.days is None else args.days
    try:
        with identity_on_store(settings) as (identity, database_url):
            expired = _expired(database_url, days)
            backups = BackupCommands(identity.app)
            with Progress("deleting backups", len(expired), "backups",
                          quiet=args.json) as progress:
                for backup_id, project_id, _ in expired:
                    backups.delete(DeleteBackup(
                        request_id=f"req-prune-{backup_id}", backup_id=backup_id,
                        caller=Caller(user_id=OPERATOR, project_id=project_id, is_admin=True)))
                    progress.advance()
    except DomainError as exc:
        print(f"nimbus: error: {exc.message}", file=sys.stderr)
        return 1
    if args.json:
        listed = [{"id": i, "project_id": p, "created_at": c} for i, p, c in expired]
        print(msgspec.json.encode({"retention_days": days, "deleted": progress.done,
                                   "seconds": progress.as_json()["seconds"],
                                   "backups": listed}).decode())
        return 0
    progress.finish()
    print(f"retention {days} days: {len(expired)} backup(s) to delete")
    if expired:
        print(format_table(["ID", "Project", "Created"], expired))
    return 0


def register(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backup = subparsers.add_parser("backup", help="volume backups: take, restore, prune")
    commands = backup.add_subparsers(dest="backup_command", metavar="COMMAND", required=True)
    common = common_options()
    wait = argparse.ArgumentParser(add_help=False)
    wait.add_argument("--wait", action="store_true",
                      help="poll until the storage host has finished (exit 1 on an error)")
    wait.add_argument("--json", action="store_true", help="print JSON (no progress)")
    p = commands.add_parser("create", parents=[common, wait], help="take a volume's backup")
    p.add_argument("volume", help="volume id or name")
    p.add_argument("--name", help="the backup's name")
    p.set_defaults(func=with_client(_create))
    p = commands.add_parser("restore", parents=[common, wait],
                            help="restore a backup into a new volume")
    p.add_argument("backup", help="backup id or name")
    p.add_argument("--volume", help="the new volume's name (default: restore_backup_<id>)")
    p.set_defaults(func=with_client(_restore))
    p = commands.add_parser("prune", help="delete the backups older than the retention")
    p.add_argument("--days", type=int, help="retention in days (default: the "
                                            "backups_retention_days setting, 7)")
    p.add_argument("--json", action="store_true", help="print what was deleted as JSON")
    p.set_defaults(func=prune)

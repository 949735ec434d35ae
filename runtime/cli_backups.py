"""``nimbus backup prune``: the seed's backup retention, for an operator's cron.

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

import msgspec

from commands.backups import BackupCommands, DeleteBackup
from commands.messages import Caller
from domain.errors import DomainError
from runtime.cli_identity import identity_on_store, views_rows
from runtime.progress import Progress
from runtime.settings import load
from runtime.tables import format_table

OPERATOR = "nimbus-backup-prune"


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
    backup = subparsers.add_parser("backup", help="volume backups (retention)")
    commands = backup.add_subparsers(dest="backup_command", metavar="COMMAND", required=True)
    p = commands.add_parser("prune", help="delete the backups older than the retention")
    p.add_argument("--days", type=int, help="retention in days (default: the "
                                            "backups_retention_days setting, 7)")
    p.add_argument("--json", action="store_true", help="print what was deleted as JSON")
    p.set_defaults(func=prune)

"""What ``nimbus replay`` prints: each view's rows, checksum and verdict, then
one line for all of them; as text for an operator, or as JSON (``--json``).

A replay swaps the rebuilt views in; ``--verify`` only compares them with
the live views at the same log position (projections/replay.py). While the
rebuild runs, its position is shown as progress (runtime/progress.py):
``watched`` reads it from the rebuilt views' tracking row every second.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import msgspec

from runtime.progress import Progress

if TYPE_CHECKING:  # the command imports the read side only when it runs
    from projections.replay import ReplayReport

WATCH_SECONDS = 1.0


def log_head(database_url: str) -> int:
    """The log's last position: where a rebuild will go."""
    import psycopg

    from projections.log import head

    with psycopg.connect(database_url, autocommit=True) as conn:
        return head(conn)


@contextlib.contextmanager
def watched(database_url: str, progress: Progress) -> Iterator[None]:
    """Move ``progress`` to the rebuild's position every second while it runs."""
    import psycopg

    from projections.projector import NAME
    from projections.replay import NEXT_SCHEMA

    done = threading.Event()

    def watch() -> None:
        with psycopg.connect(database_url, autocommit=True) as conn:
            while not done.wait(WATCH_SECONDS):
                if conn.execute("SELECT to_regclass(%s)",
                                (f"{NEXT_SCHEMA}.tracking",)).fetchone() in (None, (None,)):
                    continue
                row = conn.execute(f"SELECT position FROM {NEXT_SCHEMA}.tracking"
                                   " WHERE projection = %s", (NAME,)).fetchone()
                progress.update(int(row[0]) if row else 0)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield
    finally:
        done.set()
        watcher.join()


def rebuilt(database_url: str, *, swap: bool, quiet: bool = False,
            what: str = "rebuilding the views") -> tuple[ReplayReport, Progress]:
    """``replay`` with its progress shown (``quiet``: not), and that progress,
    ended at the report's position (``finish`` says its summary). Raises
    ReplayFailed."""
    from projections.replay import replay

    progress = Progress(what, log_head(database_url), "events", quiet=quiet)
    with progress, watched(database_url, progress):
        report = replay(database_url, swap=swap)
    progress.update(report.position)
    return report, progress


def as_json(report: ReplayReport, progress: Progress | None = None) -> str:
    summary: dict[str, Any] = {
        "position": report.position, "swapped": report.swapped, "equal": report.equal,
        "checksum": report.checksum, "live_checksum": report.live_checksum,
        "tables": [{"table": t.table, "rows": t.rows, "checksum": t.new_checksum,
                    "live_checksum": t.old_checksum, "equal": t.equal}
                   for t in report.tables],
        "stuck": [{"view": f.view, "position": f.position} for f in report.cleared]}
    if progress is not None:
        summary["events"] = progress.done
        summary["seconds"] = progress.as_json()["seconds"]
    return msgspec.json.encode(summary).decode()


def as_text(report: ReplayReport) -> str:
    if report.swapped:
        lines = [f"rebuilt every view from the log up to position {report.position}"]
        differs = "DIFFERENT (the rebuilt view is now live)"
    else:
        lines = [f"rebuilt every view from the log up to position {report.position} and"
                 " compared it with the live views; nothing was swapped"]
        differs = "DIFFERENT (the live view is kept)"
    for t in report.tables:
        lines.append(f"  {t.table:<20} {t.rows:>8} rows  {t.new_checksum}  "
                     + ("equal" if t.equal else f"{differs}; live: {t.old_checksum}"))
    lines.append(f"  {'all views':<20} {'':>13}  {report.checksum}  "
                 + ("equal" if report.equal else f"DIFFERENT; live: {report.live_checksum}"))
    for fault in report.cleared:
        lines.append(f"  the {fault.view} view was stuck at position {fault.position}"
                     + (" and follows the log again" if report.swapped
                        else "; `nimbus replay` rebuilds it"))
    if report.swapped:
        lines.append("the rebuilt views equal the old ones" if report.equal
                     else "the rebuilt views differ from the old ones")
    else:
        lines.append("the live views equal a rebuild from the log" if report.equal
                     else "the live views differ from a rebuild from the log: "
                     + ", ".join(report.different))
    return "\n".join(lines)

"""What ``nimbus replay`` prints: each view's rows, checksum and verdict, then
one line for all of them; as text for an operator, or as JSON (``--json``).

A replay swaps the rebuilt views in; ``--verify`` only compares them with
the live views at the same log position (projections/replay.py).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import msgspec

if TYPE_CHECKING:  # the command imports the read side only when it runs
    from projections.replay import ReplayReport


def as_json(report: ReplayReport) -> str:
    summary: dict[str, Any] = {
        "position": report.position, "swapped": report.swapped, "equal": report.equal,
        "checksum": report.checksum, "live_checksum": report.live_checksum,
        "tables": [{"table": t.table, "rows": t.rows, "checksum": t.new_checksum,
                    "live_checksum": t.old_checksum, "equal": t.equal}
                   for t in report.tables],
        "stuck": [{"view": f.view, "position": f.position} for f in report.cleared]}
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

"""Plain aligned text tables for the ``nimbus`` CLI.

Operators read lists of servers, flavors and images in a terminal; a few
lines here give aligned columns without a third-party dependency.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

GAP = "  "


def cell(value: object) -> str:
    """How a value shows in a table: None is empty, text stays on one line."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return " ".join(str(value).split())


def format_table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """Columns padded to their widest cell, a rule under the headers.

    Numbers are right-aligned; everything else is left-aligned. Trailing
    spaces are trimmed so the output diffs cleanly.
    """
    raw = [list(row) for row in rows]
    for row in raw:
        if len(row) != len(headers):
            raise ValueError(f"a row has {len(row)} cells for {len(headers)} headers: {row!r}")
    text = [[cell(v) for v in row] for row in raw]
    numeric = [
        bool(raw) and all(_is_number(row[i]) or row[i] is None for row in raw)
        for i in range(len(headers))
    ]
    widths = [max([len(h)] + [len(row[i]) for row in text]) for i, h in enumerate(headers)]

    def line(cells: Sequence[str], align: Sequence[bool]) -> str:
        padded = zip(cells, widths, align, strict=True)
        parts = [c.rjust(w) if right else c.ljust(w) for c, w, right in padded]
        return GAP.join(parts).rstrip()

    lines = [line(headers, numeric), GAP.join("-" * w for w in widths)]
    lines += [line(row, numeric) for row in text]
    return "\n".join(lines)


def format_fields(fields: Iterable[tuple[str, object]]) -> str:
    """One ``Field  Value`` row per pair, for showing a single object."""
    return format_table(("Field", "Value"), fields)


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)

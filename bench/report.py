"""The goals table of the speed issue, filled in: each figure next to its
baseline from the same run, the ratio, the goal, and whether it is met.

A row is either measured (figures from this run) or says why it was not;
no figure is ever filled in from elsewhere. ``rows`` is what the JSON holds,
``text`` what is printed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

ROW_IDS = ("boots_vs_insert", "unloaded_visible", "loaded_visible", "replay_vs_read",
           "relay_vs_publish", "growth_latency")


def percentile(values: list[float], p: float) -> float | None:
    """Nearest-rank percentile; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(value: float | None) -> float | None:
    return None if value is None else round(value * 1000, 1)


def spread(seconds: list[float]) -> dict[str, Any]:
    """n, p50 and p99 in milliseconds."""
    return {"n": len(seconds), "p50_ms": ms(percentile(seconds, 50)),
            "p99_ms": ms(percentile(seconds, 99))}


@dataclass
class Row:
    id: str
    metric: str
    goal: str
    measured: bool = False
    value: float | None = None  # the figure (a rate, or milliseconds)
    unit: str = ""
    baseline: float | None = None
    baseline_unit: str = ""
    baseline_what: str = ""
    ratio: float | None = None
    met: bool | None = None
    figures: dict[str, Any] = field(default_factory=dict)  # the rest of what was measured
    why_not: str | None = None

    def not_measured(self, why: str) -> Row:
        self.measured, self.why_not, self.met = False, why, None
        return self


GOALS: dict[str, tuple[str, str]] = {
    "boots_vs_insert": ("boots accepted/s ÷ raw single-client INSERT+COMMIT/s "
                        "(same database, same run, 8+ concurrent clients)", "≥ 0.7"),
    "unloaded_visible": ("POST → ACTIVE visible in the query API, test driver, "
                         "unloaded (1 client), p50 / p99", "< 15 ms / < 50 ms"),
    "loaded_visible": ("the same at the saturating load above, p99", "< 500 ms"),
    "replay_vs_read": ("projection rebuild (nimbus replay) events/s ÷ raw decoded "
                       "log read events/s", "≥ 0.5"),
    "relay_vs_publish": ("relay events/s ÷ JetStream publish_async/s", "≥ 0.5"),
    "growth_latency": ("command latency at the large log ÷ at 10k events", "≤ 1.2"),
}


def empty_rows() -> dict[str, Row]:
    return {i: Row(i, *GOALS[i]).not_measured("the run stopped before it") for i in ROW_IDS}


def rate_row(row: Row, value: float, unit: str, baseline: float, what: str,
             met: Callable[[float], bool], **figures: Any) -> Row:
    """A row whose figure is ``value`` ÷ ``baseline``."""
    row.measured, row.why_not = True, None
    row.value, row.unit = round(value, 1), unit
    row.baseline, row.baseline_unit, row.baseline_what = round(baseline, 1), unit, what
    row.ratio = float(f"{value / baseline:.3g}") if baseline else None  # 3 significant digits
    row.met = met(row.ratio) if row.ratio is not None else False
    row.figures.update(figures)
    return row


def as_json(rows: dict[str, Row], context: dict[str, Any]) -> dict[str, Any]:
    return {**context, "rows": [asdict(rows[i]) for i in ROW_IDS]}


def _figure(row: Row) -> str:
    if not row.measured:
        return f"not measured: {row.why_not}"
    if row.id == "unloaded_visible":
        return (f"p50 {row.figures['p50_ms']} ms / p99 {row.figures['p99_ms']} ms "
                f"(n={row.figures['n']})")
    if row.id == "loaded_visible":
        return f"p99 {row.value} ms (p50 {row.figures['p50_ms']} ms, n={row.figures['n']})"
    return (f"{row.value:,.1f} {row.unit} vs {row.baseline:,.1f} {row.baseline_unit} "
            f"{row.baseline_what} = {row.ratio}")


def text(rows: dict[str, Row], extras: list[tuple[str, str]], context: dict[str, Any]) -> str:
    lines = [f"nimbus benchmark: {context['title']}",
             f"  database {context['database']}   nats {context['nats']}", ""]
    width = max(len(_figure(rows[i])) for i in ROW_IDS)
    for i, row_id in enumerate(ROW_IDS, 1):
        row = rows[row_id]
        verdict = "-" if row.met is None else ("met" if row.met else "NOT met")
        lines.append(f"{i}. {row.metric}")
        lines.append(f"   {_figure(row):<{width}}  goal {row.goal:<18} {verdict}")
    if extras:
        lines += ["", "other figures of the same run:"]
        name_width = max(len(name) for name, _ in extras)
        lines += [f"  {name:<{name_width}}  {value}" for name, value in extras]
    return "\n".join(lines)

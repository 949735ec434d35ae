"""``python -m bench.live_migration``: when a simulated live migration converges.

libvirt's test driver cannot migrate, so nimbus's live copies there are the
pre-copy model (workers/hypervisor/precopy.py). This runs the model for a
guest of ``--memory-mb`` at each ``--dirty`` rate (MiB/s the guest writes)
over a link of ``--bandwidth`` MiB/s, with Nova's downtime steps and
completion timeout, and prints per rate: whether the copy converged, after
how many rounds and how many model seconds, the bytes sent (how much more
than the memory), the downtime allowed when it converged; then the same
with force_complete asked after the first round. The figures are the
model's, not a measurement of this machine (nothing here is timed), so they
are the same under any load.

    .venv/bin/python -m bench.live_migration [--memory-mb 2048] [--bandwidth 125]
        [--dirty 0,10,50,100,120,200,400]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from workers.hypervisor.precopy import DEFAULT_BANDWIDTH_MIBPS, MIB, PreCopy


def run(memory_mb: int, bandwidth: int, dirty: float, *, force_after: int = 0) -> dict[str, Any]:
    """One copy's outcome in the model; ``force_after``: force_complete after that round."""
    forced = [False]
    rounds = []
    for done in PreCopy(memory_mb=memory_mb, dirty_rate_mbps=dirty,
                        bandwidth_mbps=bandwidth).rounds(forced):
        rounds.append(done)
        if force_after and len(rounds) >= force_after:
            forced[0] = True
    last = rounds[-1]
    return {"dirty_mibps": dirty, "converged": last.converged, "rounds": len(rounds),
            "model_seconds": round(last.at_s, 1),
            "sent_mib": round(last.processed_bytes / MIB),
            "overhead": round(last.processed_bytes / last.total_bytes, 2),
            "downtime_allowed_ms": round(last.downtime_ms)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.live_migration")
    parser.add_argument("--memory-mb", type=int, default=2048)
    parser.add_argument("--bandwidth", type=int, default=DEFAULT_BANDWIDTH_MIBPS,
                        help="MiB/s (nova.conf live_migration_bandwidth; the model's default)")
    parser.add_argument("--dirty", default="0,10,50,100,120,200,400",
                        help="the guest's write rates to try, MiB/s, comma separated")
    parser.add_argument("--json", action="store_true", help="print the rows as JSON")
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.dirty.split(",") if r.strip()]
    rows = [run(args.memory_mb, args.bandwidth, r) for r in rates]
    forced = [run(args.memory_mb, args.bandwidth, r, force_after=1) for r in rates]
    if args.json:
        json.dump({"free": rows, "forced_after_first_round": forced}, sys.stdout, indent=2)
        print()
        return 0
    print(f"simulated pre-copy: {args.memory_mb} MiB guest, {args.bandwidth} MiB/s link, "
          "Nova's downtime 500 ms in 10 steps, 75 s/GiB delay, 800 s/GiB timeout")
    header = f"{'dirty MiB/s':>11} {'converged':>9} {'rounds':>6} {'model s':>8} " \
             f"{'sent MiB':>9} {'x memory':>8} {'downtime ms':>11} | {'forced: rounds':>14}"
    print(header)
    for row, force in zip(rows, forced, strict=True):
        print(f"{row['dirty_mibps']:>11g} {row['converged']!s:>9} {row['rounds']:>6} "
              f"{row['model_seconds']:>8} {row['sent_mib']:>9} {row['overhead']:>8} "
              f"{row['downtime_allowed_ms']:>11} | {force['rounds']:>14}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

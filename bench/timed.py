"""``nimbus ARGS`` in this process, timed from after its imports to its end.

Why: ``nimbus replay`` is measured as the command an operator runs, but a
rebuild of a small log would otherwise be timed mostly as the interpreter
starting and importing nimbus. This runs the same entry point, ``runtime.cli``,
and prints ``bench-seconds: S`` on stderr last.

    python -m bench.timed replay

With ``NIMBUS_BENCH_PROFILE=FILE`` the command runs under cProfile and its
statistics are written to FILE (``python -m pstats FILE`` reads them): where
the time goes, measured rather than guessed.
"""

from __future__ import annotations

import cProfile
import os
import sys
import time

from runtime import cli


def main() -> int:
    profile = os.environ.get("NIMBUS_BENCH_PROFILE")
    profiler = cProfile.Profile() if profile else None
    start = time.perf_counter()
    if profiler is not None:
        profiler.enable()
    code = cli.main(sys.argv[1:])
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(str(profile))
    print(f"bench-seconds: {time.perf_counter() - start:.6f}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

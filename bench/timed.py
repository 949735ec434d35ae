"""``nimbus ARGS`` in this process, timed from after its imports to its end.

Why: ``nimbus replay`` is measured as the command an operator runs, but a
rebuild of a small log would otherwise be timed mostly as the interpreter
starting and importing nimbus. This runs the same entry point, ``runtime.cli``,
and prints ``bench-seconds: S`` on stderr last.

    python -m bench.timed replay
"""

from __future__ import annotations

import sys
import time

from runtime import cli


def main() -> int:
    start = time.perf_counter()
    code = cli.main(sys.argv[1:])
    print(f"bench-seconds: {time.perf_counter() - start:.6f}", file=sys.stderr)
    return code


if __name__ == "__main__":
    raise SystemExit(main())

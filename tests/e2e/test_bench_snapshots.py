"""``python -m bench.snapshots`` in its smallest setting, through the real
command: it prints both figures. Only the shape is checked, never a timing."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
HANG_SECONDS = 200  # a hang detector, not a timing assertion


def test_the_snapshot_bench_prints_createimage_next_to_a_direct_convert(
        server_database_url: str, nats_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env.update(NIMBUS_BENCH_DATABASE_URL=server_database_url, NIMBUS_BENCH_NATS_URL=nats_url)
    done = subprocess.run([sys.executable, "-m", "bench.snapshots", "--count", "1",
                           "--size-mb", "1"], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=HANG_SECONDS)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "createImage until active (median):" in done.stdout
    assert "qemu-img convert alone (median):" in done.stdout

"""``python -m bench`` in its smallest setting, through the real command: it
fills in every row of the speed goals table, each measured (with its figure,
baseline and verdict) or saying why not, writes the same as JSON, and leaves
its throwaway database behind. Only the shape is checked, never a timing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest

from bench.report import GOALS, ROW_IDS

REPO = Path(__file__).resolve().parents[2]
SMALLEST = ["--servers", "4", "--clients", "2", "--unloaded", "1", "--growth-events", "10500",
            "--latency-count", "2", "--volumes", "1", "--baseline-rows", "50", "--timeout", "60",
            "--network-ports", "2", "--network-servers", "1"]
HANG_SECONDS = 280  # a hang detector, not a timing assertion


def database_exists(server_database_url: str, name: str) -> bool:
    with psycopg.connect(server_database_url) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s",
                            (name,)).fetchone() is not None


def test_the_benchmark_fills_every_row_of_the_goals_table_and_writes_it_as_json(
        server_database_url: str, nats_url: str, tmp_path: Path) -> None:
    results = tmp_path / "results" / "bench.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env.update(NIMBUS_BENCH_DATABASE_URL=server_database_url, NIMBUS_BENCH_NATS_URL=nats_url)
    done = subprocess.run([sys.executable, "-m", "bench", *SMALLEST, "--json", str(results)],
                          cwd=REPO, env=env, capture_output=True, text=True,
                          timeout=HANG_SECONDS)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]

    found = json.loads(results.read_text())
    assert [row["id"] for row in found["rows"]] == list(ROW_IDS)
    for row in found["rows"]:
        assert row["measured"], f"{row['id']} not measured: {row['why_not']}"
        assert row["goal"] == GOALS[row["id"]][1]
        assert isinstance(row["value"], float | int) and isinstance(row["met"], bool)
    for row in found["rows"]:
        if row["id"] not in ("unloaded_visible", "loaded_visible"):
            assert row["baseline"] > 0, row
            # the figures are printed to 0.1 and the ratio to 3 significant digits
            assert row["ratio"] == pytest.approx(row["value"] / row["baseline"], rel=0.02,
                                                 abs=0.1 / row["baseline"]), row
    unloaded = next(r for r in found["rows"] if r["id"] == "unloaded_visible")
    assert {"p50_ms", "p99_ms", "n"} <= unloaded["figures"].keys()

    printed = done.stdout
    for number, row in enumerate(found["rows"], 1):
        assert f"{number}. " in printed and row["goal"] in printed
    assert f"figures written to {results}" in printed
    assert found["throwaway_database"].startswith("nimbus_bench_")
    assert "network host" in printed  # its figures, or why they were not measured
    assert not database_exists(server_database_url, found["throwaway_database"])

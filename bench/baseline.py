"""The raw floor a command is compared with: one client's INSERT+COMMIT rate.

Every accepted command ends in at least one committed transaction, so the rate
at which one psycopg client can commit a ~300-byte row on the same database
server is the natural unit for "how much does the rest of nimbus cost".
"""

from __future__ import annotations

import secrets
import time

import psycopg

TABLE = "bench_scratch"


def insert_commit_rate(url: str, rows: int = 2000, size: int = 300) -> float:
    """Rows per second: ``rows`` single-row INSERTs, each followed by COMMIT."""
    payloads = [secrets.token_hex(size // 2) for _ in range(rows)]  # incompressible
    with psycopg.connect(url, connect_timeout=5) as conn:
        conn.execute(f"CREATE TABLE {TABLE} (id bigserial PRIMARY KEY, payload text NOT NULL)")
        conn.commit()
        insert = f"INSERT INTO {TABLE} (payload) VALUES (%s)"
        start = time.perf_counter()
        for payload in payloads:
            conn.execute(insert, (payload,))
            conn.commit()
        elapsed = time.perf_counter() - start
        conn.execute(f"DROP TABLE {TABLE}")
        conn.commit()
    return rows / elapsed

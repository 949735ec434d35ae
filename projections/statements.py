"""A view's statements for one batch, sent in runs rather than one by one.

Views whose events map to a statement each (quotas, hosts, identity, the
catalog) add them here in log order; consecutive statements with the same
SQL form a run, and each run goes to the database as one ``executemany``
(pipelined by psycopg). The statements and their order are exactly those of
executing them one after the other, so a batch means the same, at a fraction
of the round trips and of the driver's per-call cost.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import psycopg
from psycopg.abc import Query


class Statements:
    """Statements in the order added; ``send`` executes them in runs."""

    def __init__(self) -> None:
        self._runs: list[tuple[Query, list[Sequence[Any]]]] = []

    def add(self, query: Query, params: Sequence[Any]) -> None:
        if self._runs and self._runs[-1][0] == query:
            self._runs[-1][1].append(params)
        else:
            self._runs.append((query, [params]))

    def add_many(self, query: Query, rows: Sequence[Sequence[Any]]) -> None:
        for params in rows:
            self.add(query, params)

    def send(self, conn: psycopg.Connection[Any]) -> None:
        with conn.cursor() as cur:
            for query, rows in self._runs:
                cur.executemany(query, rows)
        self._runs = []

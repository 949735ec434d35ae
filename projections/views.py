"""The read side as the API holds it: one handle on the views.

The API's query routes read only through the query functions of
``projections`` (``queries``, ``volumes_queries``, ``catalog_queries``, ...),
handing each the ``Views`` the composition root opened. They never open a
connection, use the handle themselves or catch a driver's error (a query
function turns the errors a caller can cause into domain errors), so the API
does not import the database driver; tests/unit/test_architecture.py holds it to
that. The handle is the views' connection pool: only this package uses it as
one.
"""

from __future__ import annotations

from typing import Any, TypeAlias

from psycopg_pool import AsyncConnectionPool

Views: TypeAlias = AsyncConnectionPool[Any]

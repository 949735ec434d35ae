"""The write path's outcomes, counted for /metrics (api/metrics.py).

``NimbusApplication.execute`` is the one way anything is written, so it is
the one place that counts: each request accepted or refused (by the refusal's
kind: the domain error's class, e.g. ``QuotaExceeded``), and each batch
decided again after a version conflict. ``source`` tells an API request
(with a request id) from a host's report (without). The counts are the
process's own (prometheus_client's default registry).
"""

from __future__ import annotations

from prometheus_client import Counter

COMMANDS = Counter("nimbus_commands", "Writes through the write path, by outcome"
                   " (accepted or rejected), the refusal's kind and the source",
                   ["outcome", "error", "source"])
CONFLICTS = Counter("nimbus_command_conflicts", "Batches decided again after a version"
                    " conflict (another process wrote one of their aggregates first)")


def _source(request_id: str | None) -> str:
    return "request" if request_id is not None else "report"


def accepted(request_id: str | None) -> None:
    COMMANDS.labels("accepted", "", _source(request_id)).inc()


def rejected(request_id: str | None, error: BaseException) -> None:
    COMMANDS.labels("rejected", type(error).__name__, _source(request_id)).inc()


def conflicted() -> None:
    CONFLICTS.inc()

"""How every nimbus process logs: one line per record, as text or as JSON.

``nimbus`` configures logging here once, before any command runs, so ``up``,
``run PART`` (and the API processes ``up`` starts) and the operator commands
all log alike, as the settings ``log_format`` and ``log_level`` say.
``NIMBUS_LOG_FORMAT=json`` writes one JSON object a line
(``ts``, ``level``, ``logger``, ``message``, the context fields of
domain/log_context.py: ``part``, ``request_id``, ``user_id``, ``project_id``,
``position``, any ``extra`` fields, and ``exc`` with a traceback); the default
is text in the seed's ``logging_context_format_string`` shape. A record is
always one line: text escapes its newlines, a traceback too.
``NIMBUS_LOG_LEVEL`` (debug, info, warning, error) sets the level; unset,
``-v`` means info, and warning is the default.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime
from typing import Any, TextIO

from domain.log_context import LogContext, current

TEXT_FORMAT = ("%(asctime)s %(levelname)s %(name)s "
               "[%(request_id)s %(user_id)s %(project_id)s] %(message)s")
CONTEXT_FIELDS = tuple(LogContext.__dataclass_fields__)
# what every LogRecord has; any other attribute came from ``extra``
_STANDARD = frozenset(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message", "asctime", "taskName", *CONTEXT_FIELDS}


class ContextFilter(logging.Filter):
    """Puts the context of the work under way on each record (where ``extra``
    did not name a field already)."""

    def filter(self, record: logging.LogRecord) -> bool:
        context = current()
        for name in CONTEXT_FIELDS:
            if not hasattr(record, name):
                setattr(record, name, getattr(context, name))
        return True


def _one_line(text: str) -> str:
    return text.replace("\r", "\\r").replace("\n", "\\n")


class TextFormatter(logging.Formatter):
    """The seed's context format; an unknown field is ``-``, a traceback follows
    the message on the same line."""

    def __init__(self) -> None:
        super().__init__(TEXT_FORMAT)

    def format(self, record: logging.LogRecord) -> str:
        shown = logging.makeLogRecord(record.__dict__)
        for name in CONTEXT_FIELDS:
            if getattr(shown, name, None) in (None, ""):
                setattr(shown, name, "-")
        shown.exc_info, shown.exc_text, shown.stack_info = None, None, None
        line = super().format(shown)
        if record.exc_info:
            line += " | " + self.formatException(record.exc_info)
        if record.stack_info:
            line += " | " + self.formatStack(record.stack_info)
        return _one_line(line)


class JsonFormatter(logging.Formatter):
    """One JSON object per record: the known context and ``extra`` fields
    beside the message, the traceback in ``exc``."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname, "logger": record.name, "message": record.getMessage(),
        }
        for name in CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value not in (None, ""):
                line[name] = value
        line.update((k, v) for k, v in record.__dict__.items() if k not in _STANDARD)
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, default=str)


def formatter(kind: str) -> logging.Formatter:
    """The formatter ``NIMBUS_LOG_FORMAT`` names: ``json`` or (anything else) text."""
    return JsonFormatter() if kind.strip().lower() == "json" else TextFormatter()


def level(named: str, verbose: bool) -> int:
    """The level ``named`` (debug, info, ...); unnamed, info if ``verbose`` else warning."""
    named = named.strip().upper()
    if named in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        return int(logging.getLevelName(named))
    return logging.INFO if verbose else logging.WARNING


def configure(kind: str = "text", named_level: str = "", *, verbose: bool = False,
              stream: TextIO | None = None) -> None:
    """Log every record of this process to ``stream`` (stderr) as ``kind``
    (text or json) says, at the level ``named_level`` (or ``verbose``) says."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(formatter(kind))
    handler.addFilter(ContextFilter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level(named_level, verbose))

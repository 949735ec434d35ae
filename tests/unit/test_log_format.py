"""Every log record is one line, as text in the seed's context format or as
JSON, with the context of the work under way (domain/log_context.py)."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator

import pytest

from domain import log_context
from runtime import logs


@pytest.fixture
def logged() -> Iterator[io.StringIO]:
    """The buffer the root logger writes to once configured; restored after."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield io.StringIO()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    for handler in handlers:
        root.addHandler(handler)
    root.setLevel(level)


def configured(out: io.StringIO, kind: str) -> io.StringIO:
    logs.configure(kind, verbose=True, stream=out)
    return out


def failing() -> None:
    raise ValueError("bad\nvalue")


def test_a_text_line_names_the_request_user_and_project_and_stays_one_line(
        logged: io.StringIO) -> None:
    out = configured(logged, "")
    with log_context.bound(request_id="req-1", user_id="u1", project_id="p1"):
        logging.getLogger("nimbus.test").info("two\nlines")
    lines = out.getvalue().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith(" INFO nimbus.test [req-1 u1 p1] two\\nlines")


def test_a_text_line_outside_any_request_shows_dashes_and_its_traceback_on_the_line(
        logged: io.StringIO) -> None:
    out = configured(logged, "text")
    try:
        failing()
    except ValueError:
        logging.getLogger("nimbus.test").exception("it failed")
    [line] = out.getvalue().splitlines()
    assert " ERROR nimbus.test [- - -] it failed | Traceback (most recent call last):" in line
    assert line.endswith("ValueError: bad\\nvalue")


def test_a_json_line_carries_the_context_the_extra_fields_and_the_traceback(
        logged: io.StringIO) -> None:
    out = configured(logged, "json")
    with log_context.bound(part="ingester", request_id="req-2", position=41):
        logging.getLogger("nimbus.test").info("GET %s", "/x", extra={"status": 200})
        try:
            failing()
        except ValueError:
            logging.getLogger("nimbus.test").error("it\nfailed", exc_info=True)
    lines = out.getvalue().splitlines()
    assert len(lines) == 2
    first, second = (json.loads(line) for line in lines)
    assert {k: v for k, v in first.items() if k != "ts"} == {
        "level": "INFO", "logger": "nimbus.test", "message": "GET /x", "part": "ingester",
        "request_id": "req-2", "position": 41, "status": 200}
    assert first["ts"].endswith("+00:00")
    assert second["message"] == "it\nfailed"
    assert second["exc"].startswith("Traceback") and "ValueError: bad\nvalue" in second["exc"]


def test_what_a_request_learns_is_seen_by_whoever_bound_it_and_ends_with_the_block() -> None:
    with log_context.bound(request_id="req-3") as bound:
        log_context.learn(user_id="u3")
        assert (bound.user_id, log_context.current().fields()) == (
            "u3", {"request_id": "req-3", "user_id": "u3"})
    assert log_context.current().fields() == {}


def test_the_level_is_warning_unless_verbose_or_named() -> None:
    assert (logs.level("", False), logs.level("", True)) == (logging.WARNING, logging.INFO)
    assert (logs.level("debug", False), logs.level("Error", True)) == (
        logging.DEBUG, logging.ERROR)

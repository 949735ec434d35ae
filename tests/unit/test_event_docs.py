"""The subscriber documentation keeps up with the event types it describes."""

from __future__ import annotations

import importlib.util
import json
import re
from pathlib import Path
from types import ModuleType

import msgspec
import pytest

from domain.codec import EVENT_TYPES
from messaging.wire import EventMessage, HostOutcome, StepOutcome

DOCS = Path(__file__).resolve().parents[2] / "docs"
EVENTS_MD = (DOCS / "events.md").read_text()


def _make_schema() -> ModuleType:
    spec = importlib.util.spec_from_file_location("make_schema", DOCS / "make_schema.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_committed_schema_means_what_the_code_generates() -> None:
    make_schema = _make_schema()
    committed = json.loads((DOCS / "events.schema.json").read_text())
    assert make_schema.canonical(committed) == make_schema.schema(), (
        "docs/events.schema.json is stale: run `python docs/make_schema.py`"
    )


def test_a_description_differing_only_in_layout_is_the_same_schema() -> None:
    make_schema = _make_schema()
    one = {"description": "An event.\n\n    Its fields:\n    at", "type": "object"}
    other = {"description": "An event.\n\nIts fields:\nat", "type": "object"}
    assert make_schema.canonical(one) == make_schema.canonical(other)
    assert make_schema.canonical(one) != make_schema.canonical({**other, "type": "string"})


@pytest.mark.parametrize("event_type", sorted(EVENT_TYPES))
def test_every_event_type_is_documented_with_all_its_fields(event_type: str) -> None:
    assert f"`{event_type}`" in EVENTS_MD
    for field in EVENT_TYPES[event_type].__struct_fields__:
        assert f"`{field}`" in EVENTS_MD, f"{event_type}.{field} is not in docs/events.md"


@pytest.mark.parametrize("message", [EventMessage, HostOutcome, StepOutcome])
def test_every_field_of_the_wire_messages_is_documented(message: type[msgspec.Struct]) -> None:
    documented = set(re.findall(r"^\| `(\w+)` \|", EVENTS_MD, flags=re.MULTILINE))
    assert set(message.__struct_encode_fields__) <= documented  # the names on the wire

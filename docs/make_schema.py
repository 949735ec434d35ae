"""Write docs/events.schema.json: the JSON Schema of the published EventMessage.

Subscribers in other languages validate or generate types from this file, so
it must always match ``messaging.wire.EventMessage``; tests/unit/test_event_docs.py
fails when it does not. Run ``python docs/make_schema.py`` after changing an
event.

Descriptions come from docstrings, and how msgspec renders a docstring's
indentation changes between its releases; that is not ours to fix, so every
description is written with its whitespace collapsed (``canonical``), and the
test compares meaning, not layout.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

SCHEMA_PATH = Path(__file__).with_name("events.schema.json")
PROSE = frozenset({"description", "title"})


def canonical(node: Any) -> Any:
    """The schema with the whitespace of every description collapsed."""
    if isinstance(node, dict):
        return {k: " ".join(v.split()) if k in PROSE and isinstance(v, str) else canonical(v)
                for k, v in node.items()}
    if isinstance(node, list | tuple):  # a tuple default is a JSON array
        return [canonical(v) for v in node]
    return node


def schema() -> Any:
    """The schema of EventMessage as the code generates it, canonical."""
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    import msgspec

    from messaging.wire import EventMessage

    return canonical(msgspec.json.schema(EventMessage))


def schema_text() -> str:
    """The schema as the committed file holds it (sorted keys, final newline)."""
    return json.dumps(schema(), indent=2, sort_keys=True) + "\n"


def main() -> None:
    SCHEMA_PATH.write_text(schema_text())
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()

"""Write docs/events.schema.json: the JSON Schema of the published EventMessage.

Subscribers in other languages validate or generate types from this file, so
it must always match ``domain.messages.EventMessage``; tests/test_event_docs.py
fails when it does not. Run ``python docs/make_schema.py`` after changing an
event.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SCHEMA_PATH = Path(__file__).with_name("events.schema.json")


def schema_text() -> str:
    """The schema as the committed file holds it (sorted keys, final newline)."""
    root = str(Path(__file__).resolve().parents[1])
    if root not in sys.path:
        sys.path.insert(0, root)
    import msgspec

    from domain.messages import EventMessage

    return json.dumps(msgspec.json.schema(EventMessage), indent=2, sort_keys=True) + "\n"


def main() -> None:
    SCHEMA_PATH.write_text(schema_text())
    print(f"wrote {SCHEMA_PATH}")


if __name__ == "__main__":
    main()

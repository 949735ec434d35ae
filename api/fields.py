"""The rules every text and number in a request body obeys, declared once.

Accepted input becomes events, and events become rows in the views: a value
the views cannot hold, once accepted, stops the projector for everyone.
PostgreSQL text cannot hold U+0000 and its ``integer`` columns end at
2**31-1; a name with a newline fails later on the host. So the request body
structs of every route in api/ type their fields with the types below, and
msgspec refuses a value that breaks a rule while it decodes, before anything
is written (api/bodies.py words the refusal as the route's service would).

The limits are the ones Nova, Cinder, Glance and Keystone declare in their
schemas: names and descriptions up to 255 characters, metadata keys and
values up to 255, user_data up to 65535 characters of base64. "Printable"
is Nova's ``parameter_types`` rule: no control, format, private-use or
unassigned characters and no line or paragraph separators (spaces are fine);
Nova's names also may not start or end with whitespace.
"""

from __future__ import annotations

import sys
import unicodedata
from typing import Annotated, Final

from msgspec import Meta

MAX_INT: Final = 2**31 - 1  # PostgreSQL integer (Nova's db.MAX_INT)
MAX_BIGINT: Final = 2**63 - 1  # PostgreSQL bigint: log positions


def _nova_printable(char: str) -> bool:
    """Nova's ``_is_printable``: not "other" (C*), and no separator but spaces (Zs)."""
    return char.isprintable() or unicodedata.category(char) == "Zs"


def _printable_class() -> str:
    """A regex character class of Nova's printable code points.

    Scanned in blocks (most blocks are wholly printable); planes 4-13 are
    unassigned and 15-16 private use, so neither is scanned.
    """
    good: list[list[int]] = []

    def add(lo: int, hi: int) -> None:
        if good and good[-1][1] + 1 == lo:
            good[-1][1] = hi
        else:
            good.append([lo, hi])

    for first, end in ((0, 0x40000), (0xE0000, 0xF0000)):
        for lo in range(first, end, 128):
            block = "".join(map(chr, range(lo, min(lo + 128, end))))
            if block.isprintable():
                add(lo, lo + len(block) - 1)
            else:
                for i, char in enumerate(block):
                    if _nova_printable(char):
                        add(lo + i, lo + i)
    assert good[-1][1] <= sys.maxunicode

    def escaped(code: int) -> str:
        return f"\\U{code:08x}"

    return "[" + "".join(escaped(lo) if lo == hi else f"{escaped(lo)}-{escaped(hi)}"
                         for lo, hi in good) + "]"


PRINTABLE: Final = _printable_class()
NO_NUL: Final = r"^[^\x00]*\Z"
PRINTABLE_TEXT: Final = rf"^{PRINTABLE}*\Z"
NOVA_NAME: Final = rf"^(?!\s){PRINTABLE}*(?<!\s)\Z"

# What each pattern asks for, in Nova's words (the refusal names it).
PATTERN_REASONS: Final = {
    NO_NUL: "It must not contain the NUL character (U+0000).",
    PRINTABLE_TEXT: "It must consist of printable characters (no newline, tab or other "
                    "control character).",
    NOVA_NAME: "An invalid 'name' value was provided. The name must be: printable "
               "characters. Can not start or end with whitespace.",
}

# Nova's parameter_types.name: servers, flavors, keypairs.
Name = Annotated[str, Meta(min_length=1, max_length=255, pattern=NOVA_NAME)]
# Nova's parameter_types.description (servers, flavors).
Description = Annotated[str, Meta(max_length=255, pattern=PRINTABLE_TEXT)]
# Cinder's and Glance's names (volumes, snapshots, backups, images): may be
# empty and may hold spaces anywhere, but no control characters either.
LooseName = Annotated[str, Meta(max_length=255, pattern=PRINTABLE_TEXT)]
# Keystone's user and project names.
IdentityName = Annotated[str, Meta(min_length=1, max_length=255, pattern=PRINTABLE_TEXT)]
# Free text up to a column's width: Cinder descriptions, reasons, ids and
# references to other things (flavorRef, volume_id, host, tenant, ...).
Text255 = Annotated[str, Meta(max_length=255, pattern=NO_NUL)]
MetadataKey = Annotated[str, Meta(min_length=1, max_length=255, pattern=PRINTABLE_TEXT)]
MetadataValue = Text255
Metadata = dict[MetadataKey, MetadataValue]
# Glance's extra properties and tags: strings up to 255 characters.
ImagePropertyKey = Annotated[str, Meta(min_length=1, max_length=255, pattern=PRINTABLE_TEXT)]
ImagePropertyValue = Text255
ImageTag = Annotated[str, Meta(max_length=255, pattern=PRINTABLE_TEXT)]
# Nova's user_data: base64 text of at most 65535 characters.
UserData = Annotated[str, Meta(max_length=65535, pattern=NO_NUL)]
# Longer text kept whole (a keypair's public key).
LongText = Annotated[str, Meta(max_length=65535, pattern=NO_NUL)]
# Keystone's [identity] max_password_length.
Password = Annotated[str, Meta(max_length=4096, pattern=NO_NUL)]
# A quota limit: -1 (unlimited) up to what a PostgreSQL integer holds.
QuotaLimit = Annotated[int, Meta(ge=-1, le=MAX_INT)]
# Numbers kept in integer columns (sizes, flavor ram, ...); the write side
# checks their lower bounds in its own words.
Integer = Annotated[int, Meta(ge=-MAX_INT - 1, le=MAX_INT)]
PositiveInt = Annotated[int, Meta(ge=1, le=MAX_INT)]
Digits = Annotated[str, Meta(pattern=r"^[0-9]{1,10}\Z")]
SignedDigits = Annotated[str, Meta(pattern=r"^-?[0-9]{1,10}\Z")]

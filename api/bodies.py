"""The one way a request body becomes a typed value, or a 400 naming the field.

Every route decodes its JSON body here, into a msgspec type whose fields
are declared in api/fields.py. msgspec's refusal ("Expected `str` of length
<= 255 - at `$.server.name`") is reworded as the route's service words it:
Nova and Cinder ``Invalid input for field/attribute name. Value: 'x...'.
'x...' is too long``, Glance ``Provided object does not match schema
'image': ...``, Keystone ``Invalid input for field 'name': ...``, Neutron
``Invalid input for name. Reason: ...``. A quoted
value is shortened, so a refusal never echoes a large body back.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable
from typing import Any, Literal, TypeVar

import msgspec

from api.fields import PATTERN_REASONS
from domain.errors import InvalidInput

T = TypeVar("T")
Service = Literal["nova", "cinder", "glance", "keystone", "neutron"]

_WHERE = re.compile(r"^(?P<what>.*?)(?: - at `(?P<where>[^`]*)`(?: in `(?P<inside>[^`]*)`)?)?$",
                    re.S)
_STEP = re.compile(r"\.([^.\[]+)|\[(\d+|\.\.\.)\]")
_UNKNOWN = object()
_JSON_TYPES = {"str": "string", "int": "integer", "float": "number", "bool": "boolean",
               "null": "null", "object": "object", "array": "array"}


def decode(raw: bytes, kind: type[T], *, service: Service = "nova", strict: bool = True,
           schema: str = "") -> T:
    """A JSON body as ``kind`` (``strict=False``: numbers may come as strings,
    as Nova accepts), or 400 in ``service``'s words (``schema`` names
    Glance's schema)."""
    if not raw.strip():
        raise InvalidInput("The request body is empty; a JSON object is required.")
    try:
        value = msgspec.json.decode(raw)
    except msgspec.DecodeError as exc:
        raise InvalidInput(f"Malformed request body: {exc}") from None
    return convert(value, kind, service=service, strict=strict, schema=schema)


def convert(value: Any, kind: type[T], *, service: Service = "nova", strict: bool = True,
            field: str | None = None, schema: str = "") -> T:
    """An already decoded part of a body (an action's argument, one quota
    value) as ``kind``; ``field`` names it when the refusal is about all of it."""
    try:
        return msgspec.convert(value, kind, strict=strict)
    except msgspec.ValidationError as exc:
        raise InvalidInput(refusal(str(exc), value, service, field, schema)) from None


def refusal(error: str, root: Any, service: Service, field: str | None = None,
            schema: str = "") -> str:
    """msgspec's validation error about ``root``, in ``service``'s words."""
    match = _WHERE.match(error)
    assert match is not None  # the pattern matches any text
    what, where, inside = match["what"], match["where"], match["inside"]
    named: str | None = None
    value: Any = root
    subject = "A value"
    if inside is not None:  # a dict key is wrong: msgspec does not say which
        named, _ = _walk(root, inside)
        value, subject = _UNKNOWN, "A key"
    elif where is not None:
        named, value = _walk(root, where)
    name = named or field
    reason = _reason(what, value, subject)
    if service == "glance":
        at = f" (at '{name}')" if name else ""
        return f"Provided object does not match schema '{schema or 'image'}': {reason}{at}"
    if name is None:
        return reason
    if service == "keystone":
        return f"Invalid input for field '{name}': {reason}"
    if service == "neutron":
        return f"Invalid input for {name}. Reason: {reason}."
    shown = "" if value is _UNKNOWN else f" Value: {_shown(value)}."
    return f"Invalid input for field/attribute {name}.{shown} {reason}"


def _walk(root: Any, path: str) -> tuple[str | None, Any]:
    """The field a msgspec path names (``$.server.networks[0].uuid``:
    ``networks[0].uuid``, the body's wrapper object left out, as Nova names
    fields) and the value it points at (unknown past a dict's ``[...]``)."""
    parts: list[str] = []
    value = root
    for step in _STEP.finditer(path):
        key, index = step.groups()
        if key is not None:
            parts.append(f".{key}")
            value = value.get(key, _UNKNOWN) if isinstance(value, dict) else _UNKNOWN
        elif index == "...":
            value = _UNKNOWN
            break
        else:
            parts.append(f"[{index}]")
            value = value[int(index)] if isinstance(value, list) and int(index) < len(
                value) else _UNKNOWN
    if len(parts) > 1 and parts[0].startswith(".") and parts[1].startswith("."):
        parts = parts[1:]  # the wrapper: {"server": {...}}, {"volume": {...}}
    return "".join(parts).lstrip(".") or None, value


def _shown(value: Any, most: int = 40) -> str:
    text = repr(value[:most] + "..." if isinstance(value, str) and len(value) > most
                else value)
    return text if len(text) <= most + 20 else text[:most + 20] + "..."


def _types(listed: str) -> str:
    return ", ".join(f"'{_JSON_TYPES.get(t.strip(), t.strip())}'" for t in listed.split("|"))


def _characters(count: str) -> str:
    return f"{count} character" + ("" if count == "1" else "s")


def _pattern_reason(quoted: str, subject: str) -> str:
    try:
        pattern = ast.literal_eval(quoted)
    except (ValueError, SyntaxError):
        pattern = None
    if isinstance(pattern, str) and pattern in PATTERN_REASONS:
        return PATTERN_REASONS[pattern]
    return f"{subject} does not match {quoted}"


# msgspec's wording -> jsonschema's (what Nova, Cinder, Glance and Keystone print)
_REASONS: list[tuple[re.Pattern[str], Callable[[re.Match[str], str], str]]] = [
    (re.compile(r"Expected `str` of length <= (\d+)"),
     lambda m, s: f"{s} is too long (at most {_characters(m[1])})"),
    (re.compile(r"Expected `str` of length >= (\d+)"),
     lambda m, s: f"{s} is too short (at least {_characters(m[1])})"),
    (re.compile(r"Expected `(?:array|object)` of length <= (\d+)"),
     lambda m, s: f"{s} has too many items (at most {m[1]})"),
    (re.compile(r"Expected `(?:array|object)` of length >= (\d+)"),
     lambda m, s: f"{s} has too few items (at least {m[1]})"),
    (re.compile(r"Expected `str` matching regex (.*)", re.S),
     lambda m, s: _pattern_reason(m[1], s)),
    (re.compile(r"Expected `(?:int|float)` <= (\S+)"),
     lambda m, s: f"{s} is greater than the maximum of {m[1]}"),
    (re.compile(r"Expected `(?:int|float)` >= (\S+)"),
     lambda m, s: f"{s} is less than the minimum of {m[1]}"),
    (re.compile(r"Expected `(?:int|float)` < (\S+)"),
     lambda m, s: f"{s} is greater than or equal to the maximum of {m[1]}"),
    (re.compile(r"Expected `(?:int|float)` > (\S+)"),
     lambda m, s: f"{s} is less than or equal to the minimum of {m[1]}"),
    (re.compile(r"Expected `([^`]+)`, got `(\w+)`"),
     lambda m, s: f"{s} is not of type {_types(m[1])}"),
    (re.compile(r"Object missing required field `([^`]+)`"),
     lambda m, s: f"'{m[1]}' is a required property"),
    (re.compile(r"Object contains unknown field `([^`]+)`"),
     lambda m, s: f"Additional properties are not allowed ('{m[1]}' was unexpected)"),
    (re.compile(r"Invalid enum value (.*)", re.S),
     lambda m, s: f"{s} is not one of the allowed values"),
]


def _reason(what: str, value: Any, subject: str) -> str:
    shown = subject if value is _UNKNOWN else _shown(value)
    for pattern, word in _REASONS:
        found = pattern.match(what)
        if found:
            return word(found, shown)
    return what[:200]

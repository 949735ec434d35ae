"""``GET /v2/images``'s query string read as Glance reads it, or a 400 naming
the parameter.

Filters: ``name``, ``owner``, ``status``, ``disk_format``, ``container_format``
(each one value or ``in:a,b``), ``id`` (``in:``), ``visibility`` (public,
private, shared, community, all), ``member_status``, ``size_min``,
``size_max``, ``tag`` (repeated: every one), ``protected``, ``os_hidden``;
any other parameter filters on a custom property of that name. Sorting:
``sort_key``/``sort_dir`` (repeatable, paired) or ``sort=key:dir,...``, not
both. Pages: ``limit`` and ``marker``; a full page links to the next.
"""

from __future__ import annotations

from urllib.parse import urlencode

from starlette.requests import Request

from api import query_params
from api.http import uuid_or_none
from domain.errors import InvalidInput
from domain.image import MEMBER_STATUSES, VISIBILITIES
from projections.image_queries import FILTER_COLUMNS, SORT_KEYS, ImageFilters

IMAGE_PAGE = 25  # Glance's limit_param_default
IMAGE_PAGE_MAX = 1000  # Glance's api_limit_max
STATUSES = frozenset({"queued", "saving", "active", "killed", "deleted", "uploading",
                      "importing", "pending_delete", "deactivated"})
SORT_DIRS = ("asc", "desc")
KNOWN = frozenset({"limit", "marker", "sort", "sort_key", "sort_dir", "member_status",
                   "os_hidden", "visibility", "id", "size_min", "size_max", "tag", "protected",
                   "created_at", "updated_at", *FILTER_COLUMNS})


def _values(raw: str) -> list[str]:
    """One value, or Glance's ``in:a,b,"c,d"`` list."""
    if not raw.startswith("in:"):
        return [raw]
    return [v.strip().strip('"') for v in raw[3:].split(",") if v.strip()]


def _sort(request: Request) -> list[tuple[str, str]]:
    params = request.query_params
    keys, dirs, sort = params.getlist("sort_key"), params.getlist("sort_dir"), params.get("sort")
    if sort is not None and (keys or dirs):
        raise InvalidInput("Old and new sorting syntax cannot be combined")
    pairs: list[tuple[str, str]] = []
    if sort is not None:
        for part in sort.split(","):
            key, _, direction = part.strip().partition(":")
            pairs.append((key.strip(), direction.strip() or "desc"))
    else:
        if len(dirs) > 1 and len(dirs) != len(keys):
            raise InvalidInput("Number of sort dirs does not match the number of sort keys")
        keys = keys or ["created_at"]
        pairs = [(k, dirs[n] if len(dirs) > 1 else (dirs[0] if dirs else "desc"))
                 for n, k in enumerate(keys)]
    for key, direction in pairs:
        if key not in SORT_KEYS:
            raise InvalidInput(f"Invalid sort key: {key}. It must be one of the following: "
                               f"{', '.join(SORT_KEYS)}.")
        if direction not in SORT_DIRS:
            raise InvalidInput(f"Invalid sort direction: {direction}. It must be one of the "
                               f"following: {', '.join(SORT_DIRS)}.")
    return pairs


def _size(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    return None if raw is None else query_params.whole_number(raw, f"query parameter {name}")


def filters(request: Request) -> ImageFilters:
    params = request.query_params
    for unsupported in ("created_at", "updated_at"):
        if unsupported in params:
            raise InvalidInput(f"Filtering images on {unsupported} is not supported.")
    visibility = params.get("visibility")
    if visibility is not None and visibility not in (*VISIBILITIES, "all"):
        raise InvalidInput(f"Invalid visibility value: {visibility}")
    member_status = params.get("member_status", "accepted")
    if member_status not in (*MEMBER_STATUSES, "all"):
        raise InvalidInput(f"Invalid status: {member_status}")
    equal = {c: _values(params[c]) for c in FILTER_COLUMNS if c in params}
    for status in equal.get("status", []):
        if status not in STATUSES:
            raise InvalidInput(f"Invalid status value: {status}")
    ids = None
    if "id" in params:
        ids = [u for u in (uuid_or_none(v) for v in _values(params["id"])) if u]
    protected = None
    if "protected" in params:
        raw = params["protected"].strip().lower()
        if raw not in ("true", "false"):
            raise InvalidInput(f"Invalid value '{params['protected']}' for 'protected' "
                               "filter. Valid values are 'true' or 'false'.")
        protected = raw == "true"
    marker = params.get("marker")
    marker_id = uuid_or_none(marker) if marker is not None else None
    if marker is not None and marker_id is None:
        raise InvalidInput(f"Invalid marker. Image {marker} could not be found.")
    return ImageFilters(
        visibility=visibility, member_status=member_status, equal=equal, ids=ids,
        size_min=_size(request, "size_min"), size_max=_size(request, "size_max"),
        tags=params.getlist("tag"), protected=protected,
        properties={k: v for k, v in params.items() if k not in KNOWN},
        sort=_sort(request), marker=marker_id,
        limit=query_params.limit(request, default=IMAGE_PAGE, most=IMAGE_PAGE_MAX))


def hidden_only(request: Request) -> bool:
    """``os_hidden=true``: nimbus hides no image, so such a list is empty."""
    return request.query_params.get("os_hidden", "false").strip().lower() in ("true", "1", "yes")


def next_link(request: Request, last_id: str, limit: int) -> str:
    keep = [(k, v) for k, v in request.query_params.multi_items()
            if k not in ("marker", "limit")]
    return "/v2/images?" + urlencode([("marker", last_id), ("limit", str(limit)), *keep])

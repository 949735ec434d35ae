"""``PATCH /v2/images/{id}``: Glance's JSON patch of an image's attributes.

The body is ``application/openstack-images-v2.1-json-patch``: a list of
``{"op", "path", "value"}`` operations, decided all or nothing by
domain.image_patch; Glance also takes the older
``application/openstack-images-v2.0-json-patch``, whose operations name
their path under the operation (``{"replace": "/name", "value": ...}``).
The answer is the image as the patch left it.
"""

from __future__ import annotations

from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from api import idempotency
from api.bodies import decode
from api.consistency import positioned
from api.context import claims
from api.http import commands
from api.image import shapes
from api.image.images import image_view
from domain.errors import InvalidInput
from domain.image_patch import Operation

PATCH_TYPE = "application/openstack-images-v2.1-json-patch"
DRAFT_10_TYPE = "application/openstack-images-v2.0-json-patch"
OPS = ("add", "remove", "replace")


def _draft_10(change: dict[str, Any]) -> dict[str, Any]:
    """A v2.0 operation as a v2.1 one: its one ``add``/``remove``/``replace``
    member holds the path."""
    named = [op for op in OPS if op in change]
    if len(named) != 1:
        raise InvalidInput('Operation objects must contain exactly one member named "add", '
                           '"remove", or "replace".')
    op = named[0]
    return {"op": op, "path": change[op],
            **({"value": change["value"]} if "value" in change else {})}


def operations(raw: bytes, draft_10: bool = False) -> list[Operation]:
    body = decode(raw, Any, service="glance")
    if not isinstance(body, list):
        raise InvalidInput("Request body must be a JSON array of operation objects.")
    found = []
    for change in body:
        if not isinstance(change, dict):
            raise InvalidInput("Operations must be JSON objects.")
        if draft_10:
            change = _draft_10(change)
        if "op" not in change:
            raise InvalidInput("Unable to find `op` in JSON Schema change. It must be one of "
                               "the following: add, remove, replace.")
        if "path" not in change:
            raise InvalidInput("Unable to find '`path`' in JSON Schema change")
        op, path = change["op"], change["path"]
        if not isinstance(op, str) or not isinstance(path, str):
            raise InvalidInput("An operation's `op` and `path` are strings.")
        found.append(Operation(op=op, path=path, **({"value": change["value"]}
                                                    if "value" in change else {})))
    return found


async def update_image(request: Request) -> Response:
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind not in (PATCH_TYPE, DRAFT_10_TYPE):
        return JSONResponse({"message": f"Unsupported Content-Type {kind or '(none)'}: use "
                             f"{PATCH_TYPE}", "code": 415}, status_code=415,
                            headers={"Accept-Patch": PATCH_TYPE})
    who = claims(request)
    changes = operations(await request.body(), draft_10=kind == DRAFT_10_TYPE)
    request_id = await idempotency.request_id(request, who)
    written = await run_in_threadpool(commands(request).image_changes.update,
                                      request.path_params["image_id"], changes, who.caller,
                                      request_id)
    return JSONResponse(shapes.image(image_view(written.state)),
                        headers={"x-openstack-request-id": request_id,
                                 **positioned(written.position)})


command_routes: list[BaseRoute] = [
    Route("/image/v2/images/{image_id}", update_image, methods=["PATCH"]),
]
query_routes: list[BaseRoute] = []

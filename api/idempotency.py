"""The request id of a command request, and the Idempotency-Key it came with.

Without the header a request gets a new id. With it, the id derives from who
asks (the user, never the project: two users of one project have their own
keys), the route (method and path), a digest of the raw body and the key
(``domain.idempotency``), so only the same request from the same user is a
retry, answered as the first time. A key that already stands for another
request is refused here with 409 before anything is decided, and the key's
use goes with the request to the write side, which records it in the same
transaction as the request's events (``commands.idempotency``). The id is
the one the request is logged with (api/request_log.py).
"""

from __future__ import annotations

import hashlib
import uuid

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from api.context import context
from api.tokens import Claims
from commands import idempotency as keys
from domain import log_context
from domain.idempotency import Use

HEADER = "idempotency-key"


def new_request_id() -> str:
    """A fresh OpenStack request id (``req-<uuid>``): each request gets one
    (api/request_log.py), which a command without an Idempotency-Key takes."""
    return f"req-{uuid.uuid4()}"


async def request_id(request: Request, who: Claims, *, streamed: bool = False) -> str:
    """The request's id; ``streamed``: the body is not read here (an image
    upload), so the key stands for the route alone."""
    key = request.headers.get(HEADER)
    keys.use_key(None)
    if not key:
        return log_context.current().request_id or new_request_id()
    digest = "" if streamed else hashlib.sha256(await request.body()).hexdigest()
    use = Use(key=key, user_id=who.user_id, route=f"{request.method} {request.url.path}",
              body_digest=digest)
    await run_in_threadpool(keys.check, context(request).identity.app, use)
    keys.use_key(use)
    log_context.learn(request_id=use.request_id)
    return use.request_id

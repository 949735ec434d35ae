"""The metadata proxy of a network host (Neutron's metadata proxy).

A guest asks http://169.254.169.254/; the host's rules send that to the
proxy, listening inside the host's namespace (the plan's ``metadata``
address: the first network's gateway; the socket from namespace.listen_in).
The proxy knows which instance the asking address belongs to (the ports the
worker folded from the log) and sends the request on to the metadata
service, from the worker's own namespace, with ``X-Instance-ID`` signed by
the shared secret and ``X-Forwarded-For``: the service trusts the signature,
never the guest (headers a guest sends by those names are dropped). An
address that is no instance's port gets 404. One request per connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Callable

from domain.metadata import signature

log = logging.getLogger(__name__)

# the asking address -> the instance holding it (None: no instance's)
Lookup = Callable[[str], str | None]
HEAD_LIMIT = 16384  # bytes of request line and headers
TIMEOUT = 10.0
_SET_HERE = ("x-instance-id", "x-instance-id-signature", "x-forwarded-for", "connection")


def signed_head(head: bytes, instance_id: str, asking: str, secret: str) -> bytes:
    """The request's head with the proxy's own identity headers, one request only."""
    line, *headers = head.decode("latin-1").split("\r\n")
    kept = [h for h in headers if h and h.split(":", 1)[0].strip().lower() not in _SET_HERE]
    kept += [f"X-Instance-ID: {instance_id}",
             f"X-Instance-ID-Signature: {signature(secret, instance_id)}",
             f"X-Forwarded-For: {asking}", "Connection: close"]
    return ("\r\n".join([line, *kept]) + "\r\n\r\n").encode("latin-1")


def _refusal(status: str, text: str) -> bytes:
    body = text.encode()
    return (f"HTTP/1.1 {status}\r\nContent-Type: text/plain\r\nContent-Length: {len(body)}"
            "\r\nConnection: close\r\n\r\n").encode() + body


class MetadataProxy:
    def __init__(self, lookup: Lookup, upstream: tuple[str, int], secret: str) -> None:
        self.lookup = lookup
        self.upstream = upstream
        self.secret = secret

    async def serve(self, sock: socket.socket, stop: asyncio.Event) -> None:
        server = await asyncio.start_server(self._answer, sock=sock, limit=HEAD_LIMIT)
        try:
            await stop.wait()
        finally:
            server.close()
            await server.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await asyncio.wait_for(self._proxy(reader, writer), TIMEOUT)
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError,
                asyncio.LimitOverrunError) as error:
            log.info("metadata proxy: a request ended early: %s", error)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _proxy(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")  # beyond HEAD_LIMIT: LimitOverrunError
        asking = str(writer.get_extra_info("peername")[0])
        instance = self.lookup(asking)
        if instance is None:
            writer.write(_refusal("404 Not Found", f"{asking} is no instance's address."))
            return
        up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        try:
            up_writer.write(signed_head(head, instance, asking, self.secret))
            await up_writer.drain()
            while chunk := await up_reader.read(65536):
                writer.write(chunk)
                await writer.drain()
        finally:
            up_writer.close()

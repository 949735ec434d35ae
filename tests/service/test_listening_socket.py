"""The API's and the metadata service's listening socket: answers are sent at once."""

from __future__ import annotations

import asyncio
import socket

from runtime.stack import listening_socket


async def test_a_connection_the_parts_socket_accepts_sends_without_waiting_for_acks() -> None:
    """asyncio turns Nagle's algorithm off only on connections of a socket whose
    protocol is named; without it every answer on a kept-alive connection
    waited 40 ms for the client's delayed ACK."""
    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    accepted: asyncio.Future[int] = asyncio.get_running_loop().create_future()

    async def serve(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        conn = writer.get_extra_info("socket")
        accepted.set_result(conn.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
        writer.close()

    server = await asyncio.start_server(serve, sock=sock)
    try:
        _, writer = await asyncio.open_connection("127.0.0.1", port)
        assert await asyncio.wait_for(accepted, 5) != 0
        writer.close()
    finally:
        server.close()
        await server.wait_closed()


def test_two_sockets_share_a_port_only_when_both_ask_to() -> None:
    first = listening_socket("127.0.0.1", 0, reuse_port=True)
    port = first.getsockname()[1]
    try:
        listening_socket("127.0.0.1", port, reuse_port=True).close()
        try:
            listening_socket("127.0.0.1", port).close()
        except OSError:
            pass
        else:
            raise AssertionError("a socket that did not ask to share the port got it")
    finally:
        first.close()

"""The metadata proxy signs what it forwards with its own identity headers;
a guest cannot name another instance by sending them itself."""

from __future__ import annotations

from domain.metadata import signature
from workers.network.metadata_proxy import signed_head


def test_a_guests_own_identity_headers_are_replaced_by_the_proxys_signed_ones() -> None:
    head = (b"GET /openstack/latest/meta_data.json HTTP/1.1\r\nHost: 169.254.169.254\r\n"
            b"X-Instance-ID: someone-else\r\nx-instance-id-signature: forged\r\n"
            b"Connection: keep-alive\r\n\r\n")
    sent = signed_head(head, "vm-1", "10.0.0.2", "secret").decode()
    lines = sent.split("\r\n")
    assert lines[0] == "GET /openstack/latest/meta_data.json HTTP/1.1"
    assert "someone-else" not in sent and "forged" not in sent and "keep-alive" not in sent
    assert f"X-Instance-ID-Signature: {signature('secret', 'vm-1')}" in lines
    assert {"X-Instance-ID: vm-1", "X-Forwarded-For: 10.0.0.2", "Connection: close",
            "Host: 169.254.169.254"} <= set(lines)
    assert sent.endswith("\r\n\r\n")

"""The adminPass a client sends at boot is the one Nova's answer gives back
(one is made up when none is sent); a password too long is refused."""

from __future__ import annotations

from tests.support.shared import SHARED
from tests.support.stack import RunningStack

S = "/compute/v2.1/servers"
BOOT = {"flavorRef": "1", "imageRef": "cirros-0.6.2-x86_64-disk"}


@SHARED
async def test_the_admin_password_sent_is_answered_back(module_stack: RunningStack) -> None:
    http = module_stack.http
    r = await http.post(S, json={"server": {"name": "pw-given", "adminPass": "s3cret!", **BOOT}})
    assert r.status_code == 202, r.text
    assert r.json()["server"]["adminPass"] == "s3cret!"
    made = await http.post(S, json={"server": {"name": "pw-made", **BOOT}})
    assert len(made.json()["server"]["adminPass"]) >= 12
    too_long = await http.post(S, json={"server": {"name": "pw-long", "adminPass": "x" * 5000,
                                                   **BOOT}})
    assert too_long.status_code == 400 and "adminPass" in too_long.text

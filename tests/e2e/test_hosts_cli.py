"""``nimbus host list`` and ``nimbus host describe`` against a running stack's database."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from tests.support.stack import RunningStack

NIMBUS = str(Path(sys.executable).parent / "nimbus")


async def nimbus(stack: RunningStack, *args: str) -> tuple[int, str, str]:
    env = {**os.environ, "NIMBUS_DATABASE_URL": stack.database_url,
           "NIMBUS_STATE_DIR": stack.settings.state_dir}
    proc = await asyncio.create_subprocess_exec(
        NIMBUS, *args, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_host_describe_shows_total_used_and_each_projects_usage(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    ids = []
    for n in range(2):
        r = await http.post("/compute/v2.1/servers", json={"server": {
            "name": f"vm{n}", "flavorRef": "3", "imageRef": "cirros-0.6.2-x86_64-disk"}})
        assert r.status_code == 202, r.text
        ids.append(r.json()["server"]["id"])
    hosts = {(await running_stack.wait_for_status(i, "ACTIVE"))["OS-EXT-SRV-ATTR:host"]
             for i in ids}
    assert hosts == {"compute1", "compute2"}  # spread: most free RAM first
    code, out, err = await nimbus(running_stack, "host", "describe", "compute1")
    assert code == 0, err
    lines = [line.split() for line in out.splitlines()[2:]]
    assert lines[0] == ["compute1(total)", "16", "32768", "500"]
    assert lines[1] == ["compute1(used_now)", "2", "4096", "40"]
    assert lines[2] == ["compute1(used_max)", "2", "4096", "40"]
    assert lines[3][2:] == ["2", "4096", "40"]
    code, out, _ = await nimbus(running_stack, "host", "list")
    assert code == 0 and "compute1" in out and "compute2" in out and "nova-compute" in out
    code, _, err = await nimbus(running_stack, "host", "describe", "nohost")
    assert code == 1 and err.strip() == "nimbus: error: host nohost is not registered"

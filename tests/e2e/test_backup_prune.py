"""``nimbus backup prune`` as an operator's cron runs it, against a running stack."""

from __future__ import annotations

import asyncio
import json

from tests.e2e.test_identity_cli import NIMBUS, env_for
from tests.e2e.test_volumes_api import booted, volumes_of, wait_for
from tests.support.stack import RunningStack


async def nimbus(env: dict[str, str], *args: str) -> tuple[int, str]:
    """Run the CLI without blocking the stack it talks to."""
    child = await asyncio.create_subprocess_exec(
        NIMBUS, *args, env=env, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT)
    out, _ = await child.communicate()
    assert child.returncode is not None
    return child.returncode, out.decode()


async def test_prune_deletes_only_the_backups_older_than_the_retention(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    project = (await booted(running_stack))["tenant_id"]
    base, backups = volumes_of(project), f"/volume/v3/{project}/backups"
    volume = (await http.post(base, json={"volume": {"size": 1}})).json()["volume"]["id"]
    await wait_for(http, f"{base}/{volume}", "volume", "available")
    backup = (await http.post(backups, json={"backup": {"volume_id": volume}})
              ).json()["backup"]["id"]
    await wait_for(http, f"{backups}/{backup}", "backup", "available")
    env = env_for(running_stack.database_url, running_stack.settings.state_path)

    code, out = await nimbus(env, "backup", "prune")  # the default: 7 days
    assert (code, "0 backup(s) to delete" in out) == (0, True), out
    assert "deleting backups: 0 backups in " in out  # the summary line, no terminal
    code, out = await nimbus(env, "backup", "prune", "--json")
    listed = json.loads(out)  # one object, nothing besides
    assert (code, listed["retention_days"], listed["deleted"], listed["backups"]) == (
        0, 7, 0, []), out
    assert (await http.get(f"{backups}/{backup}")).status_code == 200

    code, out = await nimbus(env, "backup", "prune", "--days", "0", "--json")
    pruned = json.loads(out)
    assert (code, pruned["deleted"], [b["id"] for b in pruned["backups"]]) == (
        0, 1, [backup]), out
    await wait_for(http, f"{backups}/{backup}", "backup", None)
    archive = running_stack.settings.state_path / "backups" / "storage1" / \
        f"backup-{backup}.chunks.gz"
    assert not archive.exists()

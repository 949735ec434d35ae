"""``nimbus run storage`` as a storage host runs it in a split deployment: the
storage worker alone in its own process, with no database, makes the volumes
the rest of the stack (here, in the test's process) asks for over the stream,
and stops cleanly, its tgtd with it, on Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
from pathlib import Path

from runtime import stack
from tests.e2e.test_hosts_api import member
from tests.e2e.test_volumes_api import volumes_of, wait_for_volume
from tests.support.nimbus_process import NIMBUS
from tests.support.processes import descendants, wait_until_gone
from tests.support.stack import stack_running

HANG_SECONDS = 60.0  # a hang detector, not a timing assertion


def storage_host_env(state: Path, nats_url: str, prefix: str) -> dict[str, str]:
    """A storage host's environment: NATS only, no database setting at all."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("NIMBUS_", "OS_"))}
    env.update(NIMBUS_STATE_DIR=str(state), NIMBUS_NATS_URL=nats_url,
               NIMBUS_SUBJECT_PREFIX=prefix, NIMBUS_STORAGE_HOSTS="storage1")
    return env


async def test_nimbus_run_storage_makes_the_volumes_the_rest_of_the_stack_asks_for(
        database_url: str, nats_url: str, subject_prefix: str, tmp_path: Path) -> None:
    storage_host = tmp_path / "storage-host"
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path / "control",
                             parts=stack.PARTS - {"storage"}) as control:
        worker = subprocess.Popen(
            [NIMBUS, "run", "storage"], env=storage_host_env(storage_host, nats_url,
                                                            subject_prefix),
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True)
        try:
            alice, base = member(control, "p-alice"), volumes_of("p-alice")
            r = await control.http.post(base, headers=alice, json={"volume": {"size": 1}})
            assert r.status_code == 202, r.text
            volume_id = r.json()["volume"]["id"]
            await wait_for_volume(control.http, f"{base}/{volume_id}", "available", alice,
                                  timeout=HANG_SECONDS)
            assert (storage_host / "volumes" / "storage1" / f"volume-{volume_id}").exists()
            tgtds = [p for p, name in descendants(worker.pid).items() if name == "tgtd"]
            assert len(tgtds) == 1

            worker.send_signal(signal.SIGINT)
            code = await asyncio.to_thread(worker.wait, HANG_SECONDS)
            output = worker.stdout.read() if worker.stdout else ""
            assert code == 0, output
            assert wait_until_gone(tgtds) == []
        finally:
            if worker.poll() is None:
                worker.kill()
                worker.wait()
            if worker.stdout:
                worker.stdout.close()

"""A process forked from nimbus (pyroute2 forks one per namespace socket and
stops it with SIGTERM) has its own stop signals: its SIGTERM never stops nimbus."""

from __future__ import annotations

import subprocess
import sys

FORKS_A_CHILD_THAT_IS_TERMINATED = """
import asyncio, os, signal, time
from runtime import cli

async def main(stop):
    child = os.fork()
    if child == 0:
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(2)
        os._exit(0)
    os.waitpid(child, 0)
    try:
        await asyncio.wait_for(stop.wait(), 1.0)
        print("stopped")
    except TimeoutError:
        print("running")

cli._run_until_signalled(main)
"""


def test_a_forked_childs_sigterm_does_not_stop_nimbus() -> None:
    done = subprocess.run([sys.executable, "-c", FORKS_A_CHILD_THAT_IS_TERMINATED],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "running"

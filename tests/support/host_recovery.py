"""Asking a host of a running stack what ``nimbus recover`` asks it, and
cutting its power as ``nimbus host power-loss`` does (the real CLI, as a
process), for the tests of hosts that restore themselves."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import msgspec

from messaging import nats as bus
from messaging.subjects import Subjects
from messaging.wire import Reconciled, ReconcileRequest
from tests.support.nimbus_process import NIMBUS, nimbus_env
from tests.support.stack import RunningStack
from workers.storage.tgt_exporter import targets


async def reconcile(stack: RunningStack, host: str, *, dry_run: bool,
                    instance_id: str | None = None) -> Reconciled:
    """The host's answer to a ``ReconcileRequest``."""
    nc = await bus.connect(stack.nats_url)
    try:
        reply = await bus.request(
            nc, Subjects(stack.settings.subject_prefix).reconcile(host),
            msgspec.json.encode(ReconcileRequest(dry_run=dry_run, instance_id=instance_id)),
            timeout=30)
    finally:
        await nc.close()
    return msgspec.json.decode(reply, type=Reconciled)


async def power_loss(stack: RunningStack, host: str) -> subprocess.CompletedProcess[str]:
    """``nimbus host power-loss HOST`` against the stack."""
    env = {**nimbus_env(stack.settings.state_path), "NIMBUS_NATS_URL": stack.nats_url,
           "NIMBUS_SUBJECT_PREFIX": stack.settings.subject_prefix}
    return await asyncio.to_thread(subprocess.run, [NIMBUS, "host", "power-loss", host],
                                   env=env, capture_output=True, text=True, timeout=60)


def exports_of(state_dir: Path, iqn: str, host: str = "storage1") -> int:
    """How many targets named ``iqn`` the stack's tgtd for ``host`` serves."""
    pid_file = state_dir / "tgtd" / f"{host}.pid"
    control_port = int(pid_file.read_text().split()[1])
    return sum(1 for target in targets(control_port) if target.iqn == iqn)

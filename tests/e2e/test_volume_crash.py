"""A storage worker that dies between "export created" and "outcome
published": on restart the attach still ends in-use, once, with one export.

The rest of the stack runs as usual; the test runs the storage worker itself,
on sparse files and a tgtd of its own, so that it can stop it at that point.
The first worker's exporter makes the real export and then never returns,
as a process killed right after ``tgtadm`` would; its message is never acked,
so JetStream hands it to the restarted worker after ``ack_wait``.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from messaging import nats as bus
from messaging.subjects import Subjects
from runtime import stack
from tests.e2e.test_volumes_api import booted, volumes_of, wait_for_volume
from tests.support.cloud import events_of
from tests.support.stack import RunningStack, stack_running
from workers.storage import worker as storage_worker
from workers.storage.file_backing import FileBacking
from workers.storage.port import Exporter, VolumeExport
from workers.storage.tgt_daemon import TgtDaemon
from workers.storage.tgt_exporter import targets

ACK_WAIT = 2.0


class DiesAfterExporting:
    """Exports for real, then hangs until released: the worker is "dead"."""

    def __init__(self, real: Exporter) -> None:
        self.real = real
        self.exported = threading.Event()
        self.release = threading.Event()

    def export(self, volume_id: str, path: str, initiator: str | None) -> VolumeExport:
        made = self.real.export(volume_id, path, initiator)
        self.exported.set()
        self.release.wait(30)
        return made

    def unexport(self, volume_id: str) -> None:
        self.real.unexport(volume_id)

    def exports(self) -> list[str]:
        return self.real.exports()


@pytest.fixture
def tgtd() -> Iterator[TgtDaemon]:
    with TgtDaemon() as daemon:
        yield daemon


@pytest.fixture
async def without_storage(database_url: str, nats_url: str, subject_prefix: str,
                          tmp_path: Path) -> AsyncIterator[RunningStack]:
    async with stack_running(database_url, nats_url, subject_prefix, tmp_path,
                             parts=stack.PARTS - {"storage"}) as running:
        yield running


async def storage_worker_on(stack_: RunningStack, backing: FileBacking,
                            exporter: Exporter, stop: asyncio.Event) -> None:
    nc = await bus.connect(stack_.nats_url)
    try:
        await storage_worker.serve(nc, Subjects(stack_.settings.subject_prefix), "storage1",
                                   backing, exporter, backing.root / "backups", stop,
                                   ack_wait=ACK_WAIT)
    finally:
        await nc.close()


async def test_an_attach_survives_a_storage_worker_dying_after_the_export(
        without_storage: RunningStack, tgtd: TgtDaemon, tmp_path: Path) -> None:
    http = without_storage.http
    backing = FileBacking(tmp_path / "volumes")
    dying = DiesAfterExporting(tgtd.exporter())
    first_stop = asyncio.Event()
    first = asyncio.ensure_future(storage_worker_on(without_storage, backing, dying,
                                                    first_stop))
    server = await booted(without_storage)
    base = volumes_of(server["tenant_id"])
    volume_id = (await http.post(base, json={"volume": {"size": 1}})).json()["volume"]["id"]
    await wait_for_volume(http, f"{base}/{volume_id}", "available", {})

    r = await http.post(f"/compute/v2.1/servers/{server['id']}/os-volume_attachments",
                        json={"volumeAttachment": {"volumeId": volume_id}})
    assert r.status_code == 200, r.text
    assert await asyncio.to_thread(dying.exported.wait, 15)
    first_stop.set()
    first.cancel()  # the worker is gone: no outcome, no ack
    await asyncio.gather(first, return_exceptions=True)
    dying.release.set()
    shown = (await http.get(f"{base}/{volume_id}")).json()["volume"]
    assert shown["status"] == "attaching"

    second_stop = asyncio.Event()
    second = asyncio.ensure_future(storage_worker_on(without_storage, backing,
                                                     tgtd.exporter(), second_stop))
    try:
        await wait_for_volume(http, f"{base}/{volume_id}", "in-use", {},
                              timeout=ACK_WAIT + 20)
    finally:
        second_stop.set()
        await asyncio.wait_for(second, 30)
    iqn = f"iqn.2010-10.org.openstack:volume-{volume_id}"
    assert [t.iqn for t in targets(tgtd.control_port)].count(iqn) == 1
    kinds = [e.event_type for e in events_of(without_storage.database_url, volume_id)]
    assert kinds.count("VolumeExported") == 1 and kinds.count("VolumeSucceeded") == 2

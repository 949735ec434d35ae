"""What the log says of volumes, folded by the hosts that restore them.

After a power loss a storage host has lost its iSCSI exports, and a guest may
have lost a disk; what should be there is in the log, not on the host. A
storage or hypervisor worker reads every volume event from the start of the
events stream (as the network worker reads its kinds) and folds them with the
domain's own ``evolve``, so it knows, without the database, which volumes are
attached where: the exports a storage host owes (``exported``) and the disks,
at their recorded mountpoints, a compute host's guests should have
(``attached``).

The fold runs beside the worker's own consumer and may lag it by a message
or two. ``Guard`` makes a reconcile and the consumer take turns on one volume
(or one guest), and makes the reconcile wait until the fold has read every
request the consumer handled for it, so it never undoes a detach it has not
read yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

import msgspec

from domain import volume as model
from domain.registry import EVENT_TYPES
from messaging.nats import JetStream, replay
from messaging.subjects import Subjects
from messaging.wire import EventMessage

log = logging.getLogger(__name__)

CATCH_UP_SECONDS = 10.0  # a reconcile waits this long for the fold, then gives up
_IN_COMPUTE = (model.VolumeExported, model.VolumeDetachRequested)  # steps on the compute host


def exported(volume: model.Volume) -> bool:
    """Whether the volume's storage host should export it now: it was exported
    for an attachment that still stands, and no storage step is in flight
    (that step's own request does the work)."""
    return (volume.status is not model.Status.DELETED and volume.iqn is not None
            and volume.compute_host is not None
            and (volume.pending is None or volume.pending.step in _IN_COMPUTE))


def attached(volume: model.Volume) -> bool:
    """Whether the server's guest should have the volume as a disk now: in use,
    with no step in flight."""
    return (volume.status is model.Status.IN_USE and volume.pending is None
            and None not in (volume.server_id, volume.device, volume.portal, volume.iqn,
                             volume.lun))


class _Position(msgspec.Struct):
    position: int
    type: str


class VolumeFold:
    """The volumes as the volume events read so far leave them."""

    def __init__(self) -> None:
        self.volumes: dict[str, model.Volume] = {}
        self.unknown: set[str] = set()  # volumes whose creation the stream does not hold
        self.position = 0
        self.caught_up = asyncio.Event()
        self._moved = asyncio.Condition()

    def apply(self, message: EventMessage) -> None:
        if not isinstance(message.event, model.VolumeEvent):
            return
        self.position = max(self.position, message.position)
        before = self.volumes.get(message.aggregate_id)
        if before is None and not isinstance(message.event, model.VolumeCreateRequested):
            # the stream lost this volume's start (it was made anew, or cut by its
            # limits): what the volume should be is unknown here, so this host
            # restores nothing of it, and still serves every other
            if message.aggregate_id not in self.unknown:
                self.unknown.add(message.aggregate_id)
                log.warning("volume %s: its events start after its creation in the stream;"
                            " it is not restored by this host", message.aggregate_id)
            return
        self.volumes[message.aggregate_id] = model.evolve(before, message.event,
                                                          message.aggregate_id)

    def exports_on(self, storage_host: str, instance_id: str | None = None) -> list[model.Volume]:
        """The volumes ``storage_host`` should export (of ``instance_id``'s only, when given)."""
        return [v for _, v in sorted(self.volumes.items())
                if v.host == storage_host and exported(v)
                and instance_id in (None, v.server_id)]

    def disks_on(self, compute_host: str, instance_id: str | None = None) -> list[model.Volume]:
        """The volumes the guests of ``compute_host`` should have as disks."""
        return [v for _, v in sorted(self.volumes.items())
                if v.compute_host == compute_host and attached(v)
                and instance_id in (None, v.server_id)]

    async def follow(self, js: JetStream, subjects: Subjects, stop: asyncio.Event) -> None:
        """Fold every volume event from the stream's start, then the new ones."""
        async for data in replay(js, subjects.kind_events(model.VolumeEvent.aggregate),
                                 stop=stop):
            await self.read(None if data is None else
                            msgspec.json.decode(data, type=EventMessage))

    async def read(self, message: EventMessage | None) -> None:
        """Fold one message (None: caught up with the stream) and wake the waiters."""
        if message is None:
            self.caught_up.set()
        else:
            self.apply(message)
        async with self._moved:
            self._moved.notify_all()

    async def reached(self, position: int) -> None:
        """Once the fold has caught up and read the log up to ``position``
        (TimeoutError after ``CATCH_UP_SECONDS``)."""
        async def wait() -> None:
            await self.caught_up.wait()
            async with self._moved:
                await self._moved.wait_for(lambda: self.position >= position)

        await asyncio.wait_for(wait(), CATCH_UP_SECONDS)


async def until_caught_up(fold: VolumeFold, stop: asyncio.Event) -> bool:
    """Wait until the fold has caught up (True) or ``stop`` is set (False)."""
    waits = [asyncio.ensure_future(fold.caught_up.wait()), asyncio.ensure_future(stop.wait())]
    await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
    for waiting in waits:
        waiting.cancel()
    return fold.caught_up.is_set()


class Guard:
    """Turns between a worker's consumer and its reconcile, one key (a volume,
    or a guest) at a time; the reconcile goes on with the fold up to date for it."""

    def __init__(self, fold: VolumeFold) -> None:
        self._fold = fold
        self._locks: dict[str, asyncio.Lock] = {}
        self._seen: dict[str, int] = {}

    @contextlib.asynccontextmanager
    async def handling(self, key: str, data: bytes) -> AsyncIterator[None]:
        """Around the consumer's handling of one message (an ``EventMessage``)."""
        seen = msgspec.json.decode(data, type=_Position)
        handled = EVENT_TYPES.get(seen.type)
        async with self._lock(key):
            if handled is not None and handled.aggregate == model.VolumeEvent.aggregate:
                self._seen[key] = max(self._seen.get(key, 0), seen.position)
            yield

    @contextlib.asynccontextmanager
    async def reconciling(self, key: str) -> AsyncIterator[None]:
        """Around a reconcile of ``key``: the fold has read what the consumer handled."""
        async with self._lock(key):
            await self._fold.reached(self._seen.get(key, 0))
            yield

    def _lock(self, key: str) -> asyncio.Lock:
        return self._locks.setdefault(key, asyncio.Lock())

"""createImage on the write side: reserve the image, take the host's copy in, end.

How the bytes travel. nimbus runs on one machine: the compute hosts' state
and the image store (``<state_dir>/images``, commands/image_files.py) are
directories on one file system. So the host does not stream anything: its
worker runs ``qemu-img convert -O qcow2`` of the guest's disk into its own
outbox (``<host>-snapshots/<image id>.qcow2``, written aside and renamed
when complete), and its outcome names that file. The ingester, which holds
the write side, then takes the file in as the image's bytes with
``ImageFiles.adopt``: read once for the size, MD5 and SHA-512, hard-linked
into the store, and only then recorded, through the image's own decisions
(``domain.image``: saving, then active). The host never holds database
credentials and the bytes are never copied twice. A cloud whose hosts are
other machines would change only this step (the host would PUT the file to
the image API, as Nova's compute does to Glance).

Why this is crash-safe: every phase is its own commit and every step is
level-based. The request and the ``queued`` image are one commit. The host's
copy is redone from scratch if its worker dies (the request is redelivered;
a complete copy in the outbox is reported again). The host's report is acked
only after it is recorded, so an ingester that dies meanwhile gets it again
and carries on from the phase the log says: a copy not yet taken is taken,
an upload whose process died (its upload lease gone, commands/upload_lease.py)
is given up and taken again from the outbox, which stays until the image is
active. Whatever ends a snapshot short of that (a host's refusal, a copy that
is gone, the deadline, the server's delete) deletes the reserved image in the
same commit, as Nova does.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import msgspec

from commands.application import Aggregate, Change, NimbusApplication, Written, nothing
from commands.image_files import ImageFiles
from commands.instances import InstanceCommands
from commands.messages import Caller
from commands.upload_lease import UploadLease
from domain import events as ev
from domain import image as image_model
from domain import instance as model
from domain import server_image as rules
from domain.errors import DomainError, NotFound
from domain.image import ImageState
from domain.registry import IMAGE, INSTANCE
from messaging.wire import HostOutcome

log = logging.getLogger(__name__)

Decide = Callable[[Aggregate[model.Instance], datetime], list[Change]]


class CreateServerImage(msgspec.Struct, frozen=True, kw_only=True):
    request_id: str
    caller: Caller
    instance_id: str
    name: object  # checked by the domain (Nova's 400 names the field)
    metadata: dict[str, str] = {}


class ServerImageCommands:
    def __init__(self, app: NimbusApplication, instances: InstanceCommands,
                 files: ImageFiles, lease: UploadLease) -> None:
        self.app = app
        self.instances = instances
        self.files = files
        self.lease = lease

    def create_image(self, cmd: CreateServerImage) -> Written[model.Instance]:
        """The snapshot's request and its ``queued`` image, in one commit."""
        instance_id = _parse_id(cmd.instance_id)
        image_id = uuid.UUID(rules.image_id_for(cmd.request_id))
        name = rules.check_name(cmd.name)

        def decide(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            state = _visible(instance, cmd.caller)
            image = self.app.load_or_new(image_id, IMAGE)
            base = self.app.find(IMAGE, _uuid_or_nil(state.image_ref))
            asked, created = rules.request(
                state, image.current, request_id=cmd.request_id, at=at,
                user_id=cmd.caller.user_id, is_admin=cmd.caller.is_admin, name=name,
                metadata=cmd.metadata,
                base=base.state.as_image() if base is not None else None)
            return [(instance, asked), (image, created)]

        return self.app.execute(cmd.request_id, lambda: self._load(instance_id), decide,
                                touches=[instance_id, image_id])

    def record_outcome(self, outcome: HostOutcome) -> int | None:
        """A hypervisor's report: a snapshot's is taken on here, any other is
        ``InstanceCommands.record_outcome``'s. The last position written."""
        if outcome.step and outcome.step != ev.InstanceSnapshotRequested.__name__:
            # another request's: its own batched decision is all it needs (the
            # load below is a round trip of its own, outside any batch)
            return self.instances.record_outcome(outcome)
        instance_id = _parse_id(outcome.instance_id)
        state = self._load(instance_id).current
        if not rules.in_flight(state, outcome.request_id):
            if outcome.image_file and not _awaited(state, outcome.image_file):
                _unlink(outcome.image_file)  # a copy nobody will take (the snapshot ended)
            return self.instances.record_outcome(outcome)
        if not outcome.ok:
            return self.fail(str(instance_id), outcome.request_id, outcome.reason,
                             at=outcome.at)
        position = self._write(instance_id, lambda instance, at: [(instance, rules.taken(
            instance.state, outcome.request_id, image_file=outcome.image_file, at=at))])
        return self.take_in(str(instance_id), outcome.request_id) or position

    def take_in(self, instance_id: str, request_id: str) -> int | None:
        """Store the host's copy as the image's bytes and make it active, from
        the phase the log says the snapshot is in; a copy that is gone fails it."""
        key = _parse_id(instance_id)
        state = self._load(key).current
        if not rules.in_flight(state, request_id) or state is None:
            return None
        assert state.snapshot_image is not None
        source = Path(state.snapshot_file or "")
        if not state.snapshot_file or not source.is_file():
            return self.fail(instance_id, request_id,
                             f"the copy of the disk ({state.snapshot_file}) is gone")
        image_key = uuid.UUID(state.snapshot_image)

        def upload(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            image = self.app.load_or_new(image_key, IMAGE)
            if not rules.in_flight(instance.current, request_id) or image.current is None:
                return []
            found = image.current
            steps = rules.upload(instance.state, found, at=at, owner=self.lease.hold(),
                                 owner_alive=self.lease.alive(found.upload_owner))
            return [(image if isinstance(e, image_model.ImageEvent) else instance, e)
                    for e in steps]

        def activate(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            image = self.app.load_or_new(image_key, IMAGE)
            if not rules.in_flight(instance.current, request_id) or image.current is None:
                return []
            activated, done = rules.finish(
                instance.state, image.current, at=at, size=stored.size,
                checksum=stored.checksum, os_hash_algo=stored.os_hash_algo,
                os_hash_value=stored.os_hash_value)
            return [(image, activated), (instance, done)]

        try:
            self._write(key, upload, image_key)
            stored = self.files.adopt(state.snapshot_image, source)
            position = self._write(key, activate, image_key)
        except (OSError, DomainError) as error:
            # the copy went or is too big; the image was deleted or changed meanwhile
            self.files.remove(state.snapshot_image)
            return self.fail(instance_id, request_id, f"the copy of the disk cannot be "
                             f"stored as image {state.snapshot_image}: {error}")
        if position is None:  # ended meanwhile (its deadline, the server's delete)
            found = self.app.find(IMAGE, image_key)
            if found is None or found.state.status == image_model.ImageStatus.DELETED:
                self.files.remove(state.snapshot_image)
        _unlink(str(source))
        return position

    def fail(self, instance_id: str, request_id: str, reason: str, *,
             at: datetime | None = None) -> int | None:
        """End the snapshot failed (the action records ``reason``) and delete its image."""
        key = _parse_id(instance_id)
        image_id = None

        def decide(instance: Aggregate[model.Instance], now: datetime) -> list[Change]:
            nonlocal image_id
            if instance.current is None:
                return []
            image_id = instance.state.snapshot_image
            failed = rules.fail(instance.state, request_id, at=at or now, reason=reason)
            return [(instance, failed), *discard_image(self.app, instance.state, request_id,
                                                       at or now)] if failed else []

        state = self._load(key).current
        position = self._write(key, decide, *_image_key(state))
        if state is not None and state.snapshot_file:
            _unlink(state.snapshot_file)
        if image_id is not None and position is not None:
            self.files.remove(image_id)
        log.warning("snapshot of instance %s failed: %s", instance_id, reason)
        return position

    def _write(self, key: uuid.UUID, decide: Decide, *touches: uuid.UUID) -> int | None:
        return self.app.execute(None, lambda: self._load(key), decide,
                                answer=nothing, touches=[key, *touches]).position

    def _load(self, instance_id: uuid.UUID) -> Aggregate[model.Instance]:
        return self.app.load_or_new(instance_id, INSTANCE)


def discard_image(app: NimbusApplication, state: model.Instance, request_id: str,
                  at: datetime) -> list[Change]:
    """The deletion of the image of the snapshot in flight on ``state`` (none: nothing)."""
    if state.snapshot_image is None or not rules.in_flight(state):
        return []
    image: Aggregate[ImageState] = app.load_or_new(uuid.UUID(state.snapshot_image), IMAGE)
    return [(image, rules.discard(image.current, request_id=request_id, at=at))]


def _visible(instance: Aggregate[model.Instance], caller: Caller) -> model.Instance:
    """The caller's instance (an admin's: any); else Nova's 404."""
    state = instance.current
    if (state is None or state.vm_state == model.VmState.DELETED
            or (state.project_id != caller.project_id and not caller.is_admin)):
        raise NotFound(f"Instance {instance.id} could not be found.")
    return state


def _image_key(state: model.Instance | None) -> list[uuid.UUID]:
    if state is None or state.snapshot_image is None:
        return []
    return [uuid.UUID(state.snapshot_image)]


def _awaited(state: model.Instance | None, image_file: str) -> bool:
    return state is not None and state.snapshot_file == image_file


def _unlink(path: str) -> None:
    with contextlib.suppress(OSError):
        Path(path).unlink(missing_ok=True)


def _uuid_or_nil(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        return uuid.UUID(int=0)


def _parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"Instance {value} could not be found.") from None

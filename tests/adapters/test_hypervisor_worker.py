"""The hypervisor worker on real NATS and libvirt's test driver."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import msgspec
import pytest

from domain import events as ev
from messaging.nats import (
    Connection,
    Subscription,
    connect,
    delete_streams,
    ensure_streams,
    publish,
    request,
)
from messaging.subjects import Subjects
from messaging.wire import (
    EventMessage,
    GuestsObserved,
    HostOutcome,
    ObservedGuest,
    Reconciled,
    ReconcileRequest,
)
from tests.support.clock import SetClock
from tests.support.polling import eventually
from workers.hypervisor import worker
from workers.hypervisor.fake import FakeHost
from workers.hypervisor.libvirt_adapter import LibvirtHost, empty_host_uri
from workers.hypervisor.port import Guest, GuestSpec, GuestState, HypervisorHost

HOST = "compute1"


class RecordingHost(LibvirtHost):
    """The real adapter, remembering which changes it was asked to make."""

    def __init__(self, uri: str) -> None:
        super().__init__(uri)
        self.changes: list[str] = []

    def define(self, spec: GuestSpec) -> None:
        self.changes.append("define")
        super().define(spec)

    def start(self, instance_id: str) -> None:
        self.changes.append("start")
        super().start(instance_id)


class UnreachableHost(FakeHost):
    """The strict fake, unavailable until told otherwise, counting the tries."""

    def __init__(self) -> None:
        super().__init__()
        self.unavailable = True
        self.tries = 0

    def state(self, instance_id: str) -> GuestState:
        self.tries += 1
        return super().state(instance_id)


class Cloud:
    """The control plane's side of the wire: publishes requests, reads outcomes."""

    def __init__(self, nc: Connection, subjects: Subjects, outcomes: Subscription) -> None:
        self.nc = nc
        self.clock = SetClock()  # the worker's: it stamps the outcomes
        self.js = nc.jetstream()
        self.subjects = subjects
        self.outcomes = outcomes
        self.instance_id = str(uuid.uuid4())
        self.version = 0

    async def send(
        self, kind: type[ev.InstanceRequested], *, msg_id: str | None = None,
        **fields: Any,
    ) -> EventMessage:
        self.version += 1
        if kind is ev.InstanceCreateRequested:
            fields = {
                "project_id": "p1", "name": "web", "flavor_id": "1", "image_ref": "img",
                "vcpus": 1, "memory_mb": 512, "disk_gb": 1, **fields,
            }
        event = kind(
            request_id=f"req-{uuid.uuid4()}", at=datetime.now(UTC), host=HOST, user_id="u1",
            **fields,
        )
        return await self.resend(self._message(event), msg_id=msg_id)

    async def resend(self, message: EventMessage, *, msg_id: str | None = None) -> EventMessage:
        subject = self.subjects.event("instance", HOST, message.type)
        await publish(self.js, subject, msgspec.json.encode(message), msg_id or message.id)
        return message

    async def send_event(self, event: ev.InstanceEvent) -> None:
        self.version += 1
        await self.resend(self._message(event))

    async def outcome(self, timeout: float = 5.0) -> HostOutcome:
        msg = await self.outcomes.next_msg(timeout=timeout)
        return msgspec.json.decode(msg.data, type=HostOutcome)

    async def inspect(self) -> list[Guest]:
        reply = await request(self.nc, self.subjects.inspect(HOST), b"")
        return msgspec.json.decode(reply, type=list[Guest])

    def _message(self, event: ev.InstanceEvent) -> EventMessage:
        return EventMessage(
            id=f"{self.instance_id}:{self.version}", position=self.version,
            aggregate_id=self.instance_id, version=self.version, type=type(event).__name__,
            event=event,
        )


def request_id_of(message: EventMessage) -> str:
    assert isinstance(message.event, ev.InstanceEvent)
    return message.event.request_id


Serve = Callable[[HypervisorHost], Coroutine[Any, Any, None]]


@pytest.fixture
async def cloud(nats_url: str, subject_prefix: str) -> AsyncIterator[Cloud]:
    nc = await connect(nats_url)
    subjects = Subjects(subject_prefix)
    await ensure_streams(nc.jetstream(), subjects)
    outcomes = await nc.subscribe(subjects.outcome(HOST))
    yield Cloud(nc, subjects, outcomes)
    await delete_streams(nc.jetstream(), subjects)
    await nc.close()


@pytest.fixture
async def serve(cloud: Cloud) -> AsyncIterator[Serve]:
    """Run the worker for HOST on a given host port until the test ends."""
    stop = asyncio.Event()
    tasks: list[asyncio.Task[None]] = []

    async def start(guests: HypervisorHost) -> None:
        tasks.append(asyncio.create_task(
            worker.serve(cloud.nc, cloud.subjects, HOST, guests, stop, nak_delay=0.1,
                         clock=cloud.clock)
        ))

    yield start
    stop.set()
    await asyncio.wait_for(asyncio.gather(*tasks), 5)


@pytest.fixture
def libvirt_host(tmp_path: Path) -> RecordingHost:
    return RecordingHost(empty_host_uri(tmp_path, HOST))


async def test_a_guest_is_created_paused_unpaused_and_deleted_as_requested(
    cloud: Cloud, serve: Serve, libvirt_host: RecordingHost
) -> None:
    await serve(libvirt_host)
    steps: list[tuple[type[ev.InstanceRequested], GuestState]] = [
        (ev.InstanceCreateRequested, GuestState.RUNNING),
        (ev.InstancePauseRequested, GuestState.PAUSED),
        (ev.InstanceUnpauseRequested, GuestState.RUNNING),
        (ev.InstanceDeleteRequested, GuestState.ABSENT),
    ]
    for kind, state in steps:
        cloud.clock.advance(1)
        sent = await cloud.send(kind)
        outcome = await cloud.outcome()
        assert (outcome.instance_id, outcome.request_id, outcome.host, outcome.ok,
                outcome.at) == (cloud.instance_id, request_id_of(sent), HOST, True, cloud.clock())
        assert libvirt_host.state(cloud.instance_id) is state


async def test_a_redelivered_create_reports_success_again_without_defining_twice(
    cloud: Cloud, serve: Serve, libvirt_host: RecordingHost
) -> None:
    await serve(libvirt_host)
    created = await cloud.send(ev.InstanceCreateRequested)
    first = await cloud.outcome()
    await cloud.resend(created, msg_id=f"{created.id}:republished")
    second = await cloud.outcome()
    assert first.ok and second.ok
    assert first.request_id == second.request_id == request_id_of(created)
    assert libvirt_host.changes == ["define", "start"]
    assert libvirt_host.state(cloud.instance_id) is GuestState.RUNNING
    stored = await cloud.js.stream_info(cloud.subjects.outcomes_stream,
                                        subjects_filter=cloud.subjects.outcome(HOST))
    assert stored.state.subjects == {cloud.subjects.outcome(HOST): 1}  # deduplicated


async def test_pausing_a_paused_guest_reports_success(
    cloud: Cloud, serve: Serve, libvirt_host: RecordingHost
) -> None:
    await serve(libvirt_host)
    await cloud.send(ev.InstanceCreateRequested)
    await cloud.send(ev.InstancePauseRequested)
    await cloud.send(ev.InstancePauseRequested)
    outcomes = [await cloud.outcome() for _ in range(3)]
    assert [o.ok for o in outcomes] == [True, True, True]
    assert libvirt_host.state(cloud.instance_id) is GuestState.PAUSED


async def test_pausing_an_absent_guest_reports_a_failure_with_the_reason(
    cloud: Cloud, serve: Serve, libvirt_host: RecordingHost
) -> None:
    await serve(libvirt_host)
    await cloud.send(ev.InstancePauseRequested)
    outcome = await cloud.outcome()
    assert not outcome.ok
    assert "absent" in outcome.reason


async def test_deleting_an_absent_guest_reports_success(
    cloud: Cloud, serve: Serve, libvirt_host: RecordingHost
) -> None:
    await serve(libvirt_host)
    await cloud.send(ev.InstanceDeleteRequested)
    assert (await cloud.outcome()).ok
    assert libvirt_host.guests() == []


async def test_events_that_are_not_requests_are_skipped(
    cloud: Cloud, serve: Serve, libvirt_host: RecordingHost
) -> None:
    """One instance's messages are handled in order, so the first outcome
    after a skipped event would be the skipped event's, were it answered."""
    await serve(libvirt_host)
    await cloud.send_event(ev.InstanceSpawned(request_id="r0", at=datetime.now(UTC)))
    created = await cloud.send(ev.InstanceCreateRequested)
    first = await cloud.outcome()
    assert (first.request_id, first.ok) == (request_id_of(created), True)


async def test_an_unreachable_host_is_retried_until_it_answers(
    cloud: Cloud, serve: Serve
) -> None:
    fake = UnreachableHost()
    await serve(fake)
    await cloud.send(ev.InstanceCreateRequested)

    async def tried_again() -> bool:
        return fake.tries >= 3

    await eventually(tried_again, what="the request tried again")
    assert cloud.outcomes.pending_msgs == 0  # a transient fault is no outcome
    fake.unavailable = False
    assert (await cloud.outcome()).ok
    assert fake.states == {cloud.instance_id: GuestState.RUNNING}


async def test_the_inspect_reply_lists_the_guests_on_the_host(
    cloud: Cloud, serve: Serve, libvirt_host: RecordingHost
) -> None:
    await serve(libvirt_host)
    await cloud.send(ev.InstanceCreateRequested)
    await cloud.outcome()
    assert await cloud.inspect() == [
        Guest(
            instance_id=cloud.instance_id,
            domain_name=f"instance-{cloud.instance_id}",
            state=GuestState.RUNNING,
        )
    ]


async def test_run_drives_the_libvirt_host_named_by_its_uri(
    cloud: Cloud, nats_url: str, tmp_path: Path
) -> None:
    stop = asyncio.Event()
    uri = empty_host_uri(tmp_path, HOST)
    task = asyncio.create_task(worker.run(nats_url, cloud.subjects.prefix, HOST, uri, stop))
    try:
        await cloud.send(ev.InstanceCreateRequested, name="db")
        assert (await cloud.outcome()).ok
        guests = await cloud.inspect()
        assert [(g.instance_id, g.state) for g in guests] == [
            (cloud.instance_id, GuestState.RUNNING)
        ]
    finally:
        stop.set()
        await asyncio.wait_for(task, 5)


async def test_a_host_reports_its_guests_on_start_and_when_asked_to_reconcile(
    cloud: Cloud, serve: Serve, libvirt_host: RecordingHost
) -> None:
    observed = await cloud.nc.subscribe(cloud.subjects.observed(HOST))
    await serve(libvirt_host)
    at_start = msgspec.json.decode((await observed.next_msg(timeout=5)).data,
                                   type=GuestsObserved)
    assert (at_start.host, at_start.guests) == (HOST, [])
    await cloud.send(ev.InstanceCreateRequested)
    await cloud.outcome()
    libvirt_host.power_loss()

    dry = await request(cloud.nc, cloud.subjects.reconcile(HOST),
                        msgspec.json.encode(ReconcileRequest(dry_run=True)))
    assert msgspec.json.decode(dry, type=Reconciled) == Reconciled(host=HOST, role="compute")
    assert observed.pending_msgs == 0  # a dry run reports nothing

    done = await request(cloud.nc, cloud.subjects.reconcile(HOST),
                         msgspec.json.encode(ReconcileRequest(dry_run=False)))
    report = msgspec.json.decode((await observed.next_msg(timeout=5)).data, type=GuestsObserved)
    assert report.guests == [ObservedGuest(instance_id=cloud.instance_id, state="shutoff")]
    assert report.digest != at_start.digest
    assert msgspec.json.decode(done, type=Reconciled).changes == []  # the host changed nothing

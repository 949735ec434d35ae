"""How a follower of the log is judged: behind, stuck, and why (projections/progress.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from messaging.nats import ConsumerState
from projections.progress import Heartbeat, Part, consumer_part, event_age, with_heartbeats


def host_part(name: str, *, stuck: bool = False, why: str | None = None) -> Part:
    return Part(name=name, kind="host", position=7, lag_events=0, lag_seconds=0.0,
                stuck=stuck, why=why)


def test_a_consumer_with_nothing_waiting_is_caught_up_whatever_its_age() -> None:
    state = ConsumerState(durable="hypervisor-compute1", applied=40, waiting=0, redelivered=0,
                          oldest_at=None)
    assert consumer_part(state, stuck_after=0) == Part(
        name="hypervisor-compute1", kind="host", position=40, lag_events=0, lag_seconds=0.0,
        stuck=False, why=None)


def test_a_consumer_whose_oldest_message_waited_too_long_is_stuck_and_says_so() -> None:
    state = ConsumerState(durable="ingester", applied=3, waiting=2, redelivered=1,
                          oldest_at=datetime.now(UTC) - timedelta(seconds=120))
    part = consumer_part(state, stuck_after=60)
    assert (part.kind, part.position, part.lag_events, part.stuck) == ("ingester", 3, 2, True)
    assert part.lag_seconds is not None and part.lag_seconds >= 120
    assert part.why is not None and part.why.startswith("2 events wait, the oldest for 12")


def test_a_consumer_behind_but_within_the_limit_is_not_stuck_yet() -> None:
    state = ConsumerState(durable="storage-storage1", applied=3, waiting=1, redelivered=0,
                          oldest_at=datetime.now(UTC))
    part = consumer_part(state, stuck_after=60)
    assert part.stuck is False and part.why is not None and part.lag_events == 1


def test_an_event_whose_time_cannot_be_read_has_no_age() -> None:
    assert event_age(b"\x00not json") is None
    assert event_age(b'{"at": "2026-01-01T00:00:00Z"}') is not None


def test_a_silent_hosts_consumers_are_stuck_and_the_others_are_left_as_they_are() -> None:
    parts = [host_part("hypervisor-compute1"), host_part("hypervisor-disks-compute1"),
             host_part("hypervisor-compute11"), host_part("storage-storage1"),
             host_part("hypervisor-compute2", stuck=True, why="3 events wait")]
    beats = [Heartbeat(host="compute1", seconds_since_seen=90.0),
             Heartbeat(host="compute11", seconds_since_seen=5.0),
             Heartbeat(host="compute2", seconds_since_seen=90.0)]
    judged = {p.name: (p.stuck, p.why) for p in with_heartbeats(parts, beats, down_after=60)}
    assert judged == {
        "hypervisor-compute1": (True, "host compute1 has not reported for 90 s"),
        "hypervisor-disks-compute1": (True, "host compute1 has not reported for 90 s"),
        "hypervisor-compute11": (False, None),
        "storage-storage1": (False, None),
        "hypervisor-compute2": (True, "3 events wait"),  # its own reason first
    }

"""A move claims its destination in its request's transaction, on real
PostgreSQL: racing moves and boots never over-commit a host, and a move with
no room is refused with nothing written."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from commands.messages import BootInstance, Caller
from commands.migrations import LiveMigrateInstance, ResizeInstance
from commands.services import Commands
from domain import host as hosts_model
from domain.errors import DomainError
from domain.host import Capacity
from domain.registry import HOST
from messaging.wire import HostOutcome
from tests.service.test_placement_concurrency import IMAGE, open_cloud

ADMIN = Caller(user_id="u", project_id="p", is_admin=True)


@pytest.fixture
def small(database_url: str) -> Iterator[Commands]:
    """Two hosts with room for two m1.tiny each."""
    opened = open_cloud(database_url, ["h1", "h2"],
                        Capacity(vcpus=2, memory_mb=1024, local_gb=10))
    yield opened
    opened.close()


def booted(cloud: Commands, name: str) -> tuple[str, str]:
    accepted = cloud.instances.boot(BootInstance(request_id=f"r-{name}", caller=ADMIN,
                                                 name=name, flavor_ref="1", image_ref=IMAGE))
    state = accepted.state
    cloud.instances.record_outcome(HostOutcome(instance_id=state.id, request_id=f"r-{name}",
                                               host=state.host, ok=True, at=state.created_at))
    return state.id, state.host


def claims(cloud: Commands) -> dict[str, set[str]]:
    found = {}
    for name in ("h1", "h2"):
        host = cloud.app.find(HOST, hosts_model.host_id(name))
        assert host is not None
        found[name] = set(host.state.claims)
    return found


def test_a_move_to_a_full_host_is_refused_and_writes_nothing(small: Commands) -> None:
    servers = [booted(small, f"vm{n}") for n in range(4)]  # both hosts full
    before = claims(small)
    server, _ = servers[0]
    with pytest.raises(DomainError, match="No valid host"):
        small.migrations.resize(ResizeInstance(request_id="r-m", caller=ADMIN,
                                               instance_id=server))
    with pytest.raises(DomainError, match="No valid host"):
        small.migrations.live_migrate(LiveMigrateInstance(request_id="r-l", caller=ADMIN,
                                                          instance_id=server))
    assert claims(small) == before
    assert small.instances.instance(server, ADMIN).migration is None


def test_racing_moves_for_the_last_room_on_a_host_never_over_commit_it(
        small: Commands) -> None:
    first, host = booted(small, "a")
    second, other = booted(small, "b")
    assert host != other  # spread: one on each
    third, _ = booted(small, "c")  # one host now has one room left, the other none
    full = next(h for h, c in claims(small).items() if len(c) == 2)
    movers = [i for i in (first, second, third)
              if small.instances.instance(i, ADMIN).host == full]
    outcomes: list[str] = [""] * len(movers)
    start = threading.Barrier(len(movers))

    def move(n: int) -> None:
        start.wait()
        try:
            small.migrations.resize(ResizeInstance(request_id=f"r-race-{n}", caller=ADMIN,
                                                   instance_id=movers[n]))
            outcomes[n] = "moving"
        except DomainError as error:
            outcomes[n] = str(error)

    threads = [threading.Thread(target=move, args=(n,)) for n in range(len(movers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert outcomes.count("moving") == 1, outcomes  # the one room left went to one of them
    assert all(o == "moving" or o.startswith("No valid host") for o in outcomes), outcomes
    assert all(len(c) <= 2 for c in claims(small).values())  # never over-committed

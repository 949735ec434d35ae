"""A move whose host never answers is finished or rolled back by the deadline
sweeper, on real PostgreSQL with a set clock: afterwards the instance is
recorded on one host, and each host holds a claim exactly when it should."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from commands.migrations import ConfirmResize, ResizeInstance
from domain import host as hosts_model
from domain.registry import HOST
from tests.service.test_deadlines import ADMIN, DEADLINE, Cloud


class TwoHosts(Cloud):
    def __init__(self, database_url: str) -> None:
        super().__init__(database_url)
        self.commands.close()
        from tests.support.cloud import open_cloud

        self.commands = open_cloud(database_url, ["compute1", "compute2"])
        self.commands.app.clock = self.clock
        self.sweeper.app = self.commands.app

    def server(self) -> str:
        server = self.boot("r-boot")
        self.answer(server, "r-boot")
        return server

    def pending(self, server: str) -> str:
        found = self.commands.instances.instance(server, ADMIN).pending
        assert found is not None
        return found.request_id

    def claimed_on(self, server: str) -> list[str]:
        hosts = []
        for name in ("compute1", "compute2"):
            host = self.commands.app.find(HOST, hosts_model.host_id(name))
            if host is not None and server in host.state.claims:
                hosts.append(name)
        return hosts

    def expire(self) -> None:
        self.clock.advance(DEADLINE + 1)
        assert self.sweeper.sweep() != []


@pytest.fixture
def two(database_url: str) -> Iterator[TwoHosts]:
    made = TwoHosts(database_url)
    yield made
    made.commands.close()


def test_a_source_that_never_shuts_the_guest_off_leaves_it_where_it_was(two: TwoHosts) -> None:
    server = two.server()
    two.commands.migrations.resize(ResizeInstance(request_id="r-m", caller=ADMIN,
                                                  instance_id=server))
    assert two.claimed_on(server) == ["compute1", "compute2"]
    two.expire()
    assert two.row("instances", server, "host", "vm_state", "task_state") == (
        "compute1", "active", None)
    assert two.claimed_on(server) == ["compute1"]


def test_a_destination_that_never_finishes_is_rolled_back_then_left_in_error(
        two: TwoHosts) -> None:
    server = two.server()
    two.commands.migrations.resize(ResizeInstance(request_id="r-m", caller=ADMIN,
                                                  instance_id=server))
    two.answer(server, two.pending(server))  # the source shut it off
    assert two.pending(server) == "r-m:finish"
    two.expire()  # the finish: its rollback is asked of the destination
    assert two.pending(server) == "r-m:rollback"
    assert two.claimed_on(server) == ["compute1", "compute2"]
    two.expire()  # the rollback too: the destination may hold nothing running now
    assert two.row("instances", server, "host", "vm_state", "task_state") == (
        "compute1", "error", None)
    assert two.claimed_on(server) == ["compute1"]


def test_a_confirm_never_answered_keeps_both_claims_and_can_be_asked_again(
        two: TwoHosts) -> None:
    server = two.server()
    two.commands.migrations.resize(ResizeInstance(request_id="r-m", caller=ADMIN,
                                                  instance_id=server))
    two.answer(server, two.pending(server))
    two.answer(server, two.pending(server))
    assert two.row("instances", server, "host", "status") == ("compute2", "VERIFY_RESIZE")
    two.commands.migrations.confirm(ConfirmResize(request_id="r-c", caller=ADMIN,
                                                  instance_id=server))
    two.expire()
    assert two.row("instances", server, "host", "status") == ("compute2", "VERIFY_RESIZE")
    assert two.claimed_on(server) == ["compute1", "compute2"]
    two.commands.migrations.confirm(ConfirmResize(request_id="r-c2", caller=ADMIN,
                                                  instance_id=server))
    two.answer(server, "r-c2")
    assert two.row("instances", server, "host", "status") == ("compute2", "ACTIVE")
    assert two.claimed_on(server) == ["compute2"]

"""The network hosts as Neutron agents: each alive while it reports, with the
log position and digest of what it rendered beside the log's head."""

from __future__ import annotations

from typing import Any

from tests.e2e.test_flavors_api import member_token
from tests.support.polling import eventually
from tests.support.stack import RunningStack

AGENTS = "/network/v2.0/agents"


async def test_the_network_host_is_an_alive_agent_that_rendered_the_default_network(
        running_stack: RunningStack) -> None:
    async def rendered() -> dict[str, Any] | None:
        r = await running_stack.http.get(AGENTS)
        assert r.status_code == 200, r.text
        agents = r.json()["agents"]
        return agents[0] if agents and agents[0]["configurations"]["position"] > 0 else None

    agent = await eventually(rendered, what="the network host's first report")
    assert (agent["host"], agent["agent_type"], agent["alive"]) == (
        "network1", "Linux bridge agent", True)
    assert agent["configurations"]["position"] <= agent["configurations"]["log_head"]
    assert len(agent["configurations"]["digest"]) == 64
    none = await running_stack.http.get(AGENTS, params={"host": "elsewhere"})
    assert none.json()["agents"] == []


async def test_only_an_admin_sees_the_agents(running_stack: RunningStack) -> None:
    r = await running_stack.http.get(AGENTS, headers=member_token(running_stack, "p1"))
    assert r.status_code == 403

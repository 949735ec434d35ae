"""The unmodified ``openstack`` CLI on host aggregates, availability zones,
server groups and usage: what an operator types, checked against what the
API then says."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.clients import OpenStackCli
from tests.support.stack import RunningStack


@pytest.fixture
def cli(running_stack: RunningStack, tmp_path: Path) -> OpenStackCli:
    home = tmp_path / "home"
    home.mkdir()
    return OpenStackCli(running_stack, home)


async def test_an_aggregate_made_with_the_cli_is_a_zone_the_cli_lists(
        running_stack: RunningStack, cli: OpenStackCli) -> None:
    await running_stack.hosts_once_reported()
    made = await cli.json("aggregate", "create", "--zone", "az-cli", "rack-cli")
    assert (made["name"], made["availability_zone"]) == ("rack-cli", "az-cli")
    await cli.ok("aggregate", "add", "host", "rack-cli", "compute1")
    await cli.ok("aggregate", "set", "--property", "ssd=true", "rack-cli")
    shown = await cli.json("aggregate", "show", "rack-cli")
    assert shown["hosts"] == ["compute1"] and shown["properties"]["ssd"] == "true"
    zones = {z["Zone Name"] for z in await cli.json("availability", "zone", "list",
                                                    "--compute")}
    assert zones == {"az-cli", "nova"}
    await cli.ok("aggregate", "remove", "host", "rack-cli", "compute1")
    await cli.ok("aggregate", "delete", "rack-cli")
    assert await cli.json("aggregate", "list") == []


async def test_a_server_group_made_with_the_cli_and_the_usage_it_lists(
        running_stack: RunningStack, cli: OpenStackCli) -> None:
    group = await cli.json("server", "group", "create", "--policy", "anti-affinity", "web")
    assert group["name"] == "web" and "anti-affinity" in str(group)
    listed = await cli.json("server", "group", "list")
    assert [g["Name"] for g in listed] == ["web"]
    await cli.ok("server", "group", "delete", "web")
    usage = await cli.json("usage", "list")
    assert isinstance(usage, list)

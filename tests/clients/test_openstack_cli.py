"""The unmodified ``openstack`` CLI drives a running nimbus.

Each test runs the real python-openstackclient from PyPI as a child process
against an in-process stack and checks both what the CLI prints (``-f json``)
and what the API then says. ``--wait`` polls every 5 s, so only create,
reboot and delete use it (their tests are about it); everything else is
checked, and waited for, through the API.

Most tests share the module's stack (tests/support/shared.py): they add
servers, flavors and images of their own names. Those that see the whole
cloud (every server or keypair, the quotas, what the project uses) have a
stack of their own (``own_cli``).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from commands.messages import Caller
from commands.services import Commands
from tests.e2e.test_volumes_api import wait_for
from tests.support.clients import OpenStackCli
from tests.support.shared import SHARED
from tests.support.stack import RunningStack

IMAGE = "cirros-0.6.2-x86_64-disk"
FLAVOR = "m1.tiny"
C = "/compute/v2.1"


@pytest.fixture
def cli(module_stack: RunningStack, tmp_path: Path) -> OpenStackCli:
    """The CLI on the module's stack."""
    home = tmp_path / "home"
    home.mkdir()
    return OpenStackCli(module_stack, home)


@pytest.fixture
def own_cli(running_stack: RunningStack, tmp_path: Path) -> OpenStackCli:
    """The CLI on a stack of the test's own, for tests that see the whole cloud."""
    home = tmp_path / "home"
    home.mkdir()
    return OpenStackCli(running_stack, home)


async def boot(stack: RunningStack, name: str) -> str:
    """A server booted through the API (fast), for tests about other commands."""
    r = await stack.http.post(f"{C}/servers", json={
        "server": {"name": name, "imageRef": IMAGE, "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    server_id: str = r.json()["server"]["id"]
    await stack.wait_for_status(server_id, "ACTIVE")
    return server_id


async def action_names(stack: RunningStack, server_id: str) -> list[str]:
    r = await stack.http.get(f"{C}/servers/{server_id}/os-instance-actions")
    assert r.status_code == 200, r.text
    return [a["action"] for a in r.json()["instanceActions"]]


def by_key(rows: list[dict[str, Any]], key: str) -> dict[str, dict[str, Any]]:
    return {str(row[key]): row for row in rows}


def squash(name: str) -> str:
    """maxTotalInstances and max_total_instances alike -> maxtotalinstances."""
    return name.replace("_", "").lower()


@SHARED
async def test_token_issue_prints_a_token_the_api_accepts(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    token = await cli.json("token", "issue")
    assert set(token) >= {"id", "expires", "project_id", "user_id"}
    r = await module_stack.http.get(f"{C}/servers", headers={"X-Auth-Token": token["id"]})
    assert r.status_code == 200, r.text


@SHARED
async def test_server_create_waits_until_active_then_list_and_show_find_it(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    created = await cli.json("server", "create", "--flavor", FLAVOR, "--image", IMAGE,
                             "--wait", "vm-cli")
    assert created["name"] == "vm-cli" and created["status"] == "ACTIVE"
    server_id = created["id"]
    assert (await module_stack.wait_for_status(server_id, "ACTIVE"))["name"] == "vm-cli"

    listed = by_key(await cli.json("server", "list"), "ID")
    assert listed[server_id]["Name"] == "vm-cli" and listed[server_id]["Status"] == "ACTIVE"

    shown = await cli.json("server", "show", "vm-cli")
    assert shown["id"] == server_id and shown["status"] == "ACTIVE"
    assert IMAGE in str(shown["image"])


@SHARED
async def test_server_create_on_the_private_network_by_name(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    created = await cli.json("server", "create", "--flavor", FLAVOR, "--image", IMAGE,
                             "--network", "private", "vm-net")
    await module_stack.wait_for_status(created["id"], "ACTIVE")


@SHARED
async def test_server_pause_unpause_suspend_resume_change_the_servers_status(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    server_id = await boot(module_stack, "vm-p")
    for command, status in [("pause", "PAUSED"), ("unpause", "ACTIVE"),
                            ("suspend", "SUSPENDED"), ("resume", "ACTIVE")]:
        await cli.ok("server", command, "vm-p")
        await module_stack.wait_for_status(server_id, status)
    assert (await action_names(module_stack, server_id))[:4] == [
        "resume", "suspend", "unpause", "pause"]


@SHARED
async def test_pausing_a_paused_server_fails_with_novas_conflict_message(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    server_id = await boot(module_stack, "vm-c")
    await cli.ok("server", "pause", server_id)
    await module_stack.wait_for_status(server_id, "PAUSED")
    again = await cli.run("server", "pause", server_id)
    assert again.returncode == 1
    assert "409" in again.stderr and "paused" in again.stderr, again.explain()


@SHARED
async def test_server_reboot_waits_and_stop_start_power_cycle_the_server(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    server_id = await boot(module_stack, "vm-r")
    await cli.ok("server", "reboot", "--wait", "vm-r")
    await module_stack.wait_for_status(server_id, "ACTIVE")
    await cli.ok("server", "stop", "vm-r")
    stopped = await module_stack.wait_for_status(server_id, "SHUTOFF")
    assert stopped["OS-EXT-STS:power_state"] == 4
    await cli.ok("server", "start", "vm-r")
    started = await module_stack.wait_for_status(server_id, "ACTIVE")
    assert started["OS-EXT-STS:power_state"] == 1
    assert (await action_names(module_stack, server_id))[:3] == ["start", "stop", "reboot"]


@SHARED
async def test_server_lock_and_unlock_are_recorded_as_actions(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    server_id = await boot(module_stack, "vm-l")
    await cli.ok("server", "lock", "vm-l")
    await cli.ok("server", "unlock", "vm-l")
    assert (await action_names(module_stack, server_id))[:2] == ["unlock", "lock"]


@SHARED
async def test_console_log_show_prints_the_console_output(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    await boot(module_stack, "vm-con")
    result = await cli.ok("console", "log", "show", "vm-con")
    assert result.stdout.strip(), result.explain()


async def test_server_delete_waits_until_the_server_is_gone(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    server_id = await boot(running_stack, "vm-d")
    await own_cli.ok("server", "delete", "--wait", "vm-d")
    assert (await running_stack.http.get(f"{C}/servers/{server_id}")).status_code == 404
    assert await own_cli.json("server", "list") == []


@SHARED
async def test_server_event_list_shows_the_servers_actions_newest_first(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    server_id = await boot(module_stack, "vm-e")
    await cli.ok("server", "pause", "vm-e")
    await module_stack.wait_for_status(server_id, "PAUSED")
    events = await cli.json("server", "event", "list", "vm-e")
    assert [e["Action"] for e in events] == ["pause", "create"]
    assert {e["Server ID"] for e in events} == {server_id}


@SHARED
async def test_flavor_list_shows_the_default_flavors(cli: OpenStackCli) -> None:
    flavors = by_key(await cli.json("flavor", "list"), "Name")
    assert {"m1.tiny", "m1.small", "m1.medium", "m1.large", "m1.xlarge"} <= set(flavors)
    assert flavors["m1.tiny"]["RAM"] == 512 and flavors["m1.tiny"]["VCPUs"] == 1


@SHARED
async def test_flavor_create_by_the_admin_adds_a_bootable_flavor(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    created = await cli.json("flavor", "create", "--ram", "256", "--disk", "1",
                             "--vcpus", "1", "m1.cli")
    assert created["name"] == "m1.cli" and created["ram"] == 256
    assert "m1.cli" in by_key(await cli.json("flavor", "list"), "Name")
    r = await module_stack.http.get(f"{C}/flavors/{created['id']}")
    assert r.status_code == 200 and r.json()["flavor"]["vcpus"] == 1
    server = await cli.json("server", "create", "--flavor", "m1.cli", "--image", IMAGE,
                            "vm-f")
    await module_stack.wait_for_status(server["id"], "ACTIVE")


@SHARED
async def test_a_private_flavor_is_shared_with_the_project_named(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    created = await cli.json("flavor", "create", "--ram", "128", "--disk", "1", "--vcpus", "1",
                             "--private", "--project", "admin", "m1.private")
    assert created["os-flavor-access:is_public"] is False
    r = await module_stack.http.get(f"{C}/flavors/{created['id']}/os-flavor-access")
    assert r.status_code == 200, r.text
    token = await cli.json("token", "issue")
    assert [a["tenant_id"] for a in r.json()["flavor_access"]] == [token["project_id"]]


@SHARED
async def test_image_create_uploads_a_file_and_image_list_shows_it(
        module_stack: RunningStack, cli: OpenStackCli, tmp_path: Path) -> None:
    disk = tmp_path / "tiny.img"
    disk.write_bytes(b"nimbus test image\n" * 64)
    created = await cli.json("image", "create", "--file", str(disk), "--disk-format", "qcow2",
                             "--container-format", "bare", "tiny")
    assert created["name"] == "tiny" and created["status"] == "active"
    assert created["size"] == disk.stat().st_size
    images = by_key(await cli.json("image", "list"), "Name")
    assert images["tiny"]["Status"] == "active" and IMAGE in images
    r = await module_stack.http.get(f"/image/v2/images/{created['id']}")
    assert r.status_code == 200 and r.json()["status"] == "active"


@SHARED
async def test_server_image_create_waits_until_the_snapshot_is_active_and_boots(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    server_id = await boot(module_stack, "cli-snapshotted")
    image = await cli.json("server", "image", "create", "--name", "cli-snap", "--wait",
                           server_id)
    assert (image["name"], image["status"], image["disk_format"]) == (
        "cli-snap", "active", "qcow2")
    shown = (await module_stack.http.get(f"/image/v2/images/{image['id']}")).json()
    assert (shown["instance_uuid"], shown["image_type"], shown["visibility"]) == (
        server_id, "snapshot", "private")
    assert shown["size"] > 0 and len(shown["checksum"]) == 32
    assert "createImage" in await action_names(module_stack, server_id)
    server = await cli.json("server", "create", "--flavor", FLAVOR, "--image", "cli-snap",
                            "--wait", "cli-from-snapshot")
    assert server["status"] == "ACTIVE"


async def test_keypair_create_list_and_delete(
        running_stack: RunningStack, own_cli: OpenStackCli, tmp_path: Path) -> None:
    private = tmp_path / "k1.pem"
    created = await own_cli.json("keypair", "create", "--private-key", str(private), "k1")
    assert created["name"] == "k1" and created["fingerprint"]
    assert "PRIVATE KEY" in private.read_text()

    listed = by_key(await own_cli.json("keypair", "list"), "Name")
    assert listed["k1"]["Fingerprint"] == created["fingerprint"]
    r = await running_stack.http.get(f"{C}/os-keypairs/k1")
    assert r.status_code == 200 and r.json()["keypair"]["public_key"].startswith("ssh-")

    await own_cli.ok("keypair", "delete", "k1")
    assert await own_cli.json("keypair", "list") == []
    assert (await running_stack.http.get(f"{C}/os-keypairs/k1")).status_code == 404


async def test_quota_show_has_the_defaults_and_quota_set_changes_them(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    shown = {row["Resource"]: row["Limit"] for row in await own_cli.json("quota", "show")}
    assert shown["instances"] == 10 and shown["cores"] == 20 and shown["ram"] == 51200
    assert shown["volumes"] == 10 and shown["gigabytes"] == 1000  # from Cinder's route
    assert shown["floating_ips"] == 10 and shown["networks"] is None  # none kept yet

    await own_cli.ok("quota", "set", "--instances", "3", "--volumes", "4", "admin")
    shown = {row["Resource"]: row["Limit"] for row in await own_cli.json("quota", "show", "admin")}
    assert shown["instances"] == 3 and shown["volumes"] == 4
    token = await own_cli.json("token", "issue")
    r = await running_stack.http.get(f"{C}/os-quota-sets/{token['project_id']}")
    assert r.status_code == 200 and r.json()["quota_set"]["instances"] == 3
    r = await running_stack.http.get(f"/network/v2.0/quotas/{token['project_id']}")
    assert r.status_code == 200 and r.json()["quota"]["floatingip"] == 10


async def test_limits_show_absolute_counts_what_the_project_uses(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    await boot(running_stack, "vm-q")
    rows = await own_cli.json("limits", "show", "--absolute")
    limits = {squash(row["Name"]): row["Value"] for row in rows}
    assert limits["maxtotalinstances"] == 10 and limits["maxtotalcores"] == 20
    assert limits["maxtotalvolumes"] == 10 and limits["totalvolumesused"] == 0
    assert limits["totalinstancesused"] == 1 and limits["totalramused"] == 512


@SHARED
async def test_hypervisor_list_shows_both_simulated_hosts(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    await module_stack.hosts_once_reported()
    hypervisors = by_key(await cli.json("hypervisor", "list"), "Hypervisor Hostname")
    assert {"compute1", "compute2"} <= set(hypervisors)
    assert {h["State"] for h in hypervisors.values()} == {"up"}


@SHARED
async def test_compute_service_list_shows_an_enabled_running_service_per_host(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    await module_stack.hosts_once_reported()
    services = [s for s in await cli.json("compute", "service", "list")
                if s["Binary"] == "nova-compute"]
    assert sorted(s["Host"] for s in services) == ["compute1", "compute2"]
    assert {(s["Status"], s["State"]) for s in services} == {("enabled", "up")}


@SHARED
async def test_a_description_is_set_and_shown_when_the_cli_asks_for_2_19(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    v19 = ("--os-compute-api-version", "2.19")
    created = await cli.json(*v19, "server", "create", "--flavor", FLAVOR, "--image", IMAGE,
                             "--description", "made by the cli", "vm-desc")
    await module_stack.wait_for_status(created["id"], "ACTIVE")
    shown = await cli.json(*v19, "server", "show", "vm-desc")
    assert (shown["description"], shown["locked"]) == ("made by the cli", False)
    await cli.ok(*v19, "server", "set", "--description", "changed", "vm-desc")
    assert (await cli.json(*v19, "server", "show", "vm-desc"))["description"] == "changed"
    plain = await cli.json("--os-compute-api-version", "2.1", "server", "show", "vm-desc")
    assert plain["id"] == created["id"] and not plain.get("description")
    refused = await cli.run("--os-compute-api-version", "2.99", "server", "show", "vm-desc")
    assert refused.returncode != 0, refused.explain()


@SHARED
async def test_tags_are_set_listed_and_unset_when_the_cli_asks_for_2_26(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    v26 = ("--os-compute-api-version", "2.26")
    created = await cli.json(*v26, "server", "create", "--flavor", FLAVOR, "--image", IMAGE,
                             "vm-tagged")
    await module_stack.wait_for_status(created["id"], "ACTIVE")
    await cli.ok(*v26, "server", "set", "--tag", "prod", "--tag", "web", "vm-tagged")
    assert sorted((await cli.json(*v26, "server", "show", "vm-tagged"))["tags"]) \
        == ["prod", "web"]
    listed = await cli.json(*v26, "server", "list", "--tags", "prod,web")
    assert [s["Name"] for s in listed] == ["vm-tagged"]
    await cli.ok(*v26, "server", "unset", "--tag", "web", "vm-tagged")
    assert (await cli.json(*v26, "server", "show", "vm-tagged"))["tags"] == ["prod"]
    assert await cli.json(*v26, "server", "list", "--tags", "web") == []


async def test_compute_service_set_down_forces_a_host_down_and_up_at_2_11(
        running_stack: RunningStack, own_cli: OpenStackCli) -> None:
    await running_stack.hosts_once_reported()
    v11 = ("--os-compute-api-version", "2.11")
    await own_cli.ok(*v11, "compute", "service", "set", "--down", "compute2", "nova-compute")
    listed = await own_cli.json(*v11, "compute", "service", "list", "--long")
    services = by_key([s for s in listed if s["Binary"] == "nova-compute"], "Host")
    assert (services["compute2"]["State"], services["compute2"]["Forced Down"]) \
        == ("down", True)
    assert (services["compute1"]["State"], services["compute1"]["Forced Down"]) \
        == ("up", False)
    await own_cli.ok(*v11, "compute", "service", "set", "--up", "compute2", "nova-compute")
    services = by_key(await own_cli.json(*v11, "compute", "service", "list", "--long"), "Host")
    assert services["compute2"]["Forced Down"] is False


@SHARED
async def test_an_unknown_server_is_reported_not_found(cli: OpenStackCli) -> None:
    missing = str(uuid.uuid4())
    result = await cli.run("server", "show", missing)
    assert result.returncode == 1 and "No Server found" in result.stderr, result.explain()


async def volume_reaches(stack: RunningStack, volume_id: str, status: str) -> None:
    """Polled through the API: each CLI run costs a process and a login."""
    r = await stack.http.get("/identity/v3/auth/tokens",
                             headers={"X-Subject-Token": stack.http.headers["X-Auth-Token"]})
    assert r.status_code == 200, r.text
    project = r.json()["token"]["project"]["id"]
    await wait_for(stack.http, f"/volume/v3/{project}/volumes/{volume_id}", "volume", status)


@SHARED
async def test_volume_create_attach_detach_and_delete_with_the_cli(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    await boot(module_stack, "vm-vol")
    made = await cli.json("volume", "create", "--size", "1", "data")
    assert (made["size"], made["name"]) == (1, "data")
    await volume_reaches(module_stack, made["id"], "available")

    await cli.ok("server", "add", "volume", "vm-vol", "data")
    await volume_reaches(module_stack, made["id"], "in-use")
    listed = by_key(await cli.json("volume", "list"), "Name")
    assert "/dev/vdb" in str(listed["data"]["Attached to"])

    await cli.ok("server", "remove", "volume", "vm-vol", "data")
    await volume_reaches(module_stack, made["id"], "available")
    await cli.ok("volume", "delete", "data")
    left = by_key(await cli.json("volume", "list"), "Name")
    assert left.get("data", {"Status": "deleting"})["Status"] == "deleting"  # or gone


@SHARED
async def test_security_groups_and_their_rules_are_made_shown_used_and_deleted(
        module_stack: RunningStack, cli: OpenStackCli) -> None:
    group = await cli.json("security", "group", "create", "sg-cli", "--description", "web")
    assert (group["name"], group["description"]) == ("sg-cli", "web")
    rule = await cli.json("security", "group", "rule", "create", "--protocol", "tcp",
                          "--dst-port", "22", "sg-cli")
    assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"],
            rule["remote_ip_prefix"]) == ("tcp", 22, 22, "0.0.0.0/0")
    shown = await cli.json("security", "group", "show", "sg-cli")
    assert shown["id"] == group["id"] and len(shown["rules"]) == 3
    listed = await cli.json("security", "group", "rule", "list", "sg-cli")
    assert rule["id"] in {r["ID"] for r in listed}
    assert "sg-cli" in {g["Name"] for g in await cli.json("security", "group", "list")}

    cloud = Commands.open(module_stack.database_url, [])
    try:  # a network to boot on (the network routes are not these)
        admin = Caller(user_id="admin", project_id=group["project_id"], is_admin=True)
        net = cloud.networks.create_network(admin, "cli-sg-net", name="cli-sg").state.id
        cloud.networks.create_subnet(admin, "cli-sg-sub", net, name="", cidr="10.77.0.0/24")
    finally:
        cloud.close()
    r = await module_stack.http.post(f"{C}/servers", json={"server": {
        "name": "vm-sg", "imageRef": IMAGE, "flavorRef": "1", "networks": [{"uuid": net}]}})
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]  # its port is made in the boot's transaction
    await cli.ok("server", "add", "security", "group", "vm-sg", "sg-cli")
    r = await module_stack.http.get(f"{C}/servers/{server_id}/os-security-groups")
    assert [g["name"] for g in r.json()["security_groups"]] == ["sg-cli"]
    refused = await cli.run("security", "group", "delete", "sg-cli")
    assert refused.returncode != 0 and "in use" in refused.stderr, refused.explain()
    await cli.ok("server", "remove", "security", "group", "vm-sg", "sg-cli")
    await cli.ok("security", "group", "rule", "delete", rule["id"])
    await cli.ok("security", "group", "delete", "sg-cli")
    assert "sg-cli" not in {g["Name"] for g in await cli.json("security", "group", "list")}

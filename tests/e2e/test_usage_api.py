"""Usage and hypervisor reports over HTTP, on the whole stack: a project's
instance-hours in os-simple-tenant-usage, the usage audit log's periods,
and os-hypervisors' statistics, uptime, search and servers, each refused to
a member as Nova refuses it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.e2e.test_flavors_api import member_token
from tests.support.polling import eventually
from tests.support.stack import RunningStack

C = "/compute/v2.1"


def stamp(at: datetime) -> str:
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


async def _boot(stack: RunningStack, name: str) -> dict[str, str]:
    r = await stack.http.post(f"{C}/servers", json={"server": {
        "name": name, "flavorRef": "1", "imageRef": "cirros-0.6.2-x86_64-disk"}})
    assert r.status_code == 202, r.text
    return await stack.wait_for_status(r.json()["server"]["id"], "ACTIVE")


async def test_a_projects_usage_counts_its_instances_hours(running_stack: RunningStack) -> None:
    http = running_stack.http
    server = await _boot(running_stack, "usage-vm")
    project = server["tenant_id"]
    now = datetime.now(UTC)
    period = {"start": stamp(now - timedelta(days=1)), "end": stamp(now + timedelta(days=1))}
    r = await http.get(f"{C}/os-simple-tenant-usage/{project}", params=period)
    assert r.status_code == 200, r.text
    usage = r.json()["tenant_usage"]
    assert len(usage) == 8 and usage["tenant_id"] == project
    (mine,) = usage["server_usages"]
    assert (mine["instance_id"], mine["name"], mine["flavor"], mine["vcpus"],
            mine["memory_mb"], mine["state"], mine["ended_at"]) == (
        server["id"], "usage-vm", "m1.tiny", 1, 512, "active", None)
    assert usage["total_vcpus_usage"] == mine["hours"] > 0
    listed = (await http.get(f"{C}/os-simple-tenant-usage",
                             params={**period, "detailed": "1"})).json()["tenant_usages"]
    assert [u["tenant_id"] for u in listed] == [project] and len(listed[0]) == 8
    brief = (await http.get(f"{C}/os-simple-tenant-usage", params=period)).json()
    assert "server_usages" not in brief["tenant_usages"][0]

    before = {"start": stamp(now - timedelta(days=2)), "end": stamp(now - timedelta(days=1))}
    assert (await http.get(f"{C}/os-simple-tenant-usage/{project}", params=before)
            ).json()["tenant_usage"]["server_usages"] == []
    backwards = {"start": period["end"], "end": period["start"]}
    r = await http.get(f"{C}/os-simple-tenant-usage/{project}", params=backwards)
    assert r.status_code == 400 and "start time cannot occur after" in r.text
    assert (await http.get(f"{C}/os-simple-tenant-usage/{project}",
                           params={"start": "yesterday"})).status_code == 400
    assert (await http.get(f"{C}/os-simple-tenant-usage/")).status_code == 404
    member = member_token(running_stack, "p-usage")
    assert (await http.get(f"{C}/os-simple-tenant-usage", headers=member)).status_code == 403
    assert (await http.get(f"{C}/os-simple-tenant-usage/{project}", headers=member)
            ).status_code == 403
    own = await http.get(f"{C}/os-simple-tenant-usage/p-usage", headers=member)
    assert own.status_code == 200 and own.json()["tenant_usage"]["total_hours"] == 0


async def test_the_usage_audit_log_names_the_last_month_and_no_host_done(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    r = await http.get(f"{C}/os-instance_usage_audit_log/2026-03-15 10:00:00")
    assert r.status_code == 200, r.text
    log = r.json()["instance_usage_audit_log"]
    assert (log["period_beginning"], log["period_ending"]) == ("2026-02-01 00:00:00",
                                                               "2026-03-01 00:00:00")
    assert sorted(log["hosts_not_run"]) == ["compute1", "compute2"]
    assert log["overall_status"] == "0 of 2 hosts done. 0 errors."
    january = (await http.get(f"{C}/os-instance_usage_audit_log/2026-01-02 00:00:00")).json()
    assert january["instance_usage_audit_log"]["period_beginning"] == "2025-12-01 00:00:00"
    listed = await http.get(f"{C}/os-instance_usage_audit_log")
    assert listed.status_code == 200 and "instance_usage_audit_logs" in listed.json()
    assert (await http.get(f"{C}/os-instance_usage_audit_log/invalid_time")).status_code == 400
    member = member_token(running_stack, "p-audit")
    assert (await http.get(f"{C}/os-instance_usage_audit_log", headers=member)
            ).status_code == 403


async def test_hypervisor_statistics_uptime_search_and_servers(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    await running_stack.hosts_once_reported()
    server = await _boot(running_stack, "on-a-host")
    host = server["OS-EXT-SRV-ATTR:host"]

    stats = (await http.get(f"{C}/os-hypervisors/statistics")).json()["hypervisor_statistics"]
    assert (stats["count"], stats["vcpus"], stats["running_vms"]) == (2, 32, 1)
    assert stats["free_ram_mb"] == 2 * 32768 - 512

    async def uptime() -> str:
        r = await http.get(f"{C}/os-hypervisors/1/uptime")
        assert r.status_code == 200, r.text
        text: str = r.json()["hypervisor"]["uptime"]
        return text

    assert " up " in await eventually(uptime)
    assert (await http.get(f"{C}/os-hypervisors/99/uptime")).status_code == 404

    found = (await http.get(f"{C}/os-hypervisors/compute/search")).json()["hypervisors"]
    assert [h["hypervisor_hostname"] for h in found] == ["compute1", "compute2"]
    on = (await http.get(f"{C}/os-hypervisors/{host}/servers")).json()["hypervisors"]
    assert on[0]["servers"] == [{"uuid": server["id"], "name": "on-a-host"}]
    missing = await http.get(f"{C}/os-hypervisors/nowhere/search")
    assert missing.status_code == 404 and "No hypervisor matching 'nowhere'" in missing.text
    assert (await http.get(f"{C}/os-hypervisors/nowhere/servers")).status_code == 404
    member = member_token(running_stack, "p-hyper")
    for path in ("statistics", "1/uptime", "compute/search", "compute/servers"):
        assert (await http.get(f"{C}/os-hypervisors/{path}", headers=member)
                ).status_code == 403, path

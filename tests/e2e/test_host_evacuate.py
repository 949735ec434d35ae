"""``nimbus host evacuate HOST --wait`` drains a running stack's host: it is
disabled, its running server live migrates and its stopped one cold migrates
(confirmed), and nothing is left claimed on it."""

from __future__ import annotations

from tests.e2e.test_hosts_cli import nimbus
from tests.e2e.test_migrations_api import boot, claims, guest_states
from tests.support.polling import eventually
from tests.support.stack import RunningStack

C = "/compute/v2.1"


async def test_evacuate_moves_every_server_off_the_host_and_disables_it(
        running_stack: RunningStack) -> None:
    stack = running_stack
    await stack.hosts_once_reported()
    r = await stack.http.put(f"{C}/os-services/disable",
                             json={"host": "compute2", "binary": "nova-compute"})
    assert r.status_code == 200
    running = await boot(stack, "drain-running")
    stopped = await boot(stack, "drain-stopped")
    r = await stack.http.put(f"{C}/os-services/enable",
                             json={"host": "compute2", "binary": "nova-compute"})
    assert r.status_code == 200
    assert {running["OS-EXT-SRV-ATTR:host"], stopped["OS-EXT-SRV-ATTR:host"]} == {"compute1"}
    r = await stack.http.post(f"{C}/servers/{stopped['id']}/action", json={"os-stop": None})
    assert r.status_code == 202
    await stack.wait_for_status(stopped["id"], "SHUTOFF")

    code, out, err = await nimbus(stack, "host", "evacuate", "compute1", "--wait",
                                  "--timeout", "60")
    assert code == 0, out + err
    assert "live-migration" in out and "completed on compute2" in out
    assert "confirmed on compute2" in out
    moved = await stack.wait_for_status(running["id"], "ACTIVE")
    assert moved["OS-EXT-SRV-ATTR:host"] == "compute2"
    still = await stack.wait_for_status(stopped["id"], "SHUTOFF")
    assert still["OS-EXT-SRV-ATTR:host"] == "compute2"
    assert await guest_states(stack, running["id"]) == {"compute1": "absent",
                                                        "compute2": "running"}
    assert await guest_states(stack, stopped["id"]) == {"compute1": "absent",
                                                        "compute2": "shutoff"}

    async def drained() -> dict[str, int] | None:
        now = await claims(stack)
        return now if now["compute1"] == 0 else None
    await eventually(drained, what="nothing claimed on compute1")
    services = (await stack.http.get(f"{C}/os-services")).json()["services"]
    assert {s["host"]: s["status"] for s in services}["compute1"] == "disabled"
    code, _, err = await nimbus(stack, "host", "evacuate", "nohost")
    assert code == 1 and "host nohost is not registered" in err

"""The network worker's reconcile and power loss over real NATS and
PostgreSQL, on the strict fake host: after a power loss it renders the log's
plan again when asked, says so, and then has nothing to do; a host that
fails is said in the answer and asked again next time."""

from __future__ import annotations

import asyncio

import msgspec

from commands.messages import Caller
from commands.services import Commands
from messaging.nats import connect, request
from messaging.subjects import Subjects
from messaging.wire import PowerLost, Reconciled, ReconcileRequest
from projections import relay
from tests.support.polling import eventually
from workers.network import worker
from workers.network.fake import FakeNetworkHost

OWNER = Caller(user_id="u1", project_id="p1")


async def test_a_network_host_renders_its_plan_again_after_a_power_loss_once(
        database_url: str, nats_url: str, subject_prefix: str) -> None:
    cloud = Commands.open(database_url, [])
    nets = cloud.networks
    subjects = Subjects(subject_prefix)
    stop = asyncio.Event()
    host = FakeNetworkHost()
    nc = await connect(nats_url)
    tasks = [asyncio.ensure_future(relay.run(database_url, nats_url, subjects, stop)),
             asyncio.ensure_future(worker.serve(nc, subjects, "network1", host, stop))]

    async def reconcile(dry_run: bool) -> Reconciled:
        asked = msgspec.json.encode(ReconcileRequest(dry_run=dry_run))
        reply = await request(nc, subjects.reconcile("network1"), asked, timeout=15)
        return msgspec.json.decode(reply, type=Reconciled)

    try:
        private = nets.create_network(OWNER, "net", name="private").state.id
        nets.create_subnet(OWNER, "sub", private, name="", cidr="10.0.0.0/24")
        port = nets.create_port(OWNER, "port", private).state
        nets.bind_port(OWNER, "bind", port.id, device_id="server-1", host="compute1")

        async def served() -> bool:
            return host.rendered is not None and len(host.rendered.ports) == 1

        await eventually(served, what="the port rendered")
        held = host.observe()
        lost = msgspec.json.decode(
            await request(nc, subjects.power_loss("network1"), b"", timeout=15), type=PowerLost)
        assert (lost.role, len(lost.lost), host.rendered) == ("network", 1, None)

        planned = await reconcile(dry_run=True)
        assert planned.role == "network" and host.rendered is None
        assert planned.changes[:2] == [
            "render bridge br100 for 10.0.0.0/24 (gateway 10.0.0.1, dnsmasq)",
            f"render port tap{port.id[:11]} (10.0.0.2) on br100"]
        host.unavailable = True
        failed = await reconcile(dry_run=False)
        assert failed.changes == [f"cannot render the network plan of log position"
                                  f" {planned.position}: the network host is unavailable"]
        host.unavailable = False
        assert (await reconcile(dry_run=False)).changes == planned.changes
        assert host.observe() == held
        assert (await reconcile(dry_run=False)).changes == []
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await nc.close()
        cloud.close()

"""The network worker over real NATS and PostgreSQL: the log's network events
reach it through the relay, it renders one whole plan on its host, and the
ports it serves become ACTIVE once it reports; a restarted worker renders
nothing new and reports nothing again."""

from __future__ import annotations

import asyncio
import logging

import psycopg
import pytest

from commands import ingest
from commands.messages import Caller
from commands.network_reports import NetworkReports
from commands.services import Commands
from domain import security_group as sg
from messaging.nats import connect
from messaging.subjects import Subjects
from projections import relay
from runtime.logs import ContextFilter
from tests.support.polling import eventually
from workers.network import worker
from workers.network.plan import Applied, HostPlan, digest

OWNER = Caller(user_id="u1", project_id="p1")
ADMIN = Caller(user_id="admin", project_id="admin", is_admin=True)


class RecordingHost:
    """A network host that keeps the plans it was given and what it rendered."""

    def __init__(self) -> None:
        self.plans: list[HostPlan] = []
        self.rendered: str | None = None

    def apply(self, plan: HostPlan) -> Applied:
        self.plans.append(plan)
        rendered, self.rendered = self.rendered, digest(plan)
        return Applied(position=plan.position, digest=self.rendered,
                       changed=rendered != self.rendered)

    def observe(self) -> str | None:
        return self.rendered

    def power_loss(self) -> list[str]:
        lost, self.rendered = self.rendered, None
        return [] if lost is None else [lost]

    def close(self) -> None:
        pass


async def test_a_bound_port_is_rendered_with_its_group_and_floating_ip_then_goes_active(
        database_url: str, nats_url: str, subject_prefix: str,
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="workers.network.worker")
    caplog.handler.addFilter(ContextFilter())  # as runtime/logs.py puts it on every handler
    cloud = Commands.open(database_url, [])
    nets = cloud.networks
    subjects = Subjects(subject_prefix)
    stop = asyncio.Event()
    host = RecordingHost()
    reports = NetworkReports(nets, database_url)
    nc = await connect(nats_url)
    tasks = [
        asyncio.ensure_future(relay.run(database_url, nats_url, subjects, stop)),
        asyncio.ensure_future(ingest.run(cloud.instances, cloud.volumes, cloud.snapshots,
                                         cloud.backups, reports, nats_url, subjects, stop)),
        asyncio.ensure_future(worker.serve(nc, subjects, "network1", host, stop)),
    ]
    try:
        private = nets.create_network(OWNER, "net", name="private").state.id
        nets.create_subnet(OWNER, "sub", private, name="", cidr="10.0.0.0/24")
        public = nets.create_network(ADMIN, "pub", name="public", external=True).state.id
        nets.create_subnet(ADMIN, "pub-sub", public, name="", cidr="172.24.4.0/24")
        group = nets.create_security_group(OWNER, "sg", name="ssh").state.id
        nets.add_rule(OWNER, "sg-22", group, lambda rid: sg.rule(
            rule_id=rid, direction="ingress", protocol="tcp", port_range_min=22,
            port_range_max=22, remote_ip_prefix=None, remote_group_id=None))
        port = nets.create_port(OWNER, "port", private, security_groups=(group,)).state
        nets.bind_port(OWNER, "bind", port.id, device_id="server-1", host="compute1")
        fip = nets.create_floating_ip(OWNER, "fip", public, port_id=port.id).state

        async def active() -> bool:
            found = await asyncio.to_thread(nets.port, port.id, OWNER)
            return found.status == "ACTIVE"

        await eventually(active, what="the port ACTIVE")
        last = host.plans[-1]

        def reported() -> tuple[int, str] | None:
            with psycopg.connect(database_url) as conn:
                row = conn.execute("SELECT position, digest FROM network_hosts"
                                   " WHERE host = 'network1'").fetchone()
            return (int(row[0]), str(row[1])) if row else None

        # what it rendered is on record, for drift to be seen (later plans that
        # render the same, such as after the port's own activation, are not reported)
        async def recorded() -> tuple[int, str] | None:  # written just after the ports' events
            found = await asyncio.to_thread(reported)  # (an earlier render's report may come
            return found if found and found[1] == host.rendered else None  # first: wait on)

        on_record = await eventually(recorded, what="the last render's report on record")
        assert on_record[0] in {p.position for p in host.plans if digest(p) == host.rendered}
        assert [(n.bridge, n.cidr, n.gateway, [h.ip for h in n.hosts]) for n in last.networks] \
            == [("br100", "10.0.0.0/24", "10.0.0.1", ["10.0.0.2"])]
        (rendered,) = last.ports
        assert (rendered.mac, rendered.ip, rendered.device) == (
            port.mac_address, "10.0.0.2", f"tap{port.id[:11]}")
        assert rendered.rules is not None
        assert {(r.direction, r.protocol, r.port_min) for r in rendered.rules} == {
            ("egress", None, None), ("ingress", "tcp", 22)}
        assert [(f.floating_ip, f.fixed_ip) for f in last.floating] == [
            (fip.floating_ip_address, "10.0.0.2")]
        assert (last.public_cidr, last.public_gateway) == ("172.24.4.0/24", "172.24.4.1")
        # one line per plan applied, with the plan's log position in its context
        lines = [r for r in caplog.records if r.name == "workers.network.worker"
                 and "network plan of log position" in r.getMessage()]
        assert len(lines) == len(host.plans)
        assert [getattr(r, "position", None) for r in lines] == [p.position for p in host.plans]
        assert lines[-1].getMessage().endswith("1 networks, 1 ports, 1 floating IPs")
        # a worker started again folds the same log: same plan, nothing to report
        stop_again = asyncio.Event()
        again = RecordingHost()
        again.rendered = host.rendered
        nc2 = await connect(nats_url)
        restarted = asyncio.ensure_future(worker.serve(nc2, subjects, "network1", again,
                                                       stop_again))
        async def planned() -> bool:
            return bool(again.plans)

        await eventually(planned, what="a plan rendered by the restarted worker")
        assert digest(again.plans[-1]) == host.rendered
        stop_again.set()
        assert (await restarted).folded.inactive(again.plans[-1]) == []
        await nc2.close()
    finally:
        stop.set()
        await asyncio.gather(*tasks)
        await nc.close()
        reports.close()
        cloud.close()

"""A boot on networks: each instance gets a port with its own address in the
boot's transaction, bound to its host and named in the instance (its MAC and
bridge, for the hypervisor); a delete gives the boot's ports back and only
unbinds a port the user brought."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest

from commands.instances import instance_id_for
from commands.messages import BootInstance, Caller, DeleteInstance, NicRequest
from domain.errors import Conflict, InvalidInput, NotFound
from messaging.wire import HostOutcome
from tests.support.cloud import IMAGE, open_cloud

OWNER = Caller(user_id="u1", project_id="p1")


def boot(request_id: str, *nics: NicRequest, count: int = 1) -> BootInstance:
    return BootInstance(request_id=request_id, caller=OWNER, name="vm", flavor_ref="1",
                        image_ref=IMAGE, min_count=count, max_count=count, networks=list(nics))


def test_two_instances_of_one_boot_get_their_own_ports_and_addresses(database_url: str) -> None:
    cloud = open_cloud(database_url, ["h1"])
    try:
        nets = cloud.networks
        net = nets.create_network(OWNER, "net", name="private").state.id
        nets.create_subnet(OWNER, "sub", net, name="", cidr="10.0.0.0/24")
        cloud.instances.boot(boot("boot", NicRequest(network_id=net), count=2))
        network = nets.network(net, OWNER)
        assert sorted(a.ip for a in network.allocations.values()) == ["10.0.0.2", "10.0.0.3"]
        instances = [cloud.instances.instance(str(i), OWNER)
                     for i in _instance_ids("boot", 2)]
        for instance in instances:
            (nic,) = instance.nics
            port = nets.port(nic.port_id, OWNER)
            assert (port.device_id, port.binding_host, port.mac_address, nic.bridge) == (
                instance.id, instance.host, nic.mac, "br100")
        cloud.instances.act(DeleteInstance(request_id="del", caller=OWNER,
                                           instance_id=instances[0].id))
        left = nets.network(net, OWNER)
        assert [a.ip for a in left.allocations.values()] == [
            nets.port(instances[1].nics[0].port_id, OWNER).fixed_ips[0].ip_address]
    finally:
        cloud.close()


def test_a_users_own_port_is_bound_then_only_unbound_when_the_server_goes(
        database_url: str) -> None:
    cloud = open_cloud(database_url, ["h1"])
    try:
        nets = cloud.networks
        net = nets.create_network(OWNER, "net", name="private").state.id
        nets.create_subnet(OWNER, "sub", net, name="", cidr="10.0.0.0/24")
        port = nets.create_port(OWNER, "port", net, fixed_ip="10.0.0.50").state
        accepted = cloud.instances.boot(boot("boot", NicRequest(port_id=port.id)))
        assert nets.port(port.id, OWNER).device_id == accepted.instance_id
        with pytest.raises(Conflict, match="still in use"):  # one server per port
            cloud.instances.boot(boot("boot-2", NicRequest(port_id=port.id)))
        with pytest.raises(InvalidInput, match="single configured port ID"):
            cloud.instances.boot(boot("boot-3", NicRequest(port_id=port.id), count=2))
        cloud.instances.act(DeleteInstance(request_id="del", caller=OWNER,
                                           instance_id=accepted.instance_id))
        kept = nets.port(port.id, OWNER)
        assert (kept.device_id, kept.fixed_ips[0].ip_address) == ("", "10.0.0.50")
    finally:
        cloud.close()


def test_a_boot_asking_for_a_taken_address_writes_nothing(database_url: str) -> None:
    cloud = open_cloud(database_url, ["h1"])
    try:
        nets = cloud.networks
        net = nets.create_network(OWNER, "net", name="private").state.id
        nets.create_subnet(OWNER, "sub", net, name="", cidr="10.0.0.0/24")
        nets.create_port(OWNER, "port", net, fixed_ip="10.0.0.7")
        with pytest.raises(Conflict, match=r"10\.0\.0\.7 is in use"):
            cloud.instances.boot(boot("boot", NicRequest(network_id=net, fixed_ip="10.0.0.7")))
        with pytest.raises(NotFound):
            cloud.instances.instance(str(_instance_ids("boot", 1)[0]), OWNER)
    finally:
        cloud.close()


def _instance_ids(request_id: str, count: int) -> list[uuid.UUID]:
    return [instance_id_for(request_id, i) for i in range(count)]


@pytest.mark.parametrize("first", ["guest", "port"])
def test_a_boot_ends_once_its_guest_runs_and_its_port_is_served_whichever_comes_first(
        database_url: str, first: str) -> None:
    cloud = open_cloud(database_url, ["h1"])
    try:
        nets = cloud.networks
        net = nets.create_network(OWNER, "net", name="private").state.id
        nets.create_subnet(OWNER, "sub", net, name="", cidr="10.0.0.0/24")
        accepted = cloud.instances.boot(boot("boot", NicRequest(network_id=net)))
        instance = cloud.instances.instance(accepted.instance_id, OWNER)
        (nic,) = instance.nics

        def guest_runs() -> None:
            cloud.instances.record_outcome(HostOutcome(
                instance_id=instance.id, request_id="boot", host=instance.host, ok=True,
                at=datetime.now(UTC)))

        def port_served() -> None:
            nets.activate_ports("network1", [nic.port_id], "network-network1-9")

        steps = [guest_runs, port_served] if first == "guest" else [port_served, guest_runs]
        steps[0]()
        assert cloud.instances.instance(instance.id, OWNER).vm_state == "building"
        steps[1]()
        done = cloud.instances.instance(instance.id, OWNER)
        assert (done.vm_state, done.task_state, done.plugged) == (
            "active", None, frozenset({nic.port_id}))
        steps[0]()  # a report delivered again changes nothing
        assert cloud.instances.instance(instance.id, OWNER).vm_state == "active"
    finally:
        cloud.close()


def test_a_fixed_ip_holds_one_floating_ip_and_a_deleted_server_lets_its_floating_ip_go(
        database_url: str) -> None:
    cloud = open_cloud(database_url, ["h1"])
    admin = Caller(user_id="admin", project_id="admin", is_admin=True)
    try:
        nets = cloud.networks
        net = nets.create_network(OWNER, "net", name="private").state.id
        nets.create_subnet(OWNER, "sub", net, name="", cidr="10.0.0.0/24")
        public = nets.create_network(admin, "pub", name="public", external=True).state.id
        nets.create_subnet(admin, "pub-sub", public, name="", cidr="172.24.4.0/24")
        accepted = cloud.instances.boot(boot("boot", NicRequest(network_id=net)))
        (nic,) = cloud.instances.instance(accepted.instance_id, OWNER).nics
        first = nets.create_floating_ip(OWNER, "fip-1", public, port_id=nic.port_id).state
        second = nets.create_floating_ip(OWNER, "fip-2", public).state
        with pytest.raises(Conflict, match="already has a floating IP"):
            nets.update_floating_ip(OWNER, "fip-2-on", second.id, port_id=nic.port_id)
        assert nets.port(nic.port_id, OWNER).floating == {
            first.fixed_ip_address: first.id}
        cloud.instances.act(DeleteInstance(request_id="del", caller=OWNER,
                                           instance_id=accepted.instance_id))
        let_go = nets.floating_ip(first.id, OWNER)
        assert (let_go.port_id, let_go.fixed_ip_address) == (None, None)
        nets.update_floating_ip(OWNER, "fip-2-free", second.id, port_id=None)  # nothing to do
    finally:
        cloud.close()

"""openstacksdk, used as a library, drives a running nimbus.

The SDK is synchronous, so each scenario runs in a worker thread
(``asyncio.to_thread``) while the stack keeps serving in the test's loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, TypeVar

import openstack
from openstack.connection import Connection

from tests.support.clients import REGION, sdk_auth
from tests.support.stack import RunningStack

IMAGE = "cirros-0.6.2-x86_64-disk"
T = TypeVar("T")


def connect(stack: RunningStack) -> Connection:
    conn: Connection = openstack.connect(
        auth=sdk_auth(stack), auth_type="password", region_name=REGION,
        identity_api_version="3", load_yaml_config=False, load_envvars=False,
    )
    return conn


async def in_thread(stack: RunningStack, scenario: Callable[[Connection], T]) -> T:
    def run() -> T:
        conn = connect(stack)
        try:
            return scenario(conn)
        finally:
            conn.close()

    return await asyncio.to_thread(run)


async def test_the_sdk_boots_waits_for_lists_and_deletes_a_server(
        running_stack: RunningStack) -> None:
    def scenario(conn: Connection) -> dict[str, Any]:
        flavor = conn.compute.find_flavor("m1.tiny", ignore_missing=False)
        image = conn.image.find_image(IMAGE, ignore_missing=False)
        server = conn.compute.create_server(name="vm-sdk", flavor_id=flavor.id,
                                            image_id=image.id)
        server = conn.compute.wait_for_server(server, status="ACTIVE", interval=0.5, wait=30)
        listed = [s.id for s in conn.compute.servers()]
        conn.compute.delete_server(server)
        conn.compute.wait_for_delete(server, interval=0.5, wait=30)
        after = [s.id for s in conn.compute.servers()]
        return {"id": server.id, "status": server.status, "flavor": flavor.name,
                "listed": listed, "after": after}

    seen = await in_thread(running_stack, scenario)
    assert seen["status"] == "ACTIVE" and seen["flavor"] == "m1.tiny"
    assert seen["listed"] == [seen["id"]] and seen["after"] == []
    r = await running_stack.http.get(f"/compute/v2.1/servers/{seen['id']}")
    assert r.status_code == 404


async def test_the_sdk_lists_the_default_flavors_and_images(
        running_stack: RunningStack) -> None:
    def scenario(conn: Connection) -> tuple[dict[str, int], list[str]]:
        flavors = {f.name: f.ram for f in conn.compute.flavors()}
        images = [i.name for i in conn.image.images()]
        return flavors, images

    flavors, images = await in_thread(running_stack, scenario)
    assert flavors["m1.tiny"] == 512 and "m1.xlarge" in flavors
    assert IMAGE in images


async def test_the_sdk_creates_lists_and_deletes_a_generated_keypair(
        running_stack: RunningStack) -> None:
    def scenario(conn: Connection) -> tuple[str, str, list[str], list[str]]:
        created = conn.compute.create_keypair(name="sdk-key")
        listed = [k.name for k in conn.compute.keypairs()]
        conn.compute.delete_keypair("sdk-key", ignore_missing=False)
        return created.private_key, created.public_key, listed, [
            k.name for k in conn.compute.keypairs()]

    private, public, listed, after = await in_thread(running_stack, scenario)
    assert "PRIVATE KEY" in private and public.startswith("ssh-")
    assert listed == ["sdk-key"] and after == []


async def test_the_sdk_reads_absolute_limits_with_usage(running_stack: RunningStack) -> None:
    r = await running_stack.http.post("/compute/v2.1/servers", json={
        "server": {"name": "vm-lim", "imageRef": IMAGE, "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    await running_stack.wait_for_status(r.json()["server"]["id"], "ACTIVE")

    def scenario(conn: Connection) -> dict[str, Any]:
        absolute = conn.compute.get_limits().absolute
        return {"instances": absolute.instances, "used": absolute.instances_used,
                "cores": absolute.total_cores, "ram_used": absolute.total_ram_used}

    limits = await in_thread(running_stack, scenario)
    assert limits == {"instances": 10, "used": 1, "cores": 20, "ram_used": 512}


async def test_the_sdk_makes_finds_and_removes_networks_subnets_ports_and_routers(
        running_stack: RunningStack) -> None:
    def scenario(conn: Connection) -> dict[str, Any]:
        public = conn.network.create_network(name="public", is_router_external=True)
        conn.network.create_subnet(network_id=public.id, cidr="172.24.6.0/24", ip_version=4)
        net = conn.network.create_network(name="sdk-net")
        subnet = conn.network.create_subnet(network_id=net.id, cidr="10.6.0.0/24",
                                            ip_version=4, name="sdk-sub")
        port = conn.network.create_port(network_id=net.id, fixed_ips=[
            {"subnet_id": subnet.id, "ip_address": "10.6.0.7"}])
        router = conn.network.create_router(name="sdk-r",
                                            external_gateway_info={"network_id": public.id})
        conn.network.add_interface_to_router(router, subnet=subnet.id)
        seen = {
            "found": conn.network.find_network("sdk-net", ignore_missing=False).id,
            "subnets": [s.id for s in conn.network.subnets(network_id=net.id)],
            "ports": sorted(p.device_owner for p in conn.network.ports(network_id=net.id)),
            "ip": conn.network.get_port(port.id).fixed_ips[0]["ip_address"],
            "gateway": conn.network.get_router(router.id).external_gateway_info,
            "router_ext": conn.network.find_extension("router") is not None,
            "multihoming": conn.network.find_extension("external-gateway-multihoming"),
        }
        conn.network.remove_interface_from_router(router, subnet=subnet.id)
        conn.network.delete_router(router)
        conn.network.delete_port(port)
        conn.network.delete_subnet(subnet)
        conn.network.delete_network(net)
        seen["after"] = sorted(n.name for n in conn.network.networks())
        return seen | {"net": net.id, "subnet": subnet.id, "public": public.id}

    seen = await in_thread(running_stack, scenario)
    assert seen["found"] == seen["net"] and seen["subnets"] == [seen["subnet"]]
    assert seen["ports"] == ["", "network:router_interface"] and seen["ip"] == "10.6.0.7"
    assert seen["gateway"]["network_id"] == seen["public"]
    assert seen["router_ext"] is True and seen["multihoming"] is None
    assert seen["after"] == ["private", "public"]  # the cloud's default network stays

"""Neutron v2.0 over HTTP: networks, subnets, ports and routers made, listed with
the filters the clients send, shown and deleted; bad input refused in Neutron's
words with nothing written; a server's ports shown as its ``addresses``."""

from __future__ import annotations

from typing import Any

import httpx

from tests.e2e.test_flavors_api import member_token
from tests.support.stack import RunningStack

N = "/network/v2.0"


def neutron_error(r: httpx.Response, status: int, kind: str) -> str:
    assert r.status_code == status, r.text
    error = r.json()["NeutronError"]
    assert error["type"] == kind and error["detail"] == "", error
    message: str = error["message"]
    return message


async def post(http: httpx.AsyncClient, what: str, body: dict[str, Any],
               headers: dict[str, str] | None = None) -> dict[str, Any]:
    r = await http.post(f"{N}/{what}s", json={what: body}, headers=headers)
    assert r.status_code == 201, r.text
    assert int(r.headers["Nimbus-Log-Position"]) > 0
    made: dict[str, Any] = r.json()[what]
    return made


async def network_with_subnet(http: httpx.AsyncClient, name: str, cidr: str,
                              **extra: Any) -> tuple[dict[str, Any], dict[str, Any]]:
    net = await post(http, "network", {"name": name, **extra})
    sub = await post(http, "subnet", {"network_id": net["id"], "cidr": cidr,
                                      "ip_version": 4, "name": f"{name}-sub"})
    return net, sub


async def test_a_network_with_a_subnet_and_a_port_is_listed_filtered_shown_and_deleted(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    net, sub = await network_with_subnet(http, "net-one", "10.1.0.0/24")
    assert (net["status"], net["router:external"], net["shared"], net["mtu"]) == (
        "ACTIVE", False, False, 1500)
    assert net["provider:network_type"] == "flat"  # the default manager, flatdhcp
    assert net["provider:physical_network"] == "br101"  # the default network has br100
    assert (sub["gateway_ip"], sub["allocation_pools"]) == (
        "10.1.0.1", [{"start": "10.1.0.2", "end": "10.1.0.254"}])

    listed = (await http.get(f"{N}/networks", params={"name": "net-one"})).json()["networks"]
    assert [n["id"] for n in listed] == [net["id"]] and listed[0]["subnets"] == [sub["id"]]
    assert (await http.get(f"{N}/networks", params={"name": "other"})).json() == {
        "networks": []}
    only = (await http.get(f"{N}/networks/{net['id']}", params={"fields": ["id", "name"]}))
    assert only.json() == {"network": {"id": net["id"], "name": "net-one"}}

    port = await post(http, "port", {"network_id": net["id"], "name": "p1", "fixed_ips": [
        {"subnet_id": sub["id"], "ip_address": "10.1.0.50"}]})
    assert port["fixed_ips"] == [{"subnet_id": sub["id"], "ip_address": "10.1.0.50"}]
    assert port["mac_address"].startswith("fa:16:3e:") and port["status"] == "DOWN"
    second = await post(http, "port", {"network_id": net["id"]})
    assert second["fixed_ips"][0]["ip_address"] == "10.1.0.2"
    ports = (await http.get(f"{N}/ports", params={"network_id": net["id"]})).json()["ports"]
    assert {p["id"] for p in ports} == {port["id"], second["id"]}
    shown = (await http.get(f"{N}/ports/{port['id']}")).json()["port"]
    assert shown["name"] == "p1" and shown["binding:host_id"] == ""
    r = await http.put(f"{N}/ports/{port['id']}", json={"port": {"name": "renamed"}})
    assert r.status_code == 200 and r.json()["port"]["name"] == "renamed"

    in_use = await http.delete(f"{N}/networks/{net['id']}")
    assert "ports still in use" in neutron_error(in_use, 409, "NetworkInUse")
    for p in (port, second):
        assert (await http.delete(f"{N}/ports/{p['id']}")).status_code == 204
    assert (await http.delete(f"{N}/subnets/{sub['id']}")).status_code == 204
    assert (await http.delete(f"{N}/networks/{net['id']}")).status_code == 204
    neutron_error(await http.get(f"{N}/networks/{net['id']}"), 404, "NetworkNotFound")
    neutron_error(await http.get(f"{N}/subnets/{sub['id']}"), 404, "SubnetNotFound")
    neutron_error(await http.get(f"{N}/ports/{port['id']}"), 404, "PortNotFound")
    assert (await http.get(f"{N}/ports", params={"network_id": net["id"]})).json() == {
        "ports": []}


async def test_bad_input_is_refused_in_neutrons_words_and_writes_nothing(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    net, sub = await network_with_subnet(http, "a", "10.2.0.0/24")
    other = await post(http, "network", {"name": "b"})

    refusals = [
        (await http.post(f"{N}/subnets", json={"subnet": {
            "network_id": other["id"], "cidr": "10.2.0.128/25", "ip_version": 4}}),
         400, "BadRequest", "overlaps with another subnet"),
        (await http.post(f"{N}/ports", json={"port": {
            "network_id": net["id"], "fixed_ips": [{"ip_address": "10.9.0.5"}]}}),
         400, "BadRequest", "is not a valid IP for the specified subnet"),
        (await http.post(f"{N}/ports", json={"port": {
            "network_id": net["id"], "fixed_ips": [{"ip_address": "10.2.0.1"}]}}),
         400, "BadRequest", "is not a valid IP"),  # the gateway's
        (await http.post(f"{N}/networks", json={"network": {"name": "x", "color": "red"}}),
         400, "BadRequest", "color"),
        (await http.post(f"{N}/subnets", json={"subnet": {
            "network_id": other["id"], "cidr": "10.3.0.0/24", "ip_version": 6}}),
         400, "BadRequest", "ip_version"),
        (await http.post(f"{N}/ports", json={"port": {
            "network_id": "00000000-0000-0000-0000-000000000000"}}),
         404, "NetworkNotFound", "could not be found"),
        (await http.get(f"{N}/networks", params={"shared": "maybe"}),
         400, "BadRequest", "cannot be converted to boolean"),
    ]
    for r, status, kind, words in refusals:
        assert words in neutron_error(r, status, kind), r.text
    taken = await post(http, "port", {"network_id": net["id"],
                                      "fixed_ips": [{"ip_address": "10.2.0.9"}]})
    again = await http.post(f"{N}/ports", json={"port": {
        "network_id": net["id"], "fixed_ips": [{"ip_address": "10.2.0.9"}]}})
    assert "10.2.0.9 is in use" in neutron_error(again, 409, "IpAddressInUse")

    tiny = await post(http, "subnet", {"network_id": other["id"], "cidr": "10.7.0.0/30"})
    assert tiny["allocation_pools"] == [{"start": "10.7.0.2", "end": "10.7.0.2"}]
    last = await post(http, "port", {"network_id": other["id"]})
    full = await http.post(f"{N}/ports", json={"port": {"network_id": other["id"]}})
    assert "No more IP addresses" in neutron_error(full, 409, "IpAddressGenerationFailure")

    member = member_token(running_stack, "proj-a")
    neutron_error(await http.get(f"{N}/networks/{net['id']}", headers=member), 404,
                  "NetworkNotFound")
    neutron_error(await http.delete(f"{N}/networks/{net['id']}", headers=member), 404,
                  "NetworkNotFound")
    neutron_error(await http.post(f"{N}/ports", json={"port": {"network_id": net["id"]}},
                                  headers=member), 404, "NetworkNotFound")
    neutron_error(await http.delete(f"{N}/ports/{taken['id']}", headers=member), 404,
                  "PortNotFound")
    seen = (await http.get(f"{N}/networks", headers=member)).json()["networks"]
    assert [n["name"] for n in seen] == ["private"]  # the cloud's shared default only

    # every refusal wrote nothing: only what was accepted is there
    names = {n["name"] for n in (await http.get(f"{N}/networks")).json()["networks"]}
    assert names == {"private", "a", "b"}  # the cloud's default network and these
    mine = {"network_id": [net["id"], other["id"]]}
    assert [s["id"] for s in (await http.get(f"{N}/subnets", params=mine)
                              ).json()["subnets"]] == [sub["id"], tiny["id"]]
    assert [p["id"] for p in (await http.get(f"{N}/ports", params=mine)).json()["ports"]] == [
        taken["id"], last["id"]]


async def test_a_shared_or_external_network_is_seen_by_every_project_but_changed_by_its_own(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    public, _ = await network_with_subnet(http, "public", "172.24.4.0/24",
                                          **{"router:external": True})
    shared = await post(http, "network", {"name": "shared", "shared": True})
    member = member_token(running_stack, "proj-b")
    seen = (await http.get(f"{N}/networks", headers=member)).json()["networks"]
    assert {n["name"] for n in seen} == {"private", "public", "shared"}
    assert "provider:network_type" not in seen[0]  # admin only, as in Neutron
    external = (await http.get(f"{N}/networks", params={"router:external": "True"},
                               headers=member)).json()["networks"]
    assert [n["id"] for n in external] == [public["id"]]
    neutron_error(await http.put(f"{N}/networks/{shared['id']}", json={
        "network": {"name": "mine"}}, headers=member), 404, "NetworkNotFound")
    r = await http.put(f"{N}/networks/{shared['id']}", json={"network": {"name": "ours"}})
    assert r.status_code == 200 and r.json()["network"]["name"] == "ours"
    mine = await post(http, "network", {"name": "mine"}, headers=member)
    assert mine["project_id"] == "proj-b" and mine["tenant_id"] == "proj-b"


async def test_a_router_joins_subnets_and_goes_out_through_an_external_network(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    public, _ = await network_with_subnet(http, "public", "172.24.5.0/24",
                                          **{"router:external": True})
    net, sub = await network_with_subnet(http, "inside", "10.4.0.0/24")
    router = await post(http, "router", {"name": "r1"})
    assert router["external_gateway_info"] is None and router["status"] == "ACTIVE"
    R = f"{N}/routers/{router['id']}"

    r = await http.put(f"{R}/add_router_interface", json={"subnet_id": sub["id"]})
    assert r.status_code == 200, r.text
    joined = r.json()
    assert (joined["subnet_id"], joined["network_id"]) == (sub["id"], net["id"])
    ports = (await http.get(f"{N}/ports", params={"device_id": router["id"]})).json()["ports"]
    assert [p["id"] for p in ports] == [joined["port_id"]]
    assert ports[0]["device_owner"] == "network:router_interface"
    assert ports[0]["fixed_ips"][0]["ip_address"] == "10.4.0.1"  # the subnet's gateway
    again = await http.put(f"{R}/add_router_interface", json={"subnet_id": sub["id"]})
    neutron_error(again, 409, "Conflict")
    neutron_error(await http.delete(f"{N}/ports/{joined['port_id']}"), 409, "Conflict")
    neutron_error(await http.delete(R), 409, "RouterInUse")

    r = await http.put(R, json={"router": {"external_gateway_info": {
        "network_id": public["id"]}}})
    assert r.status_code == 200, r.text
    shown = (await http.get(R)).json()["router"]
    assert shown["external_gateway_info"]["network_id"] == public["id"]
    inside = await http.put(R, json={"router": {"external_gateway_info": {
        "network_id": net["id"]}}})
    neutron_error(inside, 400, "BadRequest")
    r = await http.put(R, json={"router": {"external_gateway_info": {}}})
    assert r.status_code == 200 and r.json()["router"]["external_gateway_info"] is None

    r = await http.put(f"{R}/remove_router_interface", json={"subnet_id": sub["id"]})
    assert r.status_code == 200, r.text
    assert (await http.get(f"{N}/ports", params={"device_id": router["id"]})).json() == {
        "ports": []}
    assert (await http.delete(R)).status_code == 204
    neutron_error(await http.get(R), 404, "RouterNotFound")
    assert (await http.get(f"{N}/routers")).json() == {"routers": []}


async def test_the_extension_list_names_what_is_served_and_nothing_else(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    aliases = {e["alias"] for e in (await http.get(f"{N}/extensions")).json()["extensions"]}
    assert {"external-net", "router", "quotas", "binding", "security-group"} <= aliases
    assert "external-gateway-multihoming" not in aliases and "port-security" not in aliases
    assert "agent" in aliases  # the network hosts, as agents
    assert (await http.get(f"{N}/extensions/router")).json()["extension"]["alias"] == "router"
    neutron_error(await http.get(f"{N}/extensions/port-security"), 404, "ExtensionNotFound")


async def test_a_servers_ports_are_its_addresses_and_nova_lists_the_networks(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    net, _ = await network_with_subnet(http, "net-five", "10.5.0.0/24")
    r = await http.post("/compute/v2.1/servers", json={"server": {
        "name": "vm", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1"}})
    assert r.status_code == 202, r.text
    server_id = r.json()["server"]["id"]
    port = await post(http, "port", {"network_id": net["id"], "device_id": server_id,
                                     "device_owner": "compute:nova"})
    shown = (await http.get(f"/compute/v2.1/servers/{server_id}")).json()["server"]
    assert shown["addresses"] == {"net-five": [{
        "version": 4, "addr": "10.5.0.2", "OS-EXT-IPS:type": "fixed",
        "OS-EXT-IPS-MAC:mac_addr": port["mac_address"]}]}
    detail = (await http.get("/compute/v2.1/servers/detail")).json()["servers"]
    assert detail[0]["addresses"] == shown["addresses"]
    nova = (await http.get("/compute/v2.1/os-networks")).json()["networks"]
    assert nova[-1] == {"id": net["id"], "label": "net-five", "cidr": "10.5.0.0/24"}
    assert nova[0]["label"] == "private"  # the cloud's default network, made first
    r = await http.get(f"/compute/v2.1/os-networks/{net['id']}")
    assert r.json()["network"]["label"] == "net-five"

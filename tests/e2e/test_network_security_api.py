"""Floating IPs and security groups over Neutron's API with the whole stack:
a ``netadmin`` allocates, associates and releases, a member may only look;
bad requests are refused in Neutron's shape and write nothing; the quota's
11th floating IP is refused; Nova's server actions change the server's ports."""

from __future__ import annotations

from typing import Any

import psycopg
import pytest

from api.tokens import TokenSigner
from commands.messages import Caller
from commands.services import Commands
from domain.port import Port
from projections.log import head
from runtime import credentials
from tests.support.stack import RunningStack

N = "/network/v2.0"
C = "/compute/v2.1"
ADMIN = Caller(user_id="admin", project_id="admin", is_admin=True)


def token(stack: RunningStack, project_id: str, *roles: str) -> dict[str, str]:
    signer = TokenSigner(credentials.token_secret(stack.settings), 3600)
    issued, _ = signer.issue(user_id=f"user-{project_id}-{'-'.join(roles)}",
                             user_name=f"user-{project_id}", project_id=project_id,
                             project_name=project_id, roles=list(roles))
    return {"X-Auth-Token": issued}


def log_head(stack: RunningStack) -> int:
    with psycopg.connect(stack.database_url) as conn:
        return head(conn)


class Networks:
    """An external network, and a private one of project p1 with a port on it,
    made on the write side (their own routes are not these)."""

    def __init__(self, stack: RunningStack) -> None:
        cloud = Commands.open(stack.database_url, [])
        try:
            nets = cloud.networks
            owner = Caller(user_id="u1", project_id="p1")
            self.public = nets.create_network(ADMIN, "public", name="public",
                                              external=True).state.id
            nets.create_subnet(ADMIN, "public-sub", self.public, name="",
                               cidr="172.24.4.0/24")
            self.private = nets.create_network(owner, "private", name="private").state.id
            nets.create_subnet(owner, "private-sub", self.private, name="",
                               cidr="10.20.0.0/24")
            port = nets.create_port(owner, "port-1", self.private).state
            self.port, self.fixed_ip = port.id, port.fixed_ips[0].ip_address
        finally:
            cloud.close()


def ports_of(stack: RunningStack, server_id: str) -> list[Port]:
    """The server's ports as the write side holds them (the boot names them)."""
    cloud = Commands.open(stack.database_url, [])
    try:
        owner = Caller(user_id="u1", project_id="p1")
        nics = cloud.instances.instance(server_id, owner).nics
        return [cloud.networks.port(nic.port_id, owner) for nic in nics]
    finally:
        cloud.close()


def neutron_error(r: Any, status: int, kind: str, words: str) -> None:
    assert r.status_code == status, r.text
    error = r.json()["NeutronError"]
    assert (error["type"], words in error["message"], error["detail"]) == (kind, True, ""), \
        r.text


async def test_a_netadmin_allocates_associates_and_releases_floating_ips_up_to_the_quota(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    nets = Networks(running_stack)
    member = token(running_stack, "p1", "member")
    netadmin = token(running_stack, "p1", "member", "netadmin")
    before = log_head(running_stack)
    r = await http.post(f"{N}/floatingips", headers=member,
                        json={"floatingip": {"floating_network_id": nets.public}})
    neutron_error(r, 403, "PolicyNotAuthorized", "(rule:create_floatingip) is disallowed")
    assert log_head(running_stack) == before

    r = await http.post(f"{N}/floatingips", headers=netadmin,
                        json={"floatingip": {"floating_network_id": nets.public,
                                             "description": "web"}})
    assert r.status_code == 201, r.text
    made = r.json()["floatingip"]
    assert (made["status"], made["port_id"], made["project_id"], made["tenant_id"],
            made["router_id"]) == ("DOWN", None, "p1", "p1", None)
    address = made["floating_ip_address"]
    assert address.startswith("172.24.4.")
    # how the SDK finds a floating IP by its address: the address as an id, then a filter
    neutron_error(await http.get(f"{N}/floatingips/{address}", headers=member), 404,
                  "FloatingIPNotFound", "could not be found")
    found = (await http.get(f"{N}/floatingips", headers=member,
                            params={"floating_ip_address": address})).json()["floatingips"]
    assert [f["id"] for f in found] == [made["id"]]
    assert (await http.get(f"{N}/floatingips", headers=token(running_stack, "p2", "member"))
            ).json()["floatingips"] == []

    url = f"{N}/floatingips/{made['id']}"
    r = await http.put(url, headers=member, json={"floatingip": {"port_id": nets.port}})
    neutron_error(r, 403, "PolicyNotAuthorized", "update_floatingip")
    r = await http.put(url, headers=netadmin, json={"floatingip": {"port_id": nets.port}})
    assert r.status_code == 200, r.text
    assert (r.json()["floatingip"]["status"], r.json()["floatingip"]["fixed_ip_address"]) == (
        "ACTIVE", nets.fixed_ip)
    shown = (await http.get(url, headers=member)).json()["floatingip"]
    assert (shown["port_id"], shown["revision_number"]) == (nets.port, 1)
    assert [f["id"] for f in (await http.get(f"{N}/floatingips", headers=member, params={
        "port_id": nets.port})).json()["floatingips"]] == [made["id"]]

    # a second floating IP on the same fixed IP: the view knows the first holds it
    r = await http.post(f"{N}/floatingips", headers=netadmin,
                        json={"floatingip": {"floating_network_id": nets.public}})
    second = r.json()["floatingip"]["id"]
    before = log_head(running_stack)
    r = await http.put(f"{N}/floatingips/{second}", headers=netadmin,
                       json={"floatingip": {"port_id": nets.port}})
    neutron_error(r, 409, "Conflict", "already has a floating IP")
    assert log_head(running_stack) == before

    r = await http.put(url, headers=netadmin, json={"floatingip": {"port_id": None}})
    assert (r.status_code, r.json()["floatingip"]["status"]) == (200, "DOWN")
    assert (await http.get(url, headers=member)).json()["floatingip"]["port_id"] is None

    for n in range(8):  # ten in all: the default quota
        r = await http.post(f"{N}/floatingips", headers=netadmin,
                            json={"floatingip": {"floating_network_id": nets.public}})
        assert r.status_code == 201, (n, r.text)
    before = log_head(running_stack)
    r = await http.post(f"{N}/floatingips", headers=netadmin,
                        json={"floatingip": {"floating_network_id": nets.public}})
    neutron_error(r, 409, "OverQuota", "Quota exceeded for resources: ['floating_ip']")
    assert log_head(running_stack) == before
    nova = (await http.get(f"{C}/os-quota-sets/p1/detail", headers=member)).json()
    assert nova["quota_set"]["floating_ips"] == {"in_use": 10, "limit": 10, "reserved": 0}
    limits = (await http.get(f"{C}/limits", headers=member)).json()["limits"]["absolute"]
    assert (limits["totalFloatingIpsUsed"], limits["maxTotalFloatingIps"]) == (10, 10)
    neutron = (await http.get(f"{N}/quotas/p1/details.json", headers=member)).json()
    assert neutron["quota"]["floatingip"] == {"limit": 10, "used": 10, "reserved": 0}

    r = await http.delete(url, headers=member)
    neutron_error(r, 403, "PolicyNotAuthorized", "delete_floatingip")
    r = await http.delete(url, headers=netadmin)
    assert r.status_code == 204, r.text
    neutron_error(await http.get(url, headers=member), 404, "FloatingIPNotFound", made["id"])
    assert len((await http.get(f"{N}/floatingips", headers=member)).json()["floatingips"]) == 9


async def test_bad_floating_ip_and_security_group_requests_are_refused_and_write_nothing(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    nets = Networks(running_stack)
    netadmin = token(running_stack, "p1", "member", "netadmin")
    member = token(running_stack, "p1", "member")
    stranger = token(running_stack, "p2", "member", "netadmin")
    r = await http.post(f"{N}/security-groups", headers=netadmin,
                        json={"security_group": {"name": "web", "description": "frontends"}})
    assert r.status_code == 201, r.text
    group = r.json()["security_group"]
    assert [(x["direction"], x["ethertype"]) for x in group["security_group_rules"]] == [
        ("egress", "IPv4"), ("egress", "IPv6")]
    cloud = Commands.open(running_stack.database_url, [])
    try:  # a port that uses the group: it cannot be deleted
        cloud.networks.update_port(Caller(user_id="u1", project_id="p1"), "use-web",
                                   nets.port, security_groups=(group["id"],))
    finally:
        cloud.close()
    rules = f"{N}/security-group-rules"

    def new_rule(**fields: Any) -> dict[str, Any]:
        return {"security_group_rule": {"security_group_id": group["id"],
                                        "direction": "ingress", "protocol": "tcp", **fields}}

    before = log_head(running_stack)
    cases: list[tuple[str, str, dict[str, str], Any, int, str, str]] = [
        ("POST", f"{N}/floatingips", netadmin,
         {"floatingip": {"floating_network_id": nets.private}}, 400, "BadRequest",
         "is not a valid external network"),
        ("POST", f"{N}/floatingips", netadmin,
         {"floatingip": {"floating_network_id": nets.public, "colour": "red"}}, 400,
         "BadRequest", "'colour' was unexpected"),
        ("POST", f"{N}/floatingips", netadmin,
         {"floatingip": {"floating_network_id": nets.public, "project_id": "p2"}}, 400,
         "BadRequest", "requires admin privileges"),
        ("POST", f"{N}/security-groups", member, {"security_group": {"name": "x"}}, 403,
         "PolicyNotAuthorized", "(rule:create_security_group) is disallowed by policy"),
        ("POST", f"{N}/security-groups", netadmin, {"security_group": {"name": "x" * 256}},
         400, "BadRequest", "Invalid input for name."),
        ("POST", f"{N}/security-groups", netadmin, {"security_group": {"name": "default"}},
         409, "Conflict", "Default security group already exists."),
        ("POST", rules, member, new_rule(), 403, "PolicyNotAuthorized",
         "create_security_group_rule"),
        ("POST", rules, netadmin, new_rule(port_range_min=80, port_range_max=22), 400,
         "BadRequest", "port_range_min must be <= port_range_max"),
        ("POST", rules, netadmin, new_rule(port_range_min=0, port_range_max=22), 400,
         "BadRequest", "Invalid value for port 0"),
        ("POST", rules, netadmin, new_rule(port_range_min="ssh"), 400, "BadRequest",
         "'ssh' is not an integer"),
        ("POST", rules, netadmin, new_rule(protocol="gre"), 400, "BadRequest",
         "protocol gre not supported"),
        ("POST", rules, netadmin, new_rule(protocol="icmp", port_range_min=8,
                                           port_range_max=300), 400, "BadRequest",
         "Invalid value for ICMP code"),
        ("POST", rules, netadmin, new_rule(direction="sideways"), 400, "BadRequest",
         "Invalid input for direction"),
        ("POST", rules, netadmin, new_rule(remote_ip_prefix="10.0.0.0/33"), 400,
         "BadRequest", "not a valid IP prefix"),
        ("DELETE", f"{N}/security-groups/{group['id']}", member, None, 403,
         "PolicyNotAuthorized", "delete_security_group"),
        ("DELETE", f"{N}/security-groups/{group['id']}", netadmin, None, 409,
         "SecurityGroupInUse", "in use"),
        # another project's group is not there for p2
        ("GET", f"{N}/security-groups/{group['id']}", stranger, None, 404,
         "SecurityGroupNotFound", "does not exist"),
        ("DELETE", f"{N}/security-groups/{group['id']}", stranger, None, 404,
         "SecurityGroupNotFound", "does not exist"),
        ("POST", rules, stranger, new_rule(), 404, "SecurityGroupNotFound", "does not exist"),
        ("POST", rules, netadmin, new_rule(remote_group_id=group["id"],
                                           remote_ip_prefix="10.0.0.0/8"), 400,
         "BadRequest", "Only remote_ip_prefix or remote_group_id"),
        ("DELETE", f"{rules}/{group['security_group_rules'][0]['id']}", stranger, None, 404,
         "SecurityGroupRuleNotFound", "does not exist"),
        ("GET", f"{N}/security-groups/nope", netadmin, None, 404, "SecurityGroupNotFound",
         "nope"),
    ]
    for method, url, who, body, status, kind, words in cases:
        r = await http.request(method, url, headers=who, json=body)
        neutron_error(r, status, kind, words)
    assert log_head(running_stack) == before
    assert (await http.get(f"{N}/security-groups", headers=stranger)).json()[
        "security_groups"] == []


async def test_rules_are_added_listed_and_removed_and_a_group_renamed_and_deleted(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    netadmin = token(running_stack, "p1", "member", "netadmin")
    r = await http.post(f"{N}/security-groups", headers=netadmin,
                        json={"security_group": {"name": "db"}})
    group = r.json()["security_group"]
    r = await http.post(f"{N}/security-group-rules", headers=netadmin, json={
        "security_group_rule": {"security_group_id": group["id"], "direction": "ingress",
                                "protocol": "6", "port_range_min": "5432",
                                "port_range_max": 5432, "remote_ip_prefix": "10.0.0.0/24"}})
    assert r.status_code == 201, r.text
    rule = r.json()["security_group_rule"]
    assert (rule["protocol"], rule["port_range_min"], rule["port_range_max"],
            rule["security_group_id"], rule["project_id"]) == (
        "tcp", 5432, 5432, group["id"], "p1")
    again = await http.post(f"{N}/security-group-rules", headers=netadmin, json={
        "security_group_rule": {"security_group_id": group["id"], "direction": "ingress",
                                "protocol": "tcp", "port_range_min": 5432,
                                "port_range_max": 5432, "remote_ip_prefix": "10.0.0.0/24"}})
    neutron_error(again, 409, "Conflict", f"Rule id is {rule['id']}")
    listed = (await http.get(f"{N}/security-group-rules", headers=netadmin, params={
        "security_group_id": group["id"], "direction": "ingress"})).json()
    assert [x["id"] for x in listed["security_group_rules"]] == [rule["id"]]
    shown = (await http.get(f"{N}/security-groups", headers=netadmin,
                            params={"name": "db"})).json()["security_groups"]
    assert [len(g["security_group_rules"]) for g in shown] == [3]
    assert shown[0]["revision_number"] == 1

    r = await http.put(f"{N}/security-groups/{group['id']}", headers=netadmin,
                       json={"security_group": {"name": "postgres"}})
    assert (r.status_code, r.json()["security_group"]["name"]) == (200, "postgres")
    r = await http.delete(f"{N}/security-group-rules/{rule['id']}", headers=netadmin)
    assert r.status_code == 204, r.text
    neutron_error(await http.get(f"{N}/security-group-rules/{rule['id']}", headers=netadmin),
                  404, "SecurityGroupRuleNotFound", rule["id"])
    r = await http.delete(f"{N}/security-groups/{group['id']}", headers=netadmin)
    assert r.status_code == 204, r.text
    assert (await http.get(f"{N}/security-groups", headers=netadmin)).json()[
        "security_groups"] == []
    quota = (await http.get(f"{C}/os-quota-sets/p1/detail", headers=netadmin)).json()
    assert quota["quota_set"]["security_groups"]["in_use"] == 0


@pytest.mark.timeout(120)
async def test_nova_adds_a_group_to_both_ports_of_a_server_and_removes_it(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    member = token(running_stack, "p1", "member")
    netadmin = token(running_stack, "p1", "member", "netadmin")
    nets = Networks(running_stack)
    r = await http.post(f"{C}/servers", headers=member, json={"server": {
        "name": "vm1", "imageRef": "cirros-0.6.2-x86_64-disk", "flavorRef": "1",
        "networks": [{"uuid": nets.private}, {"uuid": nets.private}]}})  # two ports
    assert r.status_code == 202, r.text
    server = r.json()["server"]["id"]
    r = await http.post(f"{N}/security-groups", headers=netadmin,
                        json={"security_group": {"name": "web"}})
    group = r.json()["security_group"]
    await http.post(f"{N}/security-group-rules", headers=netadmin, json={
        "security_group_rule": {"security_group_id": group["id"], "direction": "ingress",
                                "protocol": "tcp", "port_range_min": 80,
                                "port_range_max": 80}})
    action = f"{C}/servers/{server}/action"

    r = await http.post(action, headers=member, json={"addSecurityGroup": {"name": "web"}})
    assert r.status_code == 202, r.text
    assert [p.security_groups for p in ports_of(running_stack, server)] == [
        (group["id"],), (group["id"],)]
    shown = (await http.get(f"{C}/servers/{server}", headers=member)).json()["server"]
    assert shown["security_groups"] == [{"name": "web"}]  # what `server show` prints
    groups = (await http.get(f"{C}/servers/{server}/os-security-groups",
                             headers=member)).json()["security_groups"]
    assert [(g["id"], g["name"]) for g in groups] == [(group["id"], "web")]
    assert [(x["ip_protocol"], x["from_port"], x["to_port"]) for x in groups[0]["rules"]] == [
        ("tcp", 80, 80)]  # ingress only, as Nova shows them
    r = await http.delete(f"{N}/security-groups/{group['id']}", headers=netadmin)
    neutron_error(r, 409, "SecurityGroupInUse", "in use")

    r = await http.post(action, headers=member,
                        json={"addSecurityGroup": {"name": "nosuch"}})
    assert (r.status_code, "not found for project p1" in r.text) == (404, True), r.text
    r = await http.post(action, headers=member, json={"addSecurityGroup": {}})
    assert r.status_code == 400, r.text
    r = await http.post(action, headers=member,
                        json={"removeSecurityGroup": {"name": group["id"]}})
    assert r.status_code == 202, r.text
    assert (await http.get(f"{C}/servers/{server}/os-security-groups",
                           headers=member)).json()["security_groups"] == []
    assert [p.security_groups for p in ports_of(running_stack, server)] == [(), ()]
    listed = (await http.get(f"{C}/servers/detail", headers=member)).json()["servers"]
    assert [s["security_groups"] for s in listed] == [[]]
    r = await http.post(action, headers=member,
                        json={"removeSecurityGroup": {"name": "web"}})
    assert (r.status_code, "not associated with the instance" in r.text) == (404, True)
    r = await http.delete(f"{N}/security-groups/{group['id']}", headers=netadmin)
    assert r.status_code == 204, r.text  # no port uses it any more

    # `server add floating ip --fixed-ip-address`: the port found, the floating IP PUT
    second = ports_of(running_stack, server)[1]
    r = await http.post(f"{N}/floatingips", headers=netadmin,
                        json={"floatingip": {"floating_network_id": nets.public}})
    fip = r.json()["floatingip"]["id"]
    r = await http.put(f"{N}/floatingips/{fip}", headers=netadmin, json={"floatingip": {
        "port_id": second.id, "fixed_ip_address": second.fixed_ips[0].ip_address}})
    assert r.status_code == 200, r.text
    assert (r.json()["floatingip"]["port_id"], r.json()["floatingip"]["fixed_ip_address"]) == (
        second.id, second.fixed_ips[0].ip_address)
    r = await http.put(f"{N}/floatingips/{fip}", headers=netadmin, json={"floatingip": {
        "port_id": second.id, "fixed_ip_address": "10.20.0.250"}})
    neutron_error(r, 400, "BadRequest", "does not have fixed ip 10.20.0.250")

"""Time to reachable: servers booted on one network, each with a security group
and a floating IP, on a real network host (its own namespace).

For each server, one after the other, the clock runs from the first request
(the group) to the moment the network host reports having rendered the log
position of the floating IP's association (the agents API): the port is
served (the server is ACTIVE only then), its group's rules and its floating
IP's NAT applied. ``nimbus up`` runs as its own process on a throwaway
database with ``network_driver = namespace``; the namespace is removed at the
end. Needs root and ip, dnsmasq, nft (bench/network.py ``available``).
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from bench.place import place
from bench.report import spread
from bench.stack import Stack, Stacks
from runtime.stack import network_namespace
from tests.support.stack import auth_body
from workers.network.host import NamespaceNetworkHost

N = "/network/v2.0"
POSITION = "Nimbus-Log-Position"


def _created(r: httpx.Response, what: str) -> dict[str, Any]:
    if r.status_code not in (200, 201, 202):
        raise RuntimeError(f"{what}: {r.status_code} {r.text[:300]}")
    found: dict[str, Any] = r.json()
    return found


def _reachable(http: httpx.Client, server: str, position: int, deadline: float) -> bool:
    """Whether the server went ACTIVE and the network host rendered ``position``."""
    while time.perf_counter() < deadline:
        shown = http.get(f"/compute/v2.1/servers/{server}")  # 404 until the view has it
        status = shown.json()["server"]["status"] if shown.status_code == 200 else None
        agents = http.get(f"{N}/agents").json()["agents"]
        if status == "ACTIVE" and agents and agents[0]["configurations"]["position"] >= position:
            return True
        time.sleep(0.002)
    return False


def _boots(stack: Stack, servers: int, timeout: float) -> dict[str, Any]:
    with httpx.Client(base_url=stack.base_url, timeout=30, trust_env=False) as http:
        r = http.post("/identity/v3/auth/tokens",
                      json=auth_body("admin", stack.admin_password, "admin"))
        r.raise_for_status()
        http.headers["X-Auth-Token"] = r.headers["X-Subject-Token"]
        private = http.get(f"{N}/networks", params={"name": "private"}).json()["networks"][0]
        public = _created(http.post(f"{N}/networks", json={"network": {
            "name": "public", "router:external": True}}), "public network")["network"]
        _created(http.post(f"{N}/subnets", json={"subnet": {
            "network_id": public["id"], "cidr": "172.24.0.0/16", "ip_version": 4}}), "subnet")
        took: list[float] = []
        for i in range(servers):
            start = time.perf_counter()
            group = _created(http.post(f"{N}/security-groups", json={"security_group": {
                "name": f"bench-{i}"}}), "group")["security_group"]["id"]
            _created(http.post(f"{N}/security-group-rules", json={"security_group_rule": {
                "security_group_id": group, "direction": "ingress", "protocol": "tcp",
                "port_range_min": 22, "port_range_max": 22}}), "rule")
            port = _created(http.post(f"{N}/ports", json={"port": {
                "network_id": private["id"], "security_groups": [group]}}),
                "port")["port"]["id"]
            server = _created(http.post("/compute/v2.1/servers", json={"server": {
                "name": f"bench-net-{i}", "flavorRef": "1",
                "imageRef": "cirros-0.6.2-x86_64-disk", "networks": [{"port": port}]}}),
                "boot")["server"]["id"]
            fip = http.post(f"{N}/floatingips", json={"floatingip": {
                "floating_network_id": public["id"], "port_id": port}})
            _created(fip, "floating IP")
            if not _reachable(http, server, int(fip.headers[POSITION]), start + timeout):
                raise RuntimeError(f"server {i} not reachable within {timeout} s")
            took.append(time.perf_counter() - start)
    return spread(took)


def measure(servers: int, timeout: float = 120) -> dict[str, Any]:
    """p50 / p99 seconds to reachable over ``servers`` servers."""
    with place() as at:
        stacks = Stacks(at, servers)
        stacks.env["NIMBUS_NETWORK_DRIVER"] = "namespace"
        try:
            with stacks.up() as stack:
                return _boots(stack, servers, timeout)
        finally:  # whatever happened: no namespace or dnsmasq left behind
            NamespaceNetworkHost(network_namespace(stacks.prefix, "network1"),
                                 at.state_dir / "network" / "network1").teardown()

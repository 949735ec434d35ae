"""Every text and number in a request body is held to the declared field rules
(api/fields.py) at the edge: a value the views or the hosts cannot hold is a
400 naming the field in the service's own words, and nothing is written."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.e2e.test_request_limits import log_head, quiet_head
from tests.support.stack import RunningStack

C = "/compute/v2.1"
IMAGE, FLAVOR = "cirros-0.6.2-x86_64-disk", "1"
LONG = "x" * 256
NOVA = "Invalid input for field/attribute"
GLANCE = "Provided object does not match schema 'image'"
KEYSTONE = "Invalid input for field"
LATEST = {"OpenStack-API-Version": "compute latest"}  # a server's description is 2.19's


def server(**fields: Any) -> dict[str, Any]:
    return {"server": {"name": "vm", "imageRef": IMAGE, "flavorRef": FLAVOR, **fields}}


def volume(**fields: Any) -> dict[str, Any]:
    return {"volume": {"size": 1, **fields}}


SOMEONE = str(uuid.uuid4())  # no such server or volume: the body is refused first

# (method, path ({p}: the caller's project), body, words the message holds)
REFUSED: list[tuple[str, str, Any, list[str]]] = [
    ("POST", f"{C}/servers", server(name=LONG), [f"{NOVA} name.", "too long"]),
    ("POST", f"{C}/servers", server(name="a\x00b"), [f"{NOVA} name.", "printable"]),
    ("POST", f"{C}/servers", server(name="two\nlines"), [f"{NOVA} name.", "printable"]),
    ("POST", f"{C}/servers", server(name="tab\there"), [f"{NOVA} name.", "printable"]),
    ("POST", f"{C}/servers", server(name=" padded"), [f"{NOVA} name.", "whitespace"]),
    ("POST", f"{C}/servers", server(description=LONG), [f"{NOVA} description.", "too long"]),
    ("POST", f"{C}/servers", server(metadata={"k": "v\x00"}), [f"{NOVA} metadata.", "NUL"]),
    ("POST", f"{C}/servers", server(metadata={LONG: "v"}), [f"{NOVA} metadata.", "too long"]),
    ("POST", f"{C}/servers", server(metadata={"k": LONG}), [f"{NOVA} metadata.", "too long"]),
    ("POST", f"{C}/servers", server(user_data="QUFB" * 16384),
     [f"{NOVA} user_data.", "too long"]),
    ("POST", f"{C}/servers", server(min_count=2**31), [f"{NOVA} min_count.", "maximum"]),
    ("PUT", f"{C}/servers/{SOMEONE}", {"server": {"name": "x\x00"}}, [f"{NOVA} name."]),
    ("PUT", f"{C}/servers/{SOMEONE}/metadata", {"metadata": {"k": "a\x00"}},
     [f"{NOVA} metadata."]),
    ("POST", f"{C}/os-keypairs", {"keypair": {"name": "k\x00"}}, [f"{NOVA} name."]),
    ("POST", f"{C}/os-keypairs", {"keypair": {"name": LONG}}, [f"{NOVA} name.", "too long"]),
    ("POST", f"{C}/flavors", {"flavor": {"name": "f\x00", "ram": 64, "vcpus": 1, "disk": 1}},
     [f"{NOVA} name."]),
    ("POST", f"{C}/flavors", {"flavor": {"name": "f", "ram": 2**31, "vcpus": 1, "disk": 1}},
     [f"{NOVA} ram.", "maximum of 2147483647"]),
    ("PUT", f"{C}/os-quota-sets/{{p}}", {"quota_set": {"cores": 2**31}},
     [f"{NOVA} cores.", "maximum of 2147483647"]),
    ("PUT", f"{C}/os-quota-sets/{{p}}", {"quota_set": {"instances": -2}},
     [f"{NOVA} instances.", "minimum of -1"]),
    ("PUT", "/volume/v3/{p}/os-quota-sets/{p}", {"quota_set": {"gigabytes": 2**40}},
     [f"{NOVA} gigabytes.", "maximum"]),
    ("PUT", f"{C}/os-services/disable-log-reason",
     {"host": "compute1", "binary": "nova-compute", "disabled_reason": LONG},
     [f"{NOVA} disabled_reason.", "too long"]),
    ("POST", "/image/v2/images", {"name": LONG}, [GLANCE, "too long", "name"]),
    ("POST", "/image/v2/images", {"name": "i\x00"}, [GLANCE, "name"]),
    ("POST", "/image/v2/images", {"name": "i", "os_distro": LONG}, [GLANCE, "os_distro"]),
    ("POST", "/image/v2/images", {"name": "i", "os_distro": "a\x00"}, [GLANCE, "NUL"]),
    ("POST", "/image/v2/images", {"name": "i", LONG: "v"}, [GLANCE, "too long"]),
    ("POST", "/image/v2/images", {"name": "i", "tags": [LONG]}, [GLANCE, "tags"]),
    ("POST", "/volume/v3/{p}/volumes", volume(name=LONG), [f"{NOVA} name.", "too long"]),
    ("POST", "/volume/v3/{p}/volumes", volume(name="v\x00"), [f"{NOVA} name."]),
    ("POST", "/volume/v3/{p}/volumes", volume(name="v\nw"), [f"{NOVA} name.", "printable"]),
    ("POST", "/volume/v3/{p}/volumes", volume(description=LONG),
     [f"{NOVA} description.", "too long"]),
    ("POST", "/volume/v3/{p}/volumes", volume(metadata={"k": LONG}), [f"{NOVA} metadata."]),
    ("POST", "/volume/v3/{p}/volumes", volume(size=2**31), [f"{NOVA} size.", "maximum"]),
    ("PUT", f"/volume/v3/{{p}}/volumes/{SOMEONE}", {"volume": {"name": LONG}},
     [f"{NOVA} name.", "too long"]),
    ("POST", "/volume/v3/{p}/snapshots", {"snapshot": {"volume_id": SOMEONE, "name": LONG}},
     [f"{NOVA} name.", "too long"]),
    ("POST", "/volume/v3/{p}/backups",
     {"backup": {"volume_id": SOMEONE, "description": "d\x00"}}, [f"{NOVA} description."]),
    ("POST", "/identity/v3/projects", {"project": {"name": LONG}},
     [f"{KEYSTONE} 'name'", "too long"]),
    ("POST", "/identity/v3/projects", {"project": {"name": "p\x00"}}, [f"{KEYSTONE} 'name'"]),
    ("POST", "/identity/v3/users", {"user": {"name": "u", "password": "p" * 5000}},
     [f"{KEYSTONE} 'password'", "too long"]),
    ("POST", "/identity/v3/users", {"user": {"name": "u\x00", "password": "pw"}},
     [f"{KEYSTONE} 'name'"]),
]


@pytest.fixture
async def project(running_stack: RunningStack) -> str:
    token = running_stack.http.headers["X-Auth-Token"]
    r = await running_stack.http.get("/identity/v3/auth/tokens",
                                     headers={"X-Subject-Token": token})
    project_id: str = r.json()["token"]["project"]["id"]
    return project_id


async def test_values_beyond_the_field_rules_are_refused_naming_the_field_and_write_nothing(
        running_stack: RunningStack, project: str) -> None:
    http = running_stack.http
    before = await quiet_head(running_stack)
    wrong = []
    for method, path, body, words in REFUSED:
        r = await http.request(method, path.format(p=project), json=body, headers=LATEST)
        error = r.json() if r.headers.get("content-type") == "application/json" else {}
        message = next((v.get("message", "") for v in error.values()
                        if isinstance(v, dict)), "")
        if r.status_code != 400 or not all(w in message for w in words):
            wrong.append(f"{method} {path} {str(body)[:80]} -> {r.status_code} {r.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert log_head(running_stack) == before, "a refused request wrote events"


async def test_values_at_the_limits_and_any_printable_script_are_accepted(
        running_stack: RunningStack, project: str) -> None:
    http = running_stack.http
    r = await http.post(f"{C}/servers", headers=LATEST, json=server(
        name="名前 vm-ü", description="d" * 255, metadata={"k" * 255: "v" * 255}))
    assert r.status_code == 202, r.text
    r = await http.post(f"/volume/v3/{project}/volumes", json=volume(
        name=" " + "n" * 254, description="two\nlines are fine in Cinder"))
    assert r.status_code == 202, r.text
    r = await http.put(f"{C}/os-quota-sets/{project}",
                       json={"quota_set": {"cores": 2**31 - 1, "ram": "-1"}})
    assert r.status_code == 200, r.text
    assert (r.json()["quota_set"]["cores"], r.json()["quota_set"]["ram"]) == (2**31 - 1, -1)

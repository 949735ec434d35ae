"""Nova's os-quota-class-sets over HTTP with the whole stack: the default
class shows the configured defaults, and an admin's change of it is the
defaults every project without overrides has from then on, for what is
shown and for what a boot is allowed."""

from __future__ import annotations

from tests.e2e.test_hosts_api import member
from tests.support.stack import RunningStack

C = "/compute/v2.1"
D = f"{C}/os-quota-class-sets/default"
IMAGE = "cirros-0.6.2-x86_64-disk"


async def test_the_default_quota_class_is_the_defaults_and_changing_it_binds_boots(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    project, carol = "p-carol", member(running_stack, "p-carol")
    shown = (await http.get(D)).json()["quota_class_set"]
    assert (shown["id"], shown["instances"], shown["cores"], shown["ram"]) == (
        "default", 10, 20, 51200)
    assert "volumes" not in shown  # Cinder's

    r = await http.put(D, json={"quota_class_set": {"instances": 1, "key_pairs": 7}})
    assert r.status_code == 200, r.text
    changed = r.json()["quota_class_set"]
    assert (changed["instances"], changed["key_pairs"], changed["cores"]) == (1, 7, 20)
    assert "id" not in changed
    after = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    assert (await http.get(D, headers=after)).json()["quota_class_set"]["instances"] == 1
    defaults = (await http.get(f"{C}/os-quota-sets/{project}/defaults", headers=after)).json()
    assert defaults["quota_set"]["instances"] == 1
    quota = (await http.get(f"{C}/os-quota-sets/{project}", headers=after)).json()
    assert (quota["quota_set"]["instances"], quota["quota_set"]["key_pairs"]) == (1, 7)

    boot = {"server": {"name": "one", "imageRef": IMAGE, "flavorRef": "1"}}
    assert (await http.post(f"{C}/servers", json=boot, headers=carol)).status_code == 202
    refused = await http.post(f"{C}/servers", headers=carol, json={"server": {
        **boot["server"], "name": "two"}})
    assert refused.status_code == 403 and "Quota exceeded for instances" in refused.text

    r = await http.put(f"{C}/os-quota-sets/{project}", json={"quota_set": {"instances": 5}})
    assert r.status_code == 200 and r.json()["quota_set"]["instances"] == 5  # its own wins


async def test_quota_class_refusals_name_the_field_and_write_nothing(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    for body in ({"quota_class_set": {"volumes": 3}}, {"quota_class_set": {"cores": -2}},
                 {"quota_class_set": {"cores": "many"}}, {"quota_set": {"cores": 3}}):
        r = await http.put(D, json=body)
        assert r.status_code == 400, (body, r.text)
    assert (await http.get(D)).json()["quota_class_set"]["cores"] == 20
    dave = member(running_stack, "p-dave")
    assert (await http.get(D, headers=dave)).status_code == 403
    r = await http.put(D, headers=dave, json={"quota_class_set": {"cores": 3}})
    assert r.status_code == 403

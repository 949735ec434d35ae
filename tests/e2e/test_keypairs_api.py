"""Keypairs over HTTP (Nova os-keypairs at 2.1): generate, import, list,
show, delete, per user; and the lookup a boot with key_name uses."""

from __future__ import annotations

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from commands.messages import Caller
from commands.services import Commands
from domain.errors import InvalidInput
from tests.e2e.test_flavors_api import member_token
from tests.support.stack import RunningStack

K = "/compute/v2.1/os-keypairs"


def ed25519_public_key() -> str:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    return key.public_bytes(serialization.Encoding.OpenSSH,
                            serialization.PublicFormat.OpenSSH).decode() + " me@host"


async def test_a_generated_keypair_returns_its_private_key_once(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.post(K, json={"keypair": {"name": "gen"}})
    assert r.status_code == 200, r.text
    made = r.json()["keypair"]
    assert made["public_key"].startswith("ssh-rsa ")
    private = serialization.load_pem_private_key(made["private_key"].encode(), None)
    derived = private.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                                serialization.PublicFormat.OpenSSH).decode()
    assert made["public_key"].split()[:2] == derived.split()
    assert len(made["fingerprint"].split(":")) == 16
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    shown = (await http.get(f"{K}/gen", headers=position)).json()["keypair"]
    assert "private_key" not in shown
    assert shown["deleted"] is False and isinstance(shown["id"], int)
    assert shown["fingerprint"] == made["fingerprint"]


async def test_an_imported_key_is_listed_shown_and_deleted(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    public = ed25519_public_key()
    r = await http.post(K, json={"keypair": {"name": "k1", "public_key": public}})
    assert r.status_code == 200, r.text
    assert "private_key" not in r.json()["keypair"]
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    listed = (await http.get(K, headers=position)).json()["keypairs"]
    assert listed == [{"keypair": {"name": "k1", "public_key": public,
                                   "fingerprint": r.json()["keypair"]["fingerprint"]}}]
    member = member_token(running_stack, "proj-a")
    assert (await http.get(K, headers=member)).json()["keypairs"] == []
    assert (await http.get(f"{K}/k1", headers=member)).status_code == 404

    dup = await http.post(K, json={"keypair": {"name": "k1", "public_key": public}})
    assert dup.status_code == 409
    assert dup.json()["conflictingRequest"]["message"] == "Key pair 'k1' already exists."

    r = await http.delete(f"{K}/k1")
    assert r.status_code == 202
    position = {"Nimbus-Log-Position": r.headers["Nimbus-Log-Position"]}
    assert (await http.get(f"{K}/k1", headers=position)).status_code == 404
    assert (await http.delete(f"{K}/k1")).status_code == 404


async def test_bad_keypairs_are_refused_and_nothing_is_written(
        running_stack: RunningStack) -> None:
    http = running_stack.http
    for body, words in (({"name": "bad/name"}, "unsafe characters"),
                        ({"name": ""}, "is too short"),
                        ({"name": "x" * 256}, "is too long"),
                        ({"name": "k", "public_key": "ssh-rsa notbase64!"}, "Keypair data is"),
                        ({"name": "k", "public_key": "hello"}, "Keypair data is invalid"),
                        ({"name": "k", "extra": 1}, "extra")):
        r = await http.post(K, json={"keypair": body})
        assert r.status_code == 400, (body, r.text)
        assert words in r.json()["badRequest"]["message"]
    assert (await http.get(K)).json()["keypairs"] == []


async def test_the_boot_lookup_answers_the_callers_public_key(
        running_stack: RunningStack) -> None:
    public = ed25519_public_key()
    r = await running_stack.http.post(K, json={"keypair": {"name": "boot", "public_key": public}})
    assert r.status_code == 200
    commands = Commands.open(running_stack.database_url, ["compute1"])
    try:
        admin_user = (await running_stack.http.get(f"{K}/boot")).json()["keypair"]["user_id"]
        caller = Caller(user_id=admin_user, project_id="any")
        assert commands.catalog.keypair("boot", caller) == public
        try:
            commands.catalog.keypair("boot", Caller(user_id="someone-else", project_id="any"))
        except InvalidInput as exc:
            assert exc.message == "Invalid key_name provided."
        else:
            raise AssertionError("another user's keypair was found")
    finally:
        commands.close()


async def test_a_server_boots_with_the_callers_keypair(running_stack: RunningStack) -> None:
    http = running_stack.http
    r = await http.post(K, json={"keypair": {"name": "vmkey", "public_key": ed25519_public_key()}})
    assert r.status_code == 200
    boot = {"server": {"name": "withkey", "imageRef": "2a9b8f3e-1c4d-4e5f-8a6b-7c8d9e0f1a2b",
                       "flavorRef": "1", "key_name": "vmkey"}}
    r = await http.post("/compute/v2.1/servers", json=boot)
    assert r.status_code == 202, r.text
    server = await running_stack.wait_for_status(r.json()["server"]["id"], "ACTIVE")
    assert server["key_name"] == "vmkey"
    missing = {"server": {**boot["server"], "key_name": "nokey"}}
    r = await http.post("/compute/v2.1/servers", json=missing)
    assert r.status_code == 400
    assert r.json()["badRequest"]["message"] == "Invalid key_name provided."

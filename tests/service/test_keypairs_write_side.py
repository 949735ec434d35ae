"""Keypairs on the write side: Nova's name rules and fingerprint, one keypair
per user and name even under racing creates, and the boot's lookup."""

from __future__ import annotations

import base64
import hashlib
from concurrent.futures import ThreadPoolExecutor

import pytest

from commands.keypairs import checked_public_key, generate
from commands.messages import Caller
from commands.services import Commands
from domain import keypair as model
from domain.errors import DomainError, InvalidInput

ALICE = Caller(user_id="alice", project_id="p")
BOB = Caller(user_id="bob", project_id="p")


def test_the_fingerprint_is_the_md5_of_the_key_blob_in_colon_hex() -> None:
    public, _ = generate()
    blob = base64.b64decode(public.split()[1])
    digest = hashlib.md5(blob).hexdigest()
    assert model.fingerprint(public) == ":".join(digest[i:i + 2] for i in range(0, 32, 2))


@pytest.mark.parametrize(("name", "reason"), [
    ("", "between 1 and 255"), ("x" * 256, "between 1 and 255"),
    ("a/b", "unsafe characters"), ("dot.name", "unsafe characters"),
])
def test_names_follow_novas_rules(name: str, reason: str) -> None:
    with pytest.raises(InvalidInput, match=reason):
        model.validate_name(name)
    model.validate_name("My key_1-2")


@pytest.mark.parametrize("key", ["", "ssh-rsa", "ssh-rsa AAAA", "ssh-dss AAAAB3NzaC1kc3M=",
                                 "-----BEGIN PUBLIC KEY-----"])
def test_a_public_key_that_does_not_parse_is_refused(key: str) -> None:
    with pytest.raises(InvalidInput, match="Keypair data is invalid"):
        checked_public_key(key)


def test_a_keypair_name_belongs_to_one_user_and_is_free_again_after_delete(
        database_url: str) -> None:
    commands = Commands.open(database_url, ["h1"])
    try:
        made = commands.keypairs.create("k", None, ALICE, "req-1")
        assert made.private_key and "PRIVATE KEY" in made.private_key
        assert commands.catalog.keypair("k", ALICE) == made.state.public_key
        with pytest.raises(InvalidInput, match="Invalid key_name provided"):
            commands.catalog.keypair("k", BOB)
        commands.keypairs.create("k", made.state.public_key, BOB, "req-2")
        again = commands.keypairs.create("k", None, ALICE, "req-1")
        assert again.position is None and again.private_key is None
        commands.keypairs.delete("k", ALICE, "req-3")
        with pytest.raises(InvalidInput):
            commands.catalog.keypair("k", ALICE)
        assert commands.keypairs.create("k", None, ALICE, "req-4").private_key
    finally:
        commands.close()


def test_racing_creates_of_one_keypair_leave_exactly_one(database_url: str) -> None:
    apps = [Commands.open(database_url, ["h1"]) for _ in range(4)]
    public, _ = generate()

    def create(n: int) -> str:
        try:
            apps[n].keypairs.create("race", public, ALICE, f"req-{n}")
            return "created"
        except DomainError as exc:
            return exc.message

    try:
        with ThreadPoolExecutor(4) as pool:
            outcomes = list(pool.map(create, range(4)))
    finally:
        for app in apps:
            app.close()
    assert outcomes.count("created") == 1
    assert set(outcomes) - {"created"} == {"Key pair 'race' already exists."}

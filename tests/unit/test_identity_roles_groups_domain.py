"""The pure decisions of custom roles, groups, catalog entries and
application credentials."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain import identity as model
from domain import identity_app_credentials as app_creds
from domain import identity_catalog as catalog
from domain import identity_groups as groups
from domain import identity_roles as roles
from domain.errors import Forbidden, InvalidInput, InvalidState, NotFound, Unauthorized

AT = datetime(2026, 1, 1, tzinfo=UTC)


def a_role(name: str, domain_id: str | None = None) -> roles.CustomRole:
    event = roles.create_role(None, request_id=f"r-{name}", name=name, domain_id=domain_id,
                              description=None, at=AT)
    return roles.evolve_role(None, event, model.aggregate_id("role", name).hex)


def test_a_default_roles_name_and_a_live_roles_name_are_taken() -> None:
    with pytest.raises(InvalidState):
        roles.create_role(None, request_id="r", name="Member", domain_id=None,
                          description=None, at=AT)
    with pytest.raises(InvalidState):
        roles.create_role(a_role("auditor"), request_id="r", name="auditor", domain_id=None,
                          description=None, at=AT)
    assert roles.create_role(None, request_id="r", name="member", domain_id="d1",
                             description=None, at=AT).domain_id == "d1", \
        "a domain's role may share a default role's name"


def test_a_global_role_never_implies_a_domains_role_but_the_contrary_holds() -> None:
    glob, local = a_role("global"), a_role("local", "d1")
    with pytest.raises(Forbidden):
        roles.imply(glob, "global", local.id, "d1", request_id="i", at=AT)
    rule = roles.imply(local, "local", glob.id, None, request_id="i", at=AT)
    assert rule is not None
    implying = roles.evolve_role(local, rule, local.id)
    assert implying.implies == (glob.id,)
    assert roles.imply(implying, "local", glob.id, None, request_id="j", at=AT) is None
    with pytest.raises(NotFound):
        roles.drop_implication(local, "local", glob.id, glob.id, request_id="d", at=AT)


def test_a_groups_grant_is_recorded_once_and_its_revoke_needs_it() -> None:
    made = groups.create_group(None, request_id="g", name="ops", domain_id="default",
                               description="", at=AT)
    group = groups.evolve_group(None, made, model.aggregate_id("group", "ops").hex)
    granted = groups.grant(group, "p1", "member", request_id="g1", at=AT)
    assert granted is not None
    group = groups.evolve_group(group, granted, group.id)
    assert groups.grant(group, "p1", "member", request_id="g2", at=AT) is None
    assert group.roles_on("p1") == ["member"]
    with pytest.raises(NotFound):
        groups.revoke(group, "p2", "member", "x", request_id="r", at=AT)
    gone = groups.evolve_group(group, groups.delete_group(group, "ops", request_id="d", at=AT),
                               group.id)
    assert gone.roles_on("p1") == []


def test_an_endpoint_needs_its_fields_typed_and_a_known_interface() -> None:
    good: catalog.Attributes = {"service_id": "s", "interface": "public", "url": "http://x"}
    saved = catalog.create(None, catalog.ENDPOINT, "e1", good, request_id="e", at=AT)
    assert saved.attributes == {**good, "enabled": True, "region_id": None}
    no_url: catalog.Attributes = {"service_id": "s", "interface": "public"}
    for bad in ({**good, "enabled": "True"}, {**good, "interface": "sideways"}, no_url):
        with pytest.raises(InvalidInput):
            catalog.create(None, catalog.ENDPOINT, "e1", bad, request_id="e", at=AT)
    entry = catalog.evolve(None, saved, catalog.aggregate_id(catalog.ENDPOINT, "e1").hex)
    with pytest.raises(InvalidInput):
        catalog.update(entry, catalog.ENDPOINT, "e1", {"enabled": "False"}, request_id="u",
                       at=AT)


def test_an_application_credential_opens_with_its_secret_until_it_expires() -> None:
    secret_hash = model.hash_password("s3cret", b"0123456789abcdef")
    expires = (AT + timedelta(hours=1)).replace(tzinfo=None).isoformat()
    made = app_creds.create(None, request_id="a", user_id="u", project_id="p", name="ci",
                            description=None, secret_hash=secret_hash, roles=["member"],
                            held=["member", "reader"], expires_at=expires, unrestricted=False,
                            at=AT)
    cred = app_creds.evolve(None, made, app_creds.app_credential_id("u", "ci").hex)
    assert app_creds.authenticated(cred, "s3cret", AT) == cred
    with pytest.raises(Unauthorized):
        app_creds.authenticated(cred, "guess", AT)
    with pytest.raises(Unauthorized):
        app_creds.authenticated(cred, "s3cret", AT + timedelta(hours=2))
    with pytest.raises(InvalidInput):
        app_creds.create(None, request_id="b", user_id="u", project_id="p", name="x",
                         description=None, secret_hash=secret_hash, roles=["admin"],
                         held=["member"], expires_at=None, unrestricted=False, at=AT)

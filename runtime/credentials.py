"""The cloud's own secrets, made once and kept, and the files clients read.

The admin password (unless configured) and the token-signing secret are
generated on first start into the state directory with mode 0600, so a
second start keeps the same credentials. ``nimbus-rc`` and ``clouds.yaml``
let the ``openstack`` CLI, openstacksdk and ``nimbus`` itself log in.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shlex
from pathlib import Path

from runtime.settings import Settings

CLOUD_NAME = "nimbus"


def _kept(path: Path, make: str) -> str:
    if path.exists():
        return path.read_text().strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(make + "\n")
    return make


def admin_password(settings: Settings) -> str:
    if settings.admin_password:
        return settings.admin_password
    return _kept(settings.state_path / "admin-password", secrets.token_urlsafe(16))


def token_secret(settings: Settings) -> bytes:
    return _kept(settings.state_path / "token-secret", secrets.token_hex(32)).encode()


def metadata_secret(settings: Settings) -> str:
    if settings.metadata_proxy_shared_secret:
        return settings.metadata_proxy_shared_secret
    return _kept(settings.state_path / "metadata-secret", secrets.token_hex(32))


def _yaml(value: str) -> str:
    """A YAML scalar: plain when that is unambiguous, else a quoted string."""
    return value if re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", value) else json.dumps(value)


def write_client_files(settings: Settings, password: str) -> tuple[Path, Path]:
    """Write nimbus-rc and clouds.yaml for the admin; return their paths."""
    return write_user_files(settings, settings.admin_user, settings.admin_project, password,
                            settings.state_path, rc_name="nimbus-rc")


def write_user_files(settings: Settings, user: str, project: str, password: str | None,
                     directory: Path, rc_name: str | None = None) -> tuple[Path, Path]:
    """Write an rc file and clouds.yaml that log ``user`` in to ``project``
    (the seed's ``project environment``). Without a password the rc file asks
    for it and clouds.yaml leaves it out (clients then prompt)."""
    auth_url = f"{settings.base_url}/identity/v3"
    directory.mkdir(parents=True, exist_ok=True)
    rc = directory / (rc_name or f"{user}-{project}-openrc.sh")
    secret = (f"export OS_PASSWORD={shlex.quote(password)}\n" if password is not None else
              f'read -rsp "Password for {user}: " OS_PASSWORD && echo && export OS_PASSWORD\n')
    rc.write_text(
        f"export OS_AUTH_URL={auth_url}\n"
        f"export OS_USERNAME={shlex.quote(user)}\n"
        + secret +
        f"export OS_PROJECT_NAME={shlex.quote(project)}\n"
        "export OS_USER_DOMAIN_NAME=Default\n"
        "export OS_PROJECT_DOMAIN_NAME=Default\n"
        "export OS_IDENTITY_API_VERSION=3\n"
        f"export OS_REGION_NAME={settings.region}\n"
    )
    clouds = directory / "clouds.yaml"
    password_line = f"      password: {_yaml(password)}\n" if password is not None else ""
    clouds.write_text(
        "clouds:\n"
        f"  {CLOUD_NAME}:\n"
        "    auth:\n"
        f"      auth_url: {auth_url}\n"
        f"      username: {_yaml(user)}\n"
        + password_line +
        f"      project_name: {_yaml(project)}\n"
        "      user_domain_name: Default\n"
        "      project_domain_name: Default\n"
        f"    region_name: {settings.region}\n"
        "    identity_api_version: 3\n"
    )
    for path in (rc, clouds):
        path.chmod(0o600)
    return rc, clouds

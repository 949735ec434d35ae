"""Wait for `nimbus up` to answer, then write tempest.conf for it.

Usage: prepare.py BASE_URL ADMIN_PASSWORD TEMPLATE OUT WORKSPACE

The image tempest boots is the first one nimbus lists (the cirros image it
seeds); the flavors are nimbus's defaults 1 and 2. The highest compute and
volume microversions are what nimbus's version documents advertise, so that
tempest asks for no version nimbus does not serve.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import httpx


def main(base_url: str, password: str, template: str, out: str, workspace: str) -> None:
    deadline = time.monotonic() + 180
    while True:
        try:
            if httpx.get(f"{base_url}/identity/v3").status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"prepare.py: nimbus did not answer at {base_url}")
        time.sleep(1)
    scope = {"project": {"name": "admin", "domain": {"name": "Default"}}}
    user = {"name": "admin", "domain": {"name": "Default"}, "password": password}
    r = httpx.post(f"{base_url}/identity/v3/auth/tokens", json={"auth": {
        "identity": {"methods": ["password"], "password": {"user": user}}, "scope": scope}})
    r.raise_for_status()
    token = r.headers["X-Subject-Token"]
    images = httpx.get(f"{base_url}/image/v2/images", headers={"X-Auth-Token": token})
    images.raise_for_status()
    image = images.json()["images"][0]["id"]
    text = Path(template).read_text()
    for key, value in (("WORKSPACE", workspace), ("ADMIN_PASSWORD", password),
                       ("BASE_URL", base_url), ("IMAGE", image),
                       ("COMPUTE_MAX", _max_version(f"{base_url}/compute/", "2.1")),
                       ("VOLUME_MAX", _max_version(f"{base_url}/volume/", "3.0"))):
        text = text.replace(f"@{key}@", value)
    Path(out).write_text(text)


def _max_version(root: str, otherwise: str) -> str:
    """The highest microversion a service's versions document advertises."""
    r = httpx.get(root)
    if r.status_code not in (200, 300):
        return otherwise
    found = [v.get("version") for v in r.json().get("versions", [])
             if v.get("status", "").upper() == "CURRENT"]
    return next((v for v in found if v), otherwise)


if __name__ == "__main__":
    main(*sys.argv[1:])

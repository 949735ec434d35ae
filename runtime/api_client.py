"""A small synchronous client for nimbus's OpenStack-compatible API.

The ``nimbus`` CLI talks to a running cloud the way any OpenStack user would:
Keystone v3 password auth, then the compute, image and volume endpoints from
the token's catalog. Keeping that here (and not in the CLI module) keeps the CLI
about arguments and output, and gives operators' scripts a typed entry point.
Every failure a user can cause or meet (bad credentials, refused transitions,
a stopped cloud) becomes an ``ApiError`` with a one-line message.
"""

from __future__ import annotations

import os
import shlex
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import httpx
import msgspec

RC_FILE_NAME = "nimbus-rc"
COMPUTE_PATH = "/compute/v2.1"


class ApiError(Exception):
    """An API call failed; ``status`` is the HTTP status, None without a response."""

    def __init__(self, status: int | None, message: str) -> None:
        super().__init__(f"{status} {message}" if status else message)
        self.status = status
        self.message = message


class Credentials(msgspec.Struct, frozen=True, kw_only=True):
    """Keystone v3 password credentials, scoped to one project."""

    auth_url: str
    username: str
    password: str
    project_name: str
    user_domain_name: str = "Default"
    project_domain_name: str = "Default"


_ENV_FIELDS = {
    "auth_url": "OS_AUTH_URL",
    "username": "OS_USERNAME",
    "password": "OS_PASSWORD",
    "project_name": "OS_PROJECT_NAME",
    "user_domain_name": "OS_USER_DOMAIN_NAME",
    "project_domain_name": "OS_PROJECT_DOMAIN_NAME",
}


def parse_rc_file(path: str | Path) -> dict[str, str]:
    """The variables an rc file sets (``export NAME=value`` lines, shell quoting).

    Blank lines, comments and lines that are not assignments are skipped.
    """
    variables: dict[str, str] = {}
    for number, line in enumerate(Path(path).read_text().splitlines(), start=1):
        try:
            words = shlex.split(line, comments=True)
        except ValueError as exc:
            raise ApiError(None, f"cannot read {path} line {number}: {exc}") from None
        if words[:1] == ["export"]:
            words = words[1:]
        if len(words) != 1 or "=" not in words[0]:
            continue
        name, value = words[0].split("=", 1)
        if name.isidentifier():
            variables[name] = value
    return variables


def load_credentials(
    state_dir: str | Path,
    explicit: Mapping[str, str | None] | None = None,
    env: Mapping[str, str] | None = None,
) -> Credentials:
    """Credentials from explicit values, else ``OS_*`` variables, else the rc file.

    Each field is taken from the first source that has it; the rc file is the
    one ``nimbus up`` writes into the state directory.
    """
    env = os.environ if env is None else env
    rc_path = Path(state_dir) / RC_FILE_NAME
    rc = parse_rc_file(rc_path) if rc_path.is_file() else {}
    values: dict[str, str] = {}
    for field, variable in _ENV_FIELDS.items():
        value = (explicit or {}).get(field) or env.get(variable) or rc.get(variable)
        if value:
            values[field] = value
    missing = [_ENV_FIELDS[f] for f in Credentials.__struct_fields__[:4] if f not in values]
    if missing:
        raise ApiError(
            None,
            f"no credentials: set {', '.join(missing)} or run `nimbus up` "
            f"(which writes {rc_path})",
        )
    return msgspec.convert(values, Credentials)


def error_message(response: httpx.Response) -> str:
    """The message of a Nova-, Keystone- or Glance-style error body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return str(body["message"])
        for value in body.values():
            if isinstance(value, dict) and isinstance(value.get("message"), str):
                return str(value["message"])
    text = response.text.strip()
    return text.splitlines()[0] if text else response.reason_phrase


class NimbusClient:
    """One authenticated session against a nimbus cloud.

    Authentication is lazy (on the first call) and repeated once if a token
    is refused, so a long ``--wait`` survives token expiry.
    """

    def __init__(self, credentials: Credentials, *, timeout: float = 30.0) -> None:
        self.credentials = credentials
        self._http = httpx.Client(timeout=timeout, headers={"Accept": "application/json"})
        self._token: str | None = None
        self._compute_url = ""
        self._image_url = ""
        self._volume_url = ""

    def __enter__(self) -> NimbusClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- servers ----------------------------------------------------------

    def boot(self, name: str, flavor: str, image: str) -> dict[str, Any]:
        body = {"server": {"name": name, "flavorRef": flavor, "imageRef": image}}
        return dict(self._compute("POST", "/servers", json=body)["server"])

    def servers(self) -> list[dict[str, Any]]:
        return list(self._compute("GET", "/servers/detail")["servers"])

    def server(self, ref: str) -> dict[str, Any]:
        """A server by id or by name."""
        return dict(self._compute("GET", f"/servers/{self.server_id(ref)}")["server"])

    def server_id(self, ref: str) -> str:
        """The id of the server named ``ref`` (an id is returned as it is)."""
        if is_uuid(ref):
            return ref
        matches = [s["id"] for s in self.servers() if ref in (s.get("id"), s.get("name"))]
        if not matches:
            raise ApiError(404, f"No server with a name or ID of '{ref}' exists.")
        if len(matches) > 1:
            raise ApiError(409, f"More than one server is named '{ref}'; use its ID.")
        return str(matches[0])

    def pause(self, ref: str) -> None:
        self._action(ref, "pause")

    def unpause(self, ref: str) -> None:
        self._action(ref, "unpause")

    def delete(self, ref: str) -> None:
        self._compute("DELETE", f"/servers/{self.server_id(ref)}")

    def wait_for(
        self,
        server_id: str,
        done: Callable[[dict[str, Any] | None], bool],
        *,
        timeout: float = 120.0,
        interval: float = 0.5,
    ) -> dict[str, Any] | None:
        """Poll a server until ``done`` holds; None is passed once it is gone."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                server: dict[str, Any] | None = self.server(server_id)
            except ApiError as exc:
                if exc.status != 404:
                    raise
                server = None
            if done(server):
                return server
            if time.monotonic() >= deadline:
                status = server.get("status") if server else "gone"
                raise ApiError(
                    None,
                    f"timed out after {timeout:g} s waiting for server {server_id} "
                    f"(status {status})",
                )
            time.sleep(interval)

    # -- catalog ----------------------------------------------------------

    def flavors(self) -> list[dict[str, Any]]:
        return list(self._compute("GET", "/flavors/detail")["flavors"])

    def images(self) -> list[dict[str, Any]]:
        self._authenticate()
        return list(self._call("GET", f"{self._image_url}/images")["images"])

    # -- any service ------------------------------------------------------

    def call(self, service: str, method: str, path: str, json: Any = None) -> Any:
        """``method`` on ``path`` of the ``image`` (Glance v2) or ``volume``
        (Cinder v3, in the token's project) endpoint; the decoded answer."""
        return self._call(method, self._url(service, path), json=json)

    def put_file(self, service: str, path: str, chunks: Iterable[bytes], size: int) -> None:
        """Stream ``chunks`` (``size`` bytes in all) as the body of a PUT
        (a Glance image's data), without holding them in memory."""
        url = self._url(service, path)
        headers = {"X-Auth-Token": self._token or "", "Content-Type": "application/octet-stream",
                   "Content-Length": str(size)}
        response = self._send("PUT", url, content=chunks, headers=headers)
        if response.status_code >= 400:
            raise ApiError(response.status_code, error_message(response))

    def _url(self, service: str, path: str) -> str:
        self._authenticate()
        roots = {"compute": self._compute_url, "image": self._image_url,
                 "volume": self._volume_url}
        return f"{roots[service]}{path}"

    # -- plumbing ---------------------------------------------------------

    def _action(self, ref: str, action: str) -> None:
        self._compute("POST", f"/servers/{self.server_id(ref)}/action", json={action: None})

    def _compute(self, method: str, path: str, json: Any = None) -> Any:
        self._authenticate()
        return self._call(method, f"{self._compute_url}{path}", json=json)

    def _call(self, method: str, url: str, json: Any = None, retry: bool = True) -> Any:
        response = self._send(method, url, json=json, headers={"X-Auth-Token": self._token or ""})
        if response.status_code == 401 and retry:
            self._token = None
            self._authenticate()
            return self._call(method, url, json=json, retry=False)
        if response.status_code >= 400:
            raise ApiError(response.status_code, error_message(response))
        return response.json() if response.content else None

    def _authenticate(self) -> None:
        if self._token:
            return
        c = self.credentials
        body = {
            "auth": {
                "identity": {
                    "methods": ["password"],
                    "password": {
                        "user": {
                            "name": c.username,
                            "domain": {"name": c.user_domain_name},
                            "password": c.password,
                        }
                    },
                },
                "scope": {
                    "project": {"name": c.project_name, "domain": {"name": c.project_domain_name}}
                },
            }
        }
        response = self._send("POST", f"{c.auth_url.rstrip('/')}/auth/tokens", json=body)
        if response.status_code != 201:
            raise ApiError(response.status_code, error_message(response))
        token = response.headers.get("X-Subject-Token")
        if not token:
            raise ApiError(response.status_code, "the identity service sent no X-Subject-Token")
        catalog = response.json().get("token", {}).get("catalog", [])
        base = _service_root(c.auth_url)
        compute = _endpoint(catalog, "compute") or base + COMPUTE_PATH
        image = _endpoint(catalog, "image") or base + "/image"
        project_id = response.json().get("token", {}).get("project", {}).get("id", "")
        volume = _endpoint(catalog, "volumev3") or f"{base}/volume/v3/{project_id}"
        self._volume_url = volume.rstrip("/")
        self._compute_url = compute.rstrip("/")
        self._image_url = image.rstrip("/")
        if not self._image_url.endswith("/v2"):
            self._image_url += "/v2"
        self._token = token

    def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, url, **kwargs)
        except httpx.ConnectError:
            raise ApiError(None, f"nimbus is not answering at {_origin(url)}") from None
        except httpx.TimeoutException:
            raise ApiError(None, f"nimbus did not answer in time at {_origin(url)}") from None
        except httpx.HTTPError as exc:
            raise ApiError(None, f"cannot talk to nimbus at {_origin(url)}: {exc}") from None


def _endpoint(catalog: Any, service_type: str) -> str | None:
    """The public URL of a service in a Keystone v3 catalog."""
    for service in catalog if isinstance(catalog, list) else []:
        if service.get("type") != service_type:
            continue
        for endpoint in service.get("endpoints", []):
            if endpoint.get("interface") == "public" and endpoint.get("url"):
                return str(endpoint["url"])
    return None


def _service_root(auth_url: str) -> str:
    """``http://h:8774`` from ``http://h:8774/identity/v3``."""
    root = auth_url.rstrip("/")
    for suffix in ("/v3", "/identity"):
        root = root.removesuffix(suffix)
    return root


def _origin(url: str) -> str:
    parsed = httpx.URL(url)
    return f"{parsed.scheme}://{parsed.netloc.decode()}"


def is_uuid(ref: str) -> bool:
    try:
        uuid.UUID(ref)
    except ValueError:
        return False
    return True

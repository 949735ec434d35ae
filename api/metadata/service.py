"""The metadata service: each guest asks about itself, and only itself.

A guest is known by ``X-Instance-ID`` signed with the shared secret
(``X-Instance-ID-Signature``: HMAC-SHA256 of the id, hex, as Neutron's
metadata proxy signs it), which the network host's proxy adds for the guest
asking (workers/network/metadata_proxy.py). A request naming no instance it
can prove is refused; nothing else about the cloud is served. Runs as its own app on the
metadata port (8775, the seed's ``metadata_port``).
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from uuid import UUID

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from api.metadata import documents
from domain.metadata import signature
from projections import queries
from projections.queries import InstanceView
from projections.views import Views


@dataclass
class MetadataContext:
    views: Views
    shared_secret: str


class Refused(Exception):
    def __init__(self, status: int, text: str) -> None:
        super().__init__(text)
        self.status = status
        self.text = text


async def _instance(request: Request) -> InstanceView:
    ctx: MetadataContext = request.app.state.metadata
    claimed = request.headers.get("x-instance-id")
    instance_id: UUID | None = None
    if claimed is not None:
        given = request.headers.get("x-instance-id-signature", "")
        if not ctx.shared_secret or not hmac.compare_digest(
                given, signature(ctx.shared_secret, claimed)):
            raise Refused(403, "Invalid proxy request signature.")
        try:
            instance_id = UUID(claimed)
        except ValueError:
            raise Refused(400, "X-Instance-ID is not an instance id.") from None
    if instance_id is None:
        raise Refused(404, "No instance is named by this request (X-Instance-ID).")
    found = await queries.get_instance(ctx.views, instance_id, None)
    if found is None:
        raise Refused(404, f"Instance {instance_id} could not be found.")
    return found


def _text(lines: tuple[str, ...] | list[str]) -> PlainTextResponse:
    return PlainTextResponse("\n".join(lines))


async def ec2_versions(request: Request) -> Response:
    await _instance(request)
    return _text(documents.EC2_VERSIONS)


async def openstack_versions(request: Request) -> Response:
    await _instance(request)
    return _text(documents.OPENSTACK_VERSIONS)


def _version(request: Request, known: tuple[str, ...]) -> str:
    version = str(request.path_params["version"])
    if version not in known:
        raise Refused(404, f"The metadata version {version} is not served.")
    return version


async def openstack_files(request: Request) -> Response:
    _version(request, documents.OPENSTACK_VERSIONS)
    instance = await _instance(request)
    files = [f for f in documents.OPENSTACK_FILES
             if f != "user_data" or instance.user_data is not None]
    return _text(files)


async def openstack_file(request: Request) -> Response:
    _version(request, documents.OPENSTACK_VERSIONS)
    instance = await _instance(request)
    name = request.path_params["name"]
    if name == "meta_data.json":
        return JSONResponse(documents.meta_data(instance))
    if name == "user_data":
        data = documents.user_data(instance)
        if data is None:
            raise Refused(404, "This instance has no user data.")
        return Response(data, media_type="application/octet-stream")
    if name in ("vendor_data.json", "vendor_data2.json"):
        return JSONResponse({})
    if name == "network_data.json":
        return JSONResponse({"links": [], "networks": [], "services": []})
    raise Refused(404, f"{name} is not a metadata file.")


async def ec2_root(request: Request) -> Response:
    _version(request, documents.EC2_VERSIONS)
    instance = await _instance(request)
    return _text(["meta-data/", *(["user-data"] if instance.user_data is not None else [])])


async def ec2_meta_data(request: Request) -> Response:
    _version(request, documents.EC2_VERSIONS)
    instance = await _instance(request)
    client = request.client.host if request.client is not None else ""
    tree = documents.ec2_meta_data(instance, local_ipv4=client)
    parts = [p for p in str(request.path_params.get("path", "")).split("/") if p]
    found = documents.ec2_path(tree, parts)
    if found is None:
        raise Refused(404, "Not found.")
    return PlainTextResponse(found)


async def ec2_user_data(request: Request) -> Response:
    _version(request, documents.EC2_VERSIONS)
    data = documents.user_data(await _instance(request))
    if data is None:
        raise Refused(404, "This instance has no user data.")
    return Response(data, media_type="application/octet-stream")


async def _refused(_request: Request, error: Exception) -> Response:
    assert isinstance(error, Refused)
    return PlainTextResponse(error.text, status_code=error.status)


def create_metadata_app(ctx: MetadataContext) -> Starlette:
    app = Starlette(routes=[
        Route("/", ec2_versions, methods=["GET"]),
        Route("/openstack", openstack_versions, methods=["GET"]),
        Route("/openstack/", openstack_versions, methods=["GET"]),
        Route("/openstack/{version}", openstack_files, methods=["GET"]),
        Route("/openstack/{version}/", openstack_files, methods=["GET"]),
        Route("/openstack/{version}/{name}", openstack_file, methods=["GET"]),
        Route("/{version}", ec2_root, methods=["GET"]),
        Route("/{version}/", ec2_root, methods=["GET"]),
        Route("/{version}/meta-data", ec2_meta_data, methods=["GET"]),
        Route("/{version}/meta-data/{path:path}", ec2_meta_data, methods=["GET"]),
        Route("/{version}/user-data", ec2_user_data, methods=["GET"]),
    ], exception_handlers={Refused: _refused})
    app.state.metadata = ctx
    return app

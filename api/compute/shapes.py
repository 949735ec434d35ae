"""How servers, their actions and attachments, flavors and keypairs look on the
wire, per requested microversion (``version``; docs/compatibility.md lists
what each step changes)."""

from __future__ import annotations

import hashlib
from typing import Any
from uuid import UUID

import msgspec

from api.http import iso, links
from api.metadata.documents import hostname
from api.microversion import MIN, Version
from domain import instance as model
from domain import instance_observations as observations
from domain.volume import Volume
from projections import pending
from projections.catalog_queries import FlavorView, KeypairView
from projections.queries import ActionView, InstanceBrief, InstanceView

# the event nova-compute records for each action; actions missing here
# (lock, unlock) need no host and have no events, as in Nova
EVENT_NAMES = {
    "create": "compute__do_build_and_run_instance",
    "delete": "compute_terminate_instance",
    "reboot": "compute_reboot_instance",
    "pause": "compute_pause_instance",
    "unpause": "compute_unpause_instance",
    "suspend": "compute_suspend_instance",
    "resume": "compute_resume_instance",
    "stop": "compute_stop_instance",
    "start": "compute_start_instance",
    # what a host reported of a guest that differs from the record (the reconciler's)
    **{action: "compute_observe_instance" for action in observations.ACTIONS.values()},
}


def server_brief(base: str, s: InstanceView | InstanceBrief) -> dict[str, Any]:
    return {"id": str(s.id), "name": s.name, "links": links(base, "servers", str(s.id))}


def from_state(state: model.Instance) -> InstanceView:
    """The write side's instance in the view's shape (for command responses)."""
    values = pending.to_row(state)
    values.update(id=UUID(state.id), version=0,
                  status=model.status(state.vm_state, state.task_state))
    return msgspec.convert(values, InstanceView)


def server(base: str, s: InstanceView, *, admin: bool, volumes: list[str] | None = None,
           groups: list[str] | None = None,
           addresses: dict[str, list[dict[str, Any]]] | None = None,
           version: Version = MIN, host_status: str | None = None) -> dict[str, Any]:
    """Nova's server body at microversion ``version``; ``volumes`` are the ids
    of the volumes attached, ``groups`` the names of its ports' security groups
    (None: it has no port, and shows Nova's "default"), ``addresses`` its
    ports' addresses by network name, ``host_status`` its host's (2.16, admins
    only: None leaves it out)."""
    ident = str(s.id)
    attached: list[dict[str, Any]] = [
        {"id": v, **({"delete_on_termination": False} if version >= (2, 3) else {})}
        for v in volumes or []]  # attached through the API: never deleted with the server
    body: dict[str, Any] = {
        **server_brief(base, s),
        "status": s.status,
        "tenant_id": s.project_id,
        "user_id": s.user_id,
        "metadata": dict(s.metadata),
        "hostId": hashlib.sha224(f"{s.project_id}{s.host}".encode()).hexdigest(),
        "image": {"id": s.image_ref, "links": links(base, "images", s.image_ref)[1:]},
        "flavor": {"id": s.flavor_id, "links": links(base, "flavors", s.flavor_id)[1:]},
        "created": iso(s.created_at),
        "updated": iso(s.updated_at),
        "addresses": addresses or {},
        "accessIPv4": s.access_ip_v4,
        "accessIPv6": s.access_ip_v6,
        "key_name": s.key_name,
        "config_drive": "",
        "progress": 0,
        "OS-DCF:diskConfig": "MANUAL",
        "OS-EXT-AZ:availability_zone": s.availability_zone,
        "OS-EXT-STS:vm_state": s.vm_state,
        "OS-EXT-STS:task_state": s.task_state,
        "OS-EXT-STS:power_state": s.power_state,
        "OS-SRV-USG:launched_at": iso(s.launched_at),
        "OS-SRV-USG:terminated_at": iso(s.deleted_at),
        "os-extended-volumes:volumes_attached": attached,
        "security_groups": [{"name": g} for g in (["default"] if groups is None
                                                   else groups)],
    }
    if admin:
        body["OS-EXT-SRV-ATTR:host"] = s.host or None  # none: no host had room
        body["OS-EXT-SRV-ATTR:hypervisor_hostname"] = s.host or None
        body["OS-EXT-SRV-ATTR:instance_name"] = f"instance-{ident}"
    # (a stopped instance's fault: its host lost the guest, or a start failed)
    if s.vm_state in (model.VmState.ERROR, model.VmState.DELETED, model.VmState.STOPPED) \
            and s.fault:
        body["fault"] = {"code": 500, "message": s.fault,
                         "created": iso(s.fault_at or s.updated_at)}

    if admin and version >= (2, 3):
        body.update({
            "OS-EXT-SRV-ATTR:reservation_id": s.reservation_id,
            "OS-EXT-SRV-ATTR:launch_index": s.launch_index,
            "OS-EXT-SRV-ATTR:hostname": hostname(s).removesuffix(".novalocal"),
            "OS-EXT-SRV-ATTR:kernel_id": "",
            "OS-EXT-SRV-ATTR:ramdisk_id": "",
            "OS-EXT-SRV-ATTR:root_device_name": "/dev/vda",
            "OS-EXT-SRV-ATTR:user_data": s.user_data,
        })
    if version >= (2, 9):
        body["locked"] = s.locked
    if version >= (2, 16) and host_status is not None:
        body["host_status"] = host_status
    if version >= (2, 19):
        body["description"] = s.description
    if version >= (2, 26):
        body["tags"] = list(s.tags)
    return body


# what a rename's answer (PUT /servers/{id}) shows before 2.75, as Nova's view does
# with its extensions off; from 2.75 it is the whole body
UPDATED_KEYS = frozenset({
    "id", "name", "links", "status", "tenant_id", "user_id", "metadata", "hostId", "image",
    "flavor", "created", "updated", "addresses", "accessIPv4", "accessIPv6",
    "OS-DCF:diskConfig", "progress", "fault", "locked", "description", "tags",
})


def updated_server(body: dict[str, Any], version: Version) -> dict[str, Any]:
    """The server body as an update answers it at ``version``."""
    if version >= (2, 75):
        return body
    return {k: v for k, v in body.items() if k in UPDATED_KEYS}


def action(a: ActionView) -> dict[str, Any]:
    return {
        "action": a.action,
        "instance_uuid": str(a.instance_id),
        "request_id": a.request_id,
        "user_id": a.user_id,
        "project_id": a.project_id,
        "start_time": iso(a.start_time),
        "message": a.message if a.result == "Error"
        or a.action in observations.ACTIONS.values() else None,
    }


def action_detail(a: ActionView) -> dict[str, Any]:
    """An action with its event, named the way nova-compute names them."""
    name = EVENT_NAMES.get(a.action)
    events = [] if name is None else [{
        "event": name,
        "start_time": iso(a.start_time),
        "finish_time": iso(a.finish_time),
        "result": a.result,
        "traceback": None,
    }]
    return {**action(a), "events": events}


def flavor_brief(base: str, f: FlavorView) -> dict[str, Any]:
    return {"id": f.id, "name": f.name, "links": links(base, "flavors", f.id)}


def flavor(base: str, f: FlavorView) -> dict[str, Any]:
    return {
        **flavor_brief(base, f), "vcpus": f.vcpus, "ram": f.ram, "disk": f.disk,
        "OS-FLV-EXT-DATA:ephemeral": f.ephemeral, "swap": f.swap or "",
        "rxtx_factor": f.rxtx_factor, "os-flavor-access:is_public": f.is_public,
        "OS-FLV-DISABLED:disabled": False,
    }


def keypair_brief(k: KeypairView, version: tuple[int, int]) -> dict[str, Any]:
    body = {"name": k.name, "public_key": k.public_key, "fingerprint": k.fingerprint}
    if version >= (2, 2):
        body["type"] = k.type
    return body


def keypair_id(k: KeypairView) -> int:
    """Nova's keypair ids are integers: a stable 31-bit number from the aggregate id."""
    return k.id.int >> 97


def keypair(k: KeypairView, version: tuple[int, int]) -> dict[str, Any]:
    return {
        **keypair_brief(k, version), "user_id": k.user_id, "id": keypair_id(k),
        "created_at": iso(k.created_at), "updated_at": None, "deleted": False,
        "deleted_at": None,
    }


def volume_attachment(v: Volume) -> dict[str, Any]:
    """Nova's ``volumeAttachment``."""
    return {"id": v.id, "volumeId": v.id, "serverId": v.server_id, "device": v.device}

"""Ports: a place on a network with a MAC and a fixed IP, for a server or a router.

A port's address lives on its network (domain/network.py): the port's
creation and the network's ``AddressAllocated`` are saved together. A port
is DOWN until the network host that serves it reports having applied a log
position at or past the port's last change; then it is ACTIVE (Nova's
``network-vif-plugged`` moment), never after a fixed wait.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import Conflict, NotFound

SERVER_OWNER = "compute:nova"
ROUTER_OWNER = "network:router_interface"
GATEWAY_OWNER = "network:router_gateway"
FLOATING_OWNER = "network:floatingip"


class FixedIp(msgspec.Struct, frozen=True):
    subnet_id: str
    ip_address: str


class PortEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "port"
    request_id: str


class PortCreated(PortEvent, frozen=True, kw_only=True):
    project_id: str
    network_id: str
    name: str
    mac_address: str
    fixed_ips: tuple[FixedIp, ...]
    device_id: str = ""
    device_owner: str = ""
    security_groups: tuple[str, ...] = ()
    admin_state_up: bool = True


class PortUpdated(PortEvent, frozen=True, kw_only=True):
    name: str
    security_groups: tuple[str, ...]
    admin_state_up: bool


class PortBound(PortEvent, frozen=True, kw_only=True):
    """The port is plugged into a server (``device_id``) on ``host``."""

    device_id: str
    device_owner: str
    host: str


class PortUnbound(PortEvent, frozen=True, kw_only=True):
    pass


class PortActivated(PortEvent, frozen=True, kw_only=True):
    """A network host applied the port (it reported a position past its change)."""

    host: str
    answers: ClassVar[bool] = False


class PortDeleted(PortEvent, frozen=True, kw_only=True):
    pass


class PortFloatingIpAttached(PortEvent, frozen=True, kw_only=True):
    """A floating IP points at one of the port's fixed IPs (written with the
    floating IP's ``FloatingIpAssociated``: the port knows its floating IPs, so
    one fixed IP never gets two, and a deleted port lets go of them)."""

    floating_ip_id: str
    fixed_ip_address: str


class PortFloatingIpDetached(PortEvent, frozen=True, kw_only=True):
    floating_ip_id: str


AnyPortEvent = (PortCreated | PortUpdated | PortBound | PortUnbound | PortActivated
                | PortDeleted | PortFloatingIpAttached | PortFloatingIpDetached)


class Port(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    project_id: str
    network_id: str
    name: str
    mac_address: str
    fixed_ips: tuple[FixedIp, ...]
    device_id: str
    device_owner: str
    security_groups: tuple[str, ...]
    admin_state_up: bool
    status: str  # DOWN | ACTIVE
    binding_host: str
    created_at: datetime
    updated_at: datetime
    deleted: bool = False
    floating: dict[str, str] = {}  # fixed IP -> the floating IP pointed at it


def evolve(state: Port | None, event: AnyPortEvent, port_id: str) -> Port:
    if not isinstance(event, AnyPortEvent):
        raise UnknownEvent(event, "port")
    if isinstance(event, PortCreated):
        return Port(id=port_id, project_id=event.project_id, network_id=event.network_id,
                    name=event.name, mac_address=event.mac_address, fixed_ips=event.fixed_ips,
                    device_id=event.device_id, device_owner=event.device_owner,
                    security_groups=event.security_groups,
                    admin_state_up=event.admin_state_up, status="DOWN", binding_host="",
                    created_at=event.at, updated_at=event.at)
    assert state is not None, f"{type(event).__name__} before PortCreated"
    match event:
        case PortUpdated():
            return msgspec.structs.replace(
                state, name=event.name, security_groups=event.security_groups,
                admin_state_up=event.admin_state_up, updated_at=event.at)
        case PortBound():
            return msgspec.structs.replace(
                state, device_id=event.device_id, device_owner=event.device_owner,
                binding_host=event.host, status="DOWN", updated_at=event.at)
        case PortUnbound():
            return msgspec.structs.replace(state, device_id="", device_owner="",
                                           binding_host="", status="DOWN",
                                           updated_at=event.at)
        case PortActivated():
            return msgspec.structs.replace(state, status="ACTIVE", updated_at=event.at)
        case PortDeleted():
            return msgspec.structs.replace(state, deleted=True, status="DOWN",
                                           updated_at=event.at)
        case PortFloatingIpAttached():
            return msgspec.structs.replace(state, floating={
                **state.floating, event.fixed_ip_address: event.floating_ip_id})
        case PortFloatingIpDetached():
            return msgspec.structs.replace(state, floating={
                k: v for k, v in state.floating.items() if v != event.floating_ip_id})
        case _:
            unknown_event(event, "port")


def existing(state: Port | None, port_id: str, project_id: str | None = None) -> Port:
    """The port, if it exists and ``project_id`` (None: an admin) owns it."""
    if state is None or state.deleted or (project_id is not None
                                          and state.project_id != project_id):
        raise NotFound(f"Port {port_id} could not be found.")
    return state


def bind(state: Port, *, device_id: str, host: str, request_id: str,
         at: datetime) -> PortBound:
    """Plug the port into server ``device_id``; refused when another holds it."""
    if state.device_id and state.device_id != device_id:
        raise Conflict(f"Port {state.id} is still in use.")
    return PortBound(at=at, request_id=request_id, device_id=device_id,
                     device_owner=SERVER_OWNER, host=host)


def activate(state: Port, *, host: str, request_id: str, at: datetime) -> PortActivated | None:
    """ACTIVE once its host applied it; nothing when it already is (or is gone)."""
    if state.deleted or state.status == "ACTIVE":
        return None
    return PortActivated(at=at, request_id=request_id, host=host)


def attach_floating(state: Port, *, floating_ip_id: str, fixed_ip: str, request_id: str,
                    at: datetime) -> PortFloatingIpAttached | None:
    """Refused when another floating IP already points at that fixed IP."""
    holder = state.floating.get(fixed_ip)
    if holder == floating_ip_id:
        return None
    if holder is not None:
        raise Conflict(f"Cannot associate floating IP {floating_ip_id} with port {state.id}"
                       f" using fixed IP {fixed_ip}, as that fixed IP already has a floating"
                       f" IP ({holder}).")
    return PortFloatingIpAttached(at=at, request_id=request_id, floating_ip_id=floating_ip_id,
                                  fixed_ip_address=fixed_ip)


def detach_floating(state: Port, floating_ip_id: str, *, request_id: str,
                    at: datetime) -> PortFloatingIpDetached | None:
    if floating_ip_id not in state.floating.values():
        return None
    return PortFloatingIpDetached(at=at, request_id=request_id, floating_ip_id=floating_ip_id)


def delete(state: Port, *, request_id: str, at: datetime,
           by_owner: bool = False) -> PortDeleted:
    """A user may not delete a router's port (only its router may)."""
    if not by_owner and state.device_owner in (ROUTER_OWNER, GATEWAY_OWNER):
        raise Conflict(f"Port {state.id} cannot be deleted directly via the port API:"
                       f" has device owner {state.device_owner}.")
    return PortDeleted(at=at, request_id=request_id)

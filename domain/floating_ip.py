"""Floating IPs: an address of an external network, held by a project and
pointed at a port's fixed IP (the seed's ``floating_range``; the network host
DNATs it to the fixed IP and SNATs the reply).

The address is allocated on the external network (domain/network.py) in the
same transaction as ``FloatingIpCreated``, and counted by the project's
``floating_ips`` quota.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import Conflict, InvalidInput, NotFound


class FloatingIpEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "floating_ip"
    request_id: str


class FloatingIpCreated(FloatingIpEvent, frozen=True, kw_only=True):
    project_id: str
    floating_network_id: str
    floating_ip_address: str
    description: str = ""


class FloatingIpAssociated(FloatingIpEvent, frozen=True, kw_only=True):
    port_id: str
    fixed_ip_address: str


class FloatingIpDisassociated(FloatingIpEvent, frozen=True, kw_only=True):
    pass


class FloatingIpDeleted(FloatingIpEvent, frozen=True, kw_only=True):
    pass


AnyFloatingIpEvent = (FloatingIpCreated | FloatingIpAssociated | FloatingIpDisassociated
                      | FloatingIpDeleted)


class FloatingIp(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    project_id: str
    floating_network_id: str
    floating_ip_address: str
    description: str
    port_id: str | None
    fixed_ip_address: str | None
    created_at: datetime
    updated_at: datetime
    deleted: bool = False
    revision_number: int = 0  # changes since its creation (Neutron's revision_number)

    @property
    def status(self) -> str:
        return "ACTIVE" if self.port_id else "DOWN"


def evolve(state: FloatingIp | None, event: AnyFloatingIpEvent, fip_id: str) -> FloatingIp:
    if not isinstance(event, AnyFloatingIpEvent):
        raise UnknownEvent(event, "floating_ip")
    if isinstance(event, FloatingIpCreated):
        return FloatingIp(id=fip_id, project_id=event.project_id,
                          floating_network_id=event.floating_network_id,
                          floating_ip_address=event.floating_ip_address,
                          description=event.description, port_id=None,
                          fixed_ip_address=None, created_at=event.at, updated_at=event.at)
    assert state is not None, f"{type(event).__name__} before FloatingIpCreated"
    state = msgspec.structs.replace(state, revision_number=state.revision_number + 1)
    match event:
        case FloatingIpAssociated():
            return msgspec.structs.replace(state, port_id=event.port_id,
                                           fixed_ip_address=event.fixed_ip_address,
                                           updated_at=event.at)
        case FloatingIpDisassociated():
            return msgspec.structs.replace(state, port_id=None, fixed_ip_address=None,
                                           updated_at=event.at)
        case FloatingIpDeleted():
            return msgspec.structs.replace(state, deleted=True, port_id=None,
                                           fixed_ip_address=None, updated_at=event.at)
        case _:
            unknown_event(event, "floating_ip")


def existing(state: FloatingIp | None, fip_id: str, project_id: str | None = None) -> FloatingIp:
    if state is None or state.deleted or (project_id is not None
                                          and state.project_id != project_id):
        raise NotFound(f"Floating IP {fip_id} could not be found")
    return state


def require_external(external: bool, network_id: str) -> None:
    if not external:
        raise InvalidInput(f"Bad floatingip request: Network {network_id} is not a valid"
                           " external network.")


def associate(state: FloatingIp, *, port_id: str, fixed_ips: list[str],
              fixed_ip: str | None, taken_by: str | None, request_id: str,
              at: datetime) -> FloatingIpAssociated | None:
    """Point the floating IP at ``port_id``'s ``fixed_ip`` (its first, when None).
    ``taken_by``: the floating IP already on that fixed IP, if any."""
    if not fixed_ips:
        raise InvalidInput(f"Bad floatingip request: Port {port_id} does not have any IPv4"
                           " address.")
    chosen = fixed_ip or fixed_ips[0]
    if chosen not in fixed_ips:
        raise InvalidInput(f"Bad floatingip request: Port {port_id} does not have fixed ip"
                           f" {chosen}.")
    if state.port_id == port_id and state.fixed_ip_address == chosen:
        return None
    if taken_by is not None and taken_by != state.id:
        raise Conflict(f"Cannot associate floating IP {state.floating_ip_address} ({state.id})"
                       f" with port {port_id} using fixed IP {chosen}, as that fixed IP"
                       f" already has a floating IP on external network"
                       f" {state.floating_network_id}.")
    return FloatingIpAssociated(at=at, request_id=request_id, port_id=port_id,
                                fixed_ip_address=chosen)


def disassociate(state: FloatingIp, *, request_id: str,
                 at: datetime) -> FloatingIpDisassociated | None:
    if state.port_id is None:
        return None
    return FloatingIpDisassociated(at=at, request_id=request_id)

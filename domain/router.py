"""Routers: the subnets a project joins and the external network it goes out by.

As in nova-network, one network host routes every fixed network and SNATs it
out of the public side; a router records which subnets go out through which
external network (and so which floating IPs may reach them). Each interface
is a port holding its subnet's gateway address.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import Conflict, NotFound


class Interface(msgspec.Struct, frozen=True):
    subnet_id: str
    port_id: str


class RouterEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "router"
    request_id: str


class RouterCreated(RouterEvent, frozen=True, kw_only=True):
    project_id: str
    name: str
    admin_state_up: bool = True


class RouterGatewaySet(RouterEvent, frozen=True, kw_only=True):
    network_id: str


class RouterGatewayCleared(RouterEvent, frozen=True, kw_only=True):
    pass


class RouterInterfaceAdded(RouterEvent, frozen=True, kw_only=True):
    interface: Interface


class RouterInterfaceRemoved(RouterEvent, frozen=True, kw_only=True):
    subnet_id: str


class RouterDeleted(RouterEvent, frozen=True, kw_only=True):
    pass


AnyRouterEvent = (RouterCreated | RouterGatewaySet | RouterGatewayCleared
                  | RouterInterfaceAdded | RouterInterfaceRemoved | RouterDeleted)


class Router(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    project_id: str
    name: str
    admin_state_up: bool
    gateway_network_id: str | None
    interfaces: tuple[Interface, ...]
    created_at: datetime
    updated_at: datetime
    deleted: bool = False


def evolve(state: Router | None, event: AnyRouterEvent, router_id: str) -> Router:
    if not isinstance(event, AnyRouterEvent):
        raise UnknownEvent(event, "router")
    if isinstance(event, RouterCreated):
        return Router(id=router_id, project_id=event.project_id, name=event.name,
                      admin_state_up=event.admin_state_up, gateway_network_id=None,
                      interfaces=(), created_at=event.at, updated_at=event.at)
    assert state is not None, f"{type(event).__name__} before RouterCreated"
    match event:
        case RouterGatewaySet():
            return msgspec.structs.replace(state, gateway_network_id=event.network_id,
                                           updated_at=event.at)
        case RouterGatewayCleared():
            return msgspec.structs.replace(state, gateway_network_id=None,
                                           updated_at=event.at)
        case RouterInterfaceAdded():
            return msgspec.structs.replace(state, interfaces=(*state.interfaces,
                                                              event.interface),
                                           updated_at=event.at)
        case RouterInterfaceRemoved():
            return msgspec.structs.replace(state, interfaces=tuple(
                i for i in state.interfaces if i.subnet_id != event.subnet_id),
                updated_at=event.at)
        case RouterDeleted():
            return msgspec.structs.replace(state, deleted=True, updated_at=event.at)
        case _:
            unknown_event(event, "router")


def existing(state: Router | None, router_id: str, project_id: str | None = None) -> Router:
    if state is None or state.deleted or (project_id is not None
                                          and state.project_id != project_id):
        raise NotFound(f"Router {router_id} could not be found")
    return state


def add_interface(state: Router, *, subnet_id: str, port_id: str, request_id: str,
                  at: datetime) -> RouterInterfaceAdded:
    if any(i.subnet_id == subnet_id for i in state.interfaces):
        raise Conflict(f"Router already has a port on subnet {subnet_id}.")
    return RouterInterfaceAdded(at=at, request_id=request_id,
                                interface=Interface(subnet_id, port_id))


def remove_interface(state: Router, *, subnet_id: str, request_id: str,
                     at: datetime) -> tuple[RouterInterfaceRemoved, str]:
    """The removal and the port it frees."""
    found = next((i for i in state.interfaces if i.subnet_id == subnet_id), None)
    if found is None:
        raise NotFound(f"Router {state.id} does not have an interface with id {subnet_id}")
    return RouterInterfaceRemoved(at=at, request_id=request_id, subnet_id=subnet_id), \
        found.port_id


def delete(state: Router, *, request_id: str, at: datetime) -> RouterDeleted:
    if state.interfaces:
        raise Conflict(f"Router {state.id} still has ports")
    return RouterDeleted(at=at, request_id=request_id)

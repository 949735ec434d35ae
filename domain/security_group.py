"""Security groups and their rules: what may reach a port, enforced on the
network host (per-port chains of the host's nftables ruleset).

A rule allows traffic in (ingress) or out (egress) by protocol and port range,
from a CIDR or from the ports of another group (resolved to their addresses
when the host's plan is built). A new group allows all egress, as Neutron's.
"""

from __future__ import annotations

import ipaddress
from datetime import datetime
from typing import ClassVar

import msgspec

from domain.base import Event, UnknownEvent, unknown_event
from domain.errors import Conflict, InvalidInput, NotFound

PROTOCOLS = {"tcp": 6, "udp": 17, "icmp": 1}
DIRECTIONS = ("ingress", "egress")


class Rule(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    direction: str
    ethertype: str = "IPv4"
    protocol: str | None = None
    port_range_min: int | None = None
    port_range_max: int | None = None
    remote_ip_prefix: str | None = None
    remote_group_id: str | None = None
    description: str = ""

    def same(self, other: Rule) -> bool:
        return (self.direction, self.ethertype, self.protocol, self.port_range_min,
                self.port_range_max, self.remote_ip_prefix, self.remote_group_id) == (
            other.direction, other.ethertype, other.protocol, other.port_range_min,
            other.port_range_max, other.remote_ip_prefix, other.remote_group_id)


class SecurityGroupEvent(Event, frozen=True, kw_only=True):
    aggregate: ClassVar[str] = "security_group"
    request_id: str


class SecurityGroupCreated(SecurityGroupEvent, frozen=True, kw_only=True):
    project_id: str
    name: str
    description: str = ""
    rules: tuple[Rule, ...] = ()


class SecurityGroupUpdated(SecurityGroupEvent, frozen=True, kw_only=True):
    name: str
    description: str


class SecurityGroupRuleAdded(SecurityGroupEvent, frozen=True, kw_only=True):
    rule: Rule


class SecurityGroupRuleRemoved(SecurityGroupEvent, frozen=True, kw_only=True):
    rule_id: str


class SecurityGroupDeleted(SecurityGroupEvent, frozen=True, kw_only=True):
    pass


AnySecurityGroupEvent = (SecurityGroupCreated | SecurityGroupUpdated | SecurityGroupRuleAdded
                         | SecurityGroupRuleRemoved | SecurityGroupDeleted)


class SecurityGroup(msgspec.Struct, frozen=True, kw_only=True):
    id: str
    project_id: str
    name: str
    description: str
    rules: tuple[Rule, ...]
    created_at: datetime
    updated_at: datetime
    deleted: bool = False
    revision_number: int = 0  # changes since its creation, rules too (Neutron's)


def evolve(state: SecurityGroup | None, event: AnySecurityGroupEvent,
           group_id: str) -> SecurityGroup:
    if not isinstance(event, AnySecurityGroupEvent):
        raise UnknownEvent(event, "security_group")
    if isinstance(event, SecurityGroupCreated):
        return SecurityGroup(id=group_id, project_id=event.project_id, name=event.name,
                             description=event.description, rules=event.rules,
                             created_at=event.at, updated_at=event.at)
    assert state is not None, f"{type(event).__name__} before SecurityGroupCreated"
    state = msgspec.structs.replace(state, revision_number=state.revision_number + 1)
    match event:
        case SecurityGroupUpdated():
            return msgspec.structs.replace(state, name=event.name,
                                           description=event.description,
                                           updated_at=event.at)
        case SecurityGroupRuleAdded():
            return msgspec.structs.replace(state, rules=(*state.rules, event.rule),
                                           updated_at=event.at)
        case SecurityGroupRuleRemoved():
            return msgspec.structs.replace(
                state, rules=tuple(r for r in state.rules if r.id != event.rule_id),
                updated_at=event.at)
        case SecurityGroupDeleted():
            return msgspec.structs.replace(state, deleted=True, updated_at=event.at)
        case _:
            unknown_event(event, "security_group")


def existing(state: SecurityGroup | None, group_id: str,
             project_id: str | None = None) -> SecurityGroup:
    if state is None or state.deleted or (project_id is not None
                                          and state.project_id != project_id):
        raise NotFound(f"Security group {group_id} does not exist")
    return state


def create(*, request_id: str, project_id: str, name: str, description: str,
           egress_rule_ids: tuple[str, str], at: datetime,
           default: bool = False) -> SecurityGroupCreated:
    """A group that lets everything out and nothing in (Neutron's new group).
    Only the project's ``default`` group may be named "default" (it can then
    be neither renamed nor deleted)."""
    if name == "default" and not default:
        raise Conflict("Default security group already exists.")
    _checked(name, description)
    egress = tuple(Rule(id=rid, direction="egress", ethertype=eth)
                   for rid, eth in zip(egress_rule_ids, ("IPv4", "IPv6"), strict=True))
    return SecurityGroupCreated(at=at, request_id=request_id, project_id=project_id,
                                name=name, description=description, rules=egress)


def _checked(name: str, description: str) -> None:
    if not name or len(name) > 255:
        raise InvalidInput("Invalid input for name. Reason: a security group name must be"
                           " 1 to 255 characters.")
    if len(description) > 255:
        raise InvalidInput("Invalid input for description. Reason: it exceeds 255"
                           " characters.")


def update(state: SecurityGroup, *, name: str | None, description: str | None,
           request_id: str, at: datetime) -> SecurityGroupUpdated:
    if state.name == "default" and name not in (None, "default"):
        raise Conflict("Insufficient rights for renaming the default security group.")
    new_name = state.name if name is None else name
    new_description = state.description if description is None else description
    _checked(new_name, new_description)
    return SecurityGroupUpdated(at=at, request_id=request_id, name=new_name,
                                description=new_description)


def rule(*, rule_id: str, direction: str, ethertype: str = "IPv4", protocol: str | None,
         port_range_min: int | None, port_range_max: int | None,
         remote_ip_prefix: str | None, remote_group_id: str | None,
         description: str = "") -> Rule:
    """A valid rule, or Neutron's 400 naming what is wrong with it."""
    if direction not in DIRECTIONS:
        raise InvalidInput(f"Invalid input for direction. Reason: {direction!r} is not in"
                           f" {list(DIRECTIONS)}.")
    if ethertype not in ("IPv4", "IPv6"):
        raise InvalidInput(f"Invalid input for ethertype. Reason: {ethertype!r} is not in"
                           " ['IPv4', 'IPv6'].")
    if protocol is not None:
        protocol = protocol.lower()
        by_number = {str(n): name for name, n in PROTOCOLS.items()}
        protocol = by_number.get(protocol, protocol)
        if protocol not in PROTOCOLS:
            raise InvalidInput(f"Security group rule protocol {protocol} not supported. Only"
                               f" protocol values {sorted(PROTOCOLS)} and integer"
                               " representations [0 to 255] are supported.")
    ports = (port_range_min, port_range_max)
    if ports != (None, None) and protocol not in ("tcp", "udp", "icmp"):
        raise InvalidInput("Must also specify protocol if port range is given.")
    if ports != (None, None) and protocol == "icmp":
        # ICMP's are not a range: port_range_min is the type, port_range_max the
        # code, and a type without a code is every code of that type (Neutron's)
        if port_range_min is None:
            raise InvalidInput(f"ICMP code (port-range-max) {port_range_max} is provided but"
                               " ICMP type (port-range-min) is missing.")
        for field, value in (("type", port_range_min), ("code", port_range_max)):
            if value is not None and not 0 <= value <= 255:
                raise InvalidInput(f"Invalid value for ICMP {field} (port-range-"
                                   f"{'min' if field == 'type' else 'max'}): {value}. It"
                                   " must be 0 to 255.")
    elif ports != (None, None):
        low = port_range_min if port_range_min is not None else port_range_max
        high = port_range_max if port_range_max is not None else port_range_min
        assert low is not None and high is not None
        for value in (low, high):
            if not 1 <= value <= 65535:
                raise InvalidInput(f"Invalid value for port {value}.")
        if low > high:
            raise InvalidInput("For TCP/UDP protocols, port_range_min must be <="
                               " port_range_max")
        port_range_min, port_range_max = low, high
    if remote_ip_prefix is not None and remote_group_id is not None:
        raise InvalidInput("Only remote_ip_prefix or remote_group_id may be provided.")
    if remote_ip_prefix is not None:
        try:
            net = ipaddress.ip_network(remote_ip_prefix, strict=False)
        except ValueError:
            raise InvalidInput(f"Invalid input for remote_ip_prefix. Reason:"
                               f" '{remote_ip_prefix}' is not a valid IP prefix.") from None
        if (net.version == 4) != (ethertype == "IPv4"):
            raise InvalidInput(f"Conflicting value ethertype {ethertype} for CIDR"
                               f" {remote_ip_prefix}")
        remote_ip_prefix = str(net)
    return Rule(id=rule_id, direction=direction, ethertype=ethertype, protocol=protocol,
                port_range_min=port_range_min, port_range_max=port_range_max,
                remote_ip_prefix=remote_ip_prefix, remote_group_id=remote_group_id,
                description=description)


def add_rule(state: SecurityGroup, new: Rule, *, request_id: str,
             at: datetime) -> SecurityGroupRuleAdded:
    for old in state.rules:
        if old.same(new):
            raise Conflict(f"Security group rule already exists. Rule id is {old.id}.")
    return SecurityGroupRuleAdded(at=at, request_id=request_id, rule=new)


def remove_rule(state: SecurityGroup, rule_id: str, *, request_id: str,
                at: datetime) -> SecurityGroupRuleRemoved:
    if not any(r.id == rule_id for r in state.rules):
        raise NotFound(f"Security group rule {rule_id} does not exist")
    return SecurityGroupRuleRemoved(at=at, request_id=request_id, rule_id=rule_id)


def delete(state: SecurityGroup, *, in_use: bool, request_id: str,
           at: datetime) -> SecurityGroupDeleted:
    if state.name == "default":
        raise Conflict("Insufficient rights for removing default security group.")
    if in_use:
        raise Conflict(f"Security Group {state.id} in use.")
    return SecurityGroupDeleted(at=at, request_id=request_id)

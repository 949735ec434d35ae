"""Floating IP commands: allocate one from an external network (its address
and the project's quota claim in the same transaction), point it at a port
or nowhere, and release it. The port records the floating IP pointed at it,
so one fixed IP never holds two.
"""

from __future__ import annotations

from datetime import datetime

from commands.application import Aggregate, Change, Written
from commands.lookups import parse_id
from commands.messages import Caller
from commands.network_base import NetworkBase, new_id, scope_of
from commands.quotas import defaults_of
from domain import floating_ip as fip_model
from domain import network as model
from domain import port as port_model
from domain import quota as quota_model


class FloatingIpCommands(NetworkBase):
    def _association(self, fip: Aggregate[fip_model.FloatingIp], state: fip_model.FloatingIp,
                     caller: Caller, request_id: str, at: datetime, port_id: str,
                     fixed_ip: str | None) -> list[Change]:
        """Point the floating IP at ``port_id``: written on both, so two floating IPs
        racing for one fixed IP conflict on the port, and one of them is refused."""
        port = self._port(port_id)
        target = port_model.existing(port.current, port_id, scope_of(caller))
        fixed_ips = [f.ip_address for f in target.fixed_ips]
        chosen = fixed_ip or next(iter(fixed_ips), None)
        associated = fip_model.associate(
            state, port_id=port_id, fixed_ips=fixed_ips, fixed_ip=fixed_ip,
            taken_by=target.floating.get(chosen) if chosen else None,
            request_id=request_id, at=at)
        if associated is None:
            return []
        changes: list[Change] = [(fip, associated)]
        if state.port_id is not None:  # moved: its old port lets go of it first
            changes += self._let_go(state, request_id, at,
                                    port if state.port_id == port_id else None)
        changes.append((port, port_model.attach_floating(
            port.state, floating_ip_id=state.id, fixed_ip=associated.fixed_ip_address,
            request_id=request_id, at=at)))
        return changes

    def _let_go(self, state: fip_model.FloatingIp, request_id: str, at: datetime,
                port: Aggregate[port_model.Port] | None = None) -> list[Change]:
        """The port the floating IP points at forgets it (recorded at once, so an
        attach to the same port in this decision sees it gone)."""
        if state.port_id is None:
            return []
        held = port or self._port(state.port_id)
        if held.current is not None:
            detached = port_model.detach_floating(held.current, state.id,
                                                  request_id=request_id, at=at)
            if detached is not None:
                held.record(detached)
        return [(held, None)]

    def floating_ip(self, fip_id: str, caller: Caller) -> fip_model.FloatingIp:
        """The floating IP as the write side knows it now (if the caller may see it)."""
        return fip_model.existing(self._fip(fip_id).current, fip_id, scope_of(caller))

    def create_floating_ip(self, caller: Caller, request_id: str, network_id: str, *,
                           address: str | None = None, port_id: str | None = None,
                           fixed_ip: str | None = None, description: str = ""
                           ) -> Written[fip_model.FloatingIp]:
        """A floating IP of external network ``network_id``, pointed at ``port_id``
        when given."""
        fip_id = new_id(request_id)

        def decide(fip: Aggregate[fip_model.FloatingIp], at: datetime) -> list[Change]:
            network = self._network(network_id)
            state = model.existing(network.current, network_id, scope_of(caller))
            fip_model.require_external(state.external, network_id)
            quota = self._quota(caller.project_id)
            claim = quota_model.claim_network(
                quota.current, defaults_of(self.app, self.quota_defaults),
                project_id=caller.project_id,
                owner_id=str(fip_id), resource="floating_ips", at=at)
            allocated = model.allocate(state, owner=str(fip_id), request_id=request_id,
                                       at=at, ip=address)
            created = fip_model.FloatingIpCreated(
                at=at, request_id=request_id, project_id=caller.project_id,
                floating_network_id=network_id, floating_ip_address=allocated.ip,
                description=description)
            changes: list[Change] = [(fip, created), (network, allocated), (quota, claim)]
            if port_id is not None:
                changes += self._association(fip, fip.after(created), caller, request_id, at,
                                             port_id, fixed_ip)
            return changes

        return self.app.execute(request_id, lambda: self._fip(fip_id), decide,
                                touches=[fip_id, parse_id(network_id, "Network"),
                                         quota_model.quota_id(caller.project_id)])

    def update_floating_ip(self, caller: Caller, request_id: str, fip_id: str, *,
                           port_id: str | None, fixed_ip: str | None = None
                           ) -> Written[fip_model.FloatingIp]:
        """Associate with ``port_id`` or, when None, disassociate."""
        def decide(fip: Aggregate[fip_model.FloatingIp], at: datetime) -> list[Change]:
            state = fip_model.existing(fip.current, fip_id, scope_of(caller))
            if port_id is None:
                return [(fip, fip_model.disassociate(state, request_id=request_id, at=at)),
                        *self._let_go(state, request_id, at)]
            return self._association(fip, state, caller, request_id, at, port_id, fixed_ip)

        return self.app.execute(request_id, lambda: self._fip(fip_id), decide)

    def delete_floating_ip(self, caller: Caller, request_id: str,
                           fip_id: str) -> Written[fip_model.FloatingIp]:
        def decide(fip: Aggregate[fip_model.FloatingIp], at: datetime) -> list[Change]:
            state = fip_model.existing(fip.current, fip_id, scope_of(caller))
            network = self._network(state.floating_network_id)
            quota = self._quota(state.project_id)
            return [(fip, fip_model.FloatingIpDeleted(at=at, request_id=request_id)),
                    (network, model.release(network.state, fip_id, request_id=request_id,
                                            at=at)),
                    (quota, quota_model.release_network(quota.current, fip_id, at)),
                    *self._let_go(state, request_id, at)]

        return self.app.execute(request_id, lambda: self._fip(fip_id), decide)


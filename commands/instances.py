"""Instance commands: boot, act on an instance, change it, record hosts' outcomes.

Every command carries a request id; a request already in the instance's
history returns its first result and writes nothing (the ids of a boot's
instances are derived from its request id and their index, so a retried boot
finds the instances it made). Another project's instance is "not found", as
Nova answers. A delete detaches the instance's volumes in the same
transaction, as Nova's delete does.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from functools import partial

from commands import instance_changes, migration_steps
from commands.application import Aggregate, Change, NimbusApplication, Written, nothing
from commands.catalog import CatalogLookups
from commands.messages import (
    Accepted,
    BootInstance,
    Caller,
    DeleteInstance,
    InstanceChange,
    InstanceCommand,
    NicRequest,
    RebootInstance,
    RebuildInstance,
)
from commands.networks import NetworkCommands
from commands.placement import Placement
from commands.server_groups import ServerGroupCommands
from commands.volumes import detach_for_server_delete
from domain import events as ev
from domain import host_aggregate as zone_model
from domain import instance as model
from domain import instance_boot as boot_rules
from domain import instance_observations as observations
from domain import migration as migration_rules
from domain import network as net_model
from domain import port as port_model
from domain import server_image
from domain.errors import InvalidInput, NotFound
from domain.host import host_id
from domain.image import ImageState
from domain.instance_changes import check_metadata
from domain.registry import HOST, HOST_AGGREGATE, IMAGE, INSTANCE, PORT
from messaging.wire import GuestsObserved, HostOutcome

REQUEST_NAMESPACE = uuid.UUID("6f1c3c52-8d8e-4c1e-9a55-4b1f0f0c2a10")


class InstanceCommands:
    def __init__(
        self, app: NimbusApplication, catalog: CatalogLookups, placement: Placement
    ) -> None:
        self.app = app
        self.catalog = catalog
        self.placement = placement
        # the seed's resume_guests_state_on_host_boot: bring back guests a host lost
        self.resume_guests = True

    def boot(self, cmd: BootInstance) -> Accepted:
        """Start ``max_count`` instances: all of them and their claims in one commit."""
        count = boot_rules.instance_count(cmd.min_count, cmd.max_count)
        zone = self._zone(cmd.availability_zone)
        boot_rules.check_user_data(cmd.user_data)
        check_metadata(cmd.metadata)
        flavor, image, public_key = self.catalog.boot_refs(
            cmd.flavor_ref, cmd.image_ref, cmd.key_name, cmd.caller)
        boot_rules.check_image_fits(flavor, image)
        ids = [instance_id_for(cmd.request_id, i) for i in range(count)]
        names = boot_rules.display_names(cmd.name, count)
        reservation = f"r-{uuid.uuid5(REQUEST_NAMESPACE, cmd.request_id).hex[:8]}"

        if any(nic.port_id for nic in cmd.networks) and count > 1:
            raise InvalidInput("Unable to launch multiple instances with a single configured"
                               " port ID. Please launch your instance one by one with"
                               " different ports.")

        def decide(first: Aggregate[model.Instance], at: datetime) -> list[Change]:
            made: list[Change] = []
            # a zone asked for: its hosts only (none asked: any host, Nova's default)
            only = self._zone_hosts(zone) if cmd.availability_zone else None
            policy = None
            if cmd.server_group is not None:  # its policy against its members' hosts
                group, only = ServerGroupCommands(self.app).for_boot(
                    cmd.server_group, cmd.caller, sorted(
                        only if only is not None else self._hosts()))
                policy = group.state.policy
                made.append((group, [ServerGroupCommands.joined(group, str(i), cmd.request_id,
                                                                at) for i in ids]))
            hosts, claims = self.placement.place(ids, flavor, cmd.caller, at, only=only,
                                                 policy=policy)
            networks: dict[str, Aggregate[net_model.Network]] = {}  # each loaded once
            for index, (instance_id, host, name) in enumerate(zip(
                    ids, hosts or [""] * count, names, strict=True)):
                instance = first if index == 0 else Aggregate(instance_id, INSTANCE)
                nics: list[ev.Nic] = []
                for number, nic in enumerate(cmd.networks if hosts else ()):
                    plugged, changes = self._plug(cmd, at, nic, networks, str(instance_id),
                                                  host, f"#{index}#nic{number}")
                    nics.append(plugged)
                    made += changes
                created = model.create(
                    str(instance_id), request_id=cmd.request_id, at=at,
                    project_id=cmd.caller.project_id, user_id=cmd.caller.user_id, name=name,
                    flavor=flavor, image=image, host=host, key_name=cmd.key_name,
                    public_key=public_key, metadata=cmd.metadata, user_data=cmd.user_data,
                    availability_zone=zone, reservation_id=reservation, launch_index=index,
                    description=cmd.description, nics=nics, access_ip_v4=cmd.access_ip_v4,
                    access_ip_v6=cmd.access_ip_v6)
                # no host has room: in ERROR at once, with no ports (Nova's NoValidHost)
                made.append((instance, [created, model.unplaced(created)] if not host
                             else created))
            return [*made, *claims]

        return _accepted(self.app.execute(cmd.request_id, lambda: self._load(ids[0]), decide,
                                          touches=ids))

    def _zone(self, asked: str | None) -> str:
        """The zone to boot in. The host aggregates are read only for a zone
        that is not Nova's own: outside the batch, each read is a round trip."""
        if not asked or asked in boot_rules.AVAILABILITY_ZONES:
            return boot_rules.check_availability_zone(asked)
        directory = self.app.load_or_new(zone_model.DIRECTORY, HOST_AGGREGATE).current
        return boot_rules.check_availability_zone(asked, frozenset(zone_model.zones(directory)))

    def _hosts(self) -> frozenset[str]:
        return frozenset(h.state.host for h in self.placement.hosts())

    def _zone_hosts(self, zone: str) -> frozenset[str]:
        """The registered hosts in ``zone`` (by the host aggregates' zones)."""
        directory = self.app.load_or_new(zone_model.DIRECTORY, HOST_AGGREGATE).current
        return zone_model.hosts_in_zone(directory, zone, sorted(self._hosts()))

    @property
    def networks(self) -> NetworkCommands:
        return NetworkCommands(self.app, self.placement.quotas)

    def _plug(self, cmd: BootInstance, at: datetime, nic: NicRequest,
              networks: dict[str, Aggregate[net_model.Network]], instance_id: str, host: str,
              which: str) -> tuple[ev.Nic, list[Change]]:
        """One interface of a booting instance: a new port on a network, or an
        existing port bound to it; in the boot's transaction."""
        ports = self.networks
        if nic.port_id is not None:
            port = ports.load_port(nic.port_id)
            state = port_model.existing(port.current, nic.port_id,
                                        None if cmd.caller.is_admin else cmd.caller.project_id)
            network = networks.setdefault(state.network_id, ports.load_network(state.network_id))
            bound = port_model.bind(state, device_id=instance_id, host=host,
                                    request_id=cmd.request_id, at=at)
            return (ev.Nic(port_id=nic.port_id, network_id=state.network_id,
                           mac=state.mac_address, bridge=network.state.bridge, owned=False),
                    [(port, bound)])
        assert nic.network_id is not None
        network = networks.setdefault(nic.network_id, ports.load_network(nic.network_id))
        port = Aggregate(uuid.uuid5(REQUEST_NAMESPACE, cmd.request_id + which), PORT)
        changes = ports.port_changes(
            cmd.caller, cmd.request_id, at, port=port, network=network, fixed_ip=nic.fixed_ip,
            device_id=instance_id, device_owner=port_model.SERVER_OWNER)
        changes.append((port, port_model.PortBound(
            at=at, request_id=cmd.request_id, device_id=instance_id,
            device_owner=port_model.SERVER_OWNER, host=host)))
        return (ev.Nic(port_id=str(port.id), network_id=nic.network_id,
                       mac=net_model.mac_of(port.id), bridge=network.state.bridge),
                changes)

    def act(self, cmd: InstanceCommand) -> Accepted:
        """A host operation: reboot, pause, unpause, suspend, resume, stop, start, delete."""
        kind = cmd.requests
        instance_id = _parse_id(cmd.instance_id)
        hard = isinstance(cmd, RebootInstance) and cmd.hard
        force = isinstance(cmd, DeleteInstance) and cmd.force

        def decide(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            state = _visible(instance, cmd.caller)
            asked = model.request(state, kind, request_id=cmd.request_id, at=at,
                                  user_id=cmd.caller.user_id, is_admin=cmd.caller.is_admin,
                                  hard=hard, force=force)
            if kind is not ev.InstanceDeleteRequested:
                return [(instance, asked)]
            # in VERIFY_RESIZE: the resize is confirmed on the way, in this commit
            confirmed = migration_rules.confirm_on_delete(
                state, request_id=cmd.request_id, user_id=cmd.caller.user_id, at=at)
            # its volumes detach and its ports go in the same commit
            detached = detach_for_server_delete(self.app, str(instance_id), cmd.request_id, at)
            unplugged = self.networks.unplug(instance.state.nics, request_id=cmd.request_id,
                                             at=at)
            # one no host holds goes at once, its quota with it
            deleted = model.local_delete(instance.state, asked)
            gone = [] if deleted is None else [deleted]
            released = [] if deleted is None else self.placement.release(instance.state, at)
            first = [] if confirmed is None else [confirmed]
            return [(instance, [*first, asked, *gone]),
                    *((aggregate, None) for aggregate in detached),
                    *unplugged, *self._discard_snapshot(instance.state, cmd.request_id, at),
                    *released]

        return _accepted(self.app.execute(cmd.request_id, lambda: self._load(instance_id),
                                          decide, touches=[instance_id]))

    def rebuild(self, cmd: RebuildInstance) -> Accepted:
        """Rebuild on the instance's host from an image the caller may boot."""
        instance_id = _parse_id(cmd.instance_id)
        image = self.catalog.image(cmd.image_ref, cmd.caller)
        if cmd.metadata is not None:
            check_metadata(cmd.metadata)

        def decide(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            return [(instance, model.rebuild(
                _visible(instance, cmd.caller), image, request_id=cmd.request_id, at=at,
                user_id=cmd.caller.user_id, is_admin=cmd.caller.is_admin, name=cmd.name,
                metadata=cmd.metadata))]

        return _accepted(self.app.execute(cmd.request_id, lambda: self._load(instance_id),
                                          decide, touches=[instance_id]))

    def _discard_snapshot(self, state: model.Instance, request_id: str,
                          at: datetime) -> list[Change]:
        """A delete ends a snapshot in flight: its reserved image goes too, as
        in Nova (commands/server_images.py)."""
        if state.snapshot_image is None or not server_image.in_flight(state):
            return []
        image: Aggregate[ImageState] = self.app.load_or_new(
            uuid.UUID(state.snapshot_image), IMAGE)
        return [(image, server_image.discard(image.current, request_id=request_id, at=at))]

    def change(self, cmd: InstanceChange) -> Accepted:
        """Lock, unlock, rename or change metadata: decided and done at once."""
        instance_id = _parse_id(cmd.instance_id)
        return _accepted(self.app.execute(
            cmd.request_id, lambda: self._load(instance_id),
            lambda instance, at: [(instance, instance_changes.decide(
                _visible(instance, cmd.caller), cmd, at))], touches=[instance_id]))

    def record_outcome(self, outcome: HostOutcome) -> int | None:
        """Record a host's report as an event; a repeated report writes nothing.
        An instance the reconciler brings back gets its next request.

        Returns the log position written, or None when nothing was.
        """
        instance_id = _parse_id(outcome.instance_id)
        if not outcome.final:  # a live migration's copy goes on: how far it is
            return migration_steps.progressed(self.app, instance_id, outcome)

        def decide(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            if instance.current is None:
                return []
            event = model.complete(instance.state, outcome.request_id, ok=outcome.ok,
                                   at=outcome.at, reason=outcome.reason)
            released = (self.placement.release(instance.state, at)
                        if isinstance(event, ev.InstanceDeleted) else [])
            # a step of a move: the next step's request, a claim given back
            moved = migration_steps.follow(self.app, instance, event, at)
            return [(instance, event), *released, *moved]

        written = self.app.execute(None, lambda: self._load(instance_id), decide,
                                   answer=_current, touches=[instance_id])
        if written.state is not None and observations.restore_step(written.state):
            self.continue_restore(str(instance_id))
        return written.position

    def record_observation(self, report: GuestsObserved) -> list[str]:
        """Compare a host's report of its guests with the instances placed on
        it (or the one it names) and record where they differ; then the
        reconciler's first request for each instance it brings back. A
        repeated report writes nothing. Returns the ids of the instances
        observed."""
        seen = {g.instance_id: g.state for g in report.guests}
        if report.instance_id is not None:
            ids = {report.instance_id}
        else:
            host = self.app.find(HOST, host_id(report.host))
            ids = set(host.state.claims if host is not None else ()) | set(seen)
        observed: list[str] = []
        for instance_id in sorted(ids):
            try:
                key = uuid.UUID(instance_id)
            except ValueError:
                continue  # a guest nimbus did not make
            guest = seen.get(instance_id, observations.Guest.ABSENT)

            def decide(instance: Aggregate[model.Instance], at: datetime,
                       guest: str = guest) -> list[Change]:
                if instance.current is None:
                    return []
                event = observations.observe(
                    instance.state, guest, host=report.host, at=at, seen_at=report.at,
                    request_id=observations.observation_id(str(instance.id), instance.version),
                    resume=self.resume_guests)
                return [(instance, event)]

            written = self.app.execute(None, partial(self._load, key), decide,
                                       answer=nothing, touches=[key])
            if written.position is not None:
                observed.append(instance_id)
            self.continue_restore(instance_id)
        return observed

    def continue_restore(self, instance_id: str, *, take_over: bool = False) -> int | None:
        """The reconciler's next request for an instance it brings back (an
        ordinary request, with an id derived from the observation: asked
        twice, it is written once); None when there is none to make.
        ``take_over``: also one its host lost while the policy was off."""
        key = _parse_id(instance_id)
        state = self._load(key).current
        step = observations.restore_step(state, take_over=take_over) \
            if state is not None else None
        if state is None or step is None:
            return None
        request_id = observations.restore_request_id(state, step)

        def decide(instance: Aggregate[model.Instance], at: datetime) -> list[Change]:
            asked = observations.restore_request(instance.state, at=at, take_over=take_over)
            return [(instance, asked)] if asked and asked.request_id == request_id else []

        return self.app.execute(request_id, lambda: self._load(key), decide,
                                answer=nothing, touches=[key]).position

    def instance(self, instance_id: str, caller: Caller) -> model.Instance:
        return _visible(self._load(_parse_id(instance_id)), caller)

    def _load(self, instance_id: uuid.UUID) -> Aggregate[model.Instance]:
        return self.app.load_or_new(instance_id, INSTANCE)


def _visible(instance: Aggregate[model.Instance], caller: Caller) -> model.Instance:
    state = instance.current
    if (state is None or state.vm_state == model.VmState.DELETED
            or (state.project_id != caller.project_id and not caller.is_admin)):
        raise NotFound(f"Instance {instance.id} could not be found.")
    return state


def _current(instance: Aggregate[model.Instance]) -> model.Instance | None:
    return instance.current


def _accepted(written: Written[model.Instance]) -> Accepted:
    return Accepted(state=written.state, position=written.position,
                    request_id=written.request_id)


def instance_id_for(request_id: str, index: int) -> uuid.UUID:
    """The id of the ``index``-th instance a boot request starts."""
    return uuid.uuid5(REQUEST_NAMESPACE, f"{request_id}#{index}")


def _parse_id(value: str) -> uuid.UUID:
    try:
        return uuid.UUID(value)
    except ValueError:
        raise NotFound(f"Instance {value} could not be found.") from None

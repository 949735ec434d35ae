"""The plan of ``nimbus recover``: what the log says should exist, against what hosts have.

After a disaster (views lost, every host powered off, exports and sessions
gone) the log still holds the truth. The plan follows the seed's Nova
Disaster Recovery Process, in its order, because any other order is
dangerous there:

1. the relations from the log: which volume is attached to which instance
   at which mountpoint (what re-attaching needs);
2. stalled task states: instances and volumes waiting for a host's answer
   (listed; their hosts' answers, or the stuck-operation deadlines, end them);
3. restart instances: for each one whose host has its guest in another
   state, the observation to record and the requests that bring it back as
   recorded (start, then pause or suspend), decided by the same domain
   functions the reconciler uses (domain/instance_observations.py);
4. re-export and re-attach volumes: what the storage and hypervisor hosts
   say reconciling would take;
5. networks: what the network hosts say reconciling would take.

Pure: the states and the hosts' answers in, the plan out. The plan is
computed afresh each time, so running it twice does nothing the second time
and a rerun after a crash finishes what is left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Final

import msgspec

from domain import events as ev
from domain import instance as model
from domain import instance_observations as observations
from domain.volume import Volume

MAX_STEPS: Final = 4  # the longest way back is start then pause or suspend


class HostAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A host's answer to a reconcile request; ``answered`` False: none came."""

    host: str
    role: str  # compute | storage | network
    answered: bool
    changes: list[str] = []

    def describe(self) -> list[str]:
        if not self.answered:
            return [f"{self.host} ({self.role}): host did not answer"]
        if not self.changes:
            return [f"{self.host} ({self.role}): nothing to change"]
        return [f"{self.host} ({self.role}): {change}" for change in self.changes]


class Restart(msgspec.Struct, frozen=True, kw_only=True):
    """Step 3 for one instance: what its host has, what to record, what to ask."""

    instance_id: str
    name: str
    host: str
    recorded: str  # the status the log has now
    target: str  # the vm_state it is brought back to
    guest: str  # the guest's state on the host
    observation: str = ""  # the observation's action name ("": none to record)
    requests: list[str] = []  # the actions asked, in order

    @property
    def todo(self) -> str:
        """What is recorded and asked, in order (``observed-stopped, start, pause``)."""
        return ", ".join([self.observation, *self.requests] if self.observation
                         else self.requests)

    def describe(self) -> str:
        return (f"{self.instance_id} ({self.name}) on {self.host}: recorded {self.recorded},"
                f" guest {self.guest} -> {self.todo}")


class Plan(msgspec.Struct, frozen=True, kw_only=True):
    relations: list[str] = []
    stalled: list[str] = []
    restarts: list[Restart] = []
    unchecked: list[str] = []  # instances whose hypervisor host did not answer
    volumes: list[HostAnswer] = []
    networks: list[HostAnswer] = []

    @property
    def actions(self) -> int:
        """How many things applying it would do (0: nothing to do)."""
        return len(self.restarts) + sum(len(h.changes) for h in (*self.volumes, *self.networks))

    @property
    def back(self) -> bool:
        """Whether the cloud is as the log says, as far as the hosts that answered tell."""
        return self.actions == 0 and not self.stalled and not self.unchecked

    def lines(self) -> list[str]:
        sections = [
            ("1. relations from the log (volume, instance, mountpoint)", self.relations),
            ("2. stalled task states (left for their hosts' answers)", self.stalled),
            ("3. restart instances", [r.describe() for r in self.restarts] + self.unchecked),
            ("4. re-export and re-attach volumes",
             [line for h in self.volumes for line in h.describe()]),
            ("5. networks", [line for h in self.networks for line in h.describe()]),
        ]
        out: list[str] = []
        for title, items in sections:
            out.append(title + ":")
            out += [f"   {item}" for item in items] or ["   (none)"]
        return out


def restart(state: model.Instance, guest: str, *, at: datetime) -> Restart | None:
    """What bringing the instance back takes, as the reconciler would do it
    (every step assumed to succeed); None when it is as recorded."""
    event = observations.observe(state, guest, host=state.host, request_id="plan", at=at,
                                 seen_at=at, resume=True)
    after = model.evolve(state, event, state.id) if event is not None else state
    if after.restore is None:
        if event is None:
            return None
        return Restart(instance_id=state.id, name=state.name, host=state.host,
                       recorded=_status(state), target=after.vm_state, guest=guest,
                       observation=observations.ACTIONS[type(event)])
    target = after.restore.to
    asked: list[str] = []
    while len(asked) < MAX_STEPS and (
            step := observations.restore_request(after, at=at, take_over=True)) is not None:
        asked.append(model.action_of(step))
        after = model.evolve(after, step, state.id)
        done = model.complete(after, step.request_id, ok=True, at=at)
        assert isinstance(done, ev.InstanceOutcome)
        after = model.evolve(after, done, state.id)
    if event is None and not asked:
        return None
    return Restart(instance_id=state.id, name=state.name, host=state.host,
                   recorded=_status(state), target=target, guest=guest,
                   observation=observations.ACTIONS[type(event)] if event else "",
                   requests=asked)


def plan(instances: Iterable[model.Instance], volumes: Iterable[Volume],
         guests: Mapping[str, Mapping[str, str] | None], answers: Iterable[HostAnswer], *,
         at: datetime, only: str | None = None) -> Plan:
    """The plan for ``instances`` and ``volumes`` (the live ones, from the log)
    given each hypervisor host's guests (None: it did not answer) and the
    other hosts' answers; ``only``: one instance and its volumes (the seed's
    test mode)."""
    live = [i for i in instances if i.vm_state != model.VmState.DELETED
            and (only is None or i.id == only)]
    attached = [v for v in volumes if v.server_id is not None
                and (only is None or v.server_id == only)]
    relations = [f"{v.id}  {v.server_id}  {v.device}  (export on {v.host},"
                 f" guest on {v.compute_host}, {v.status})" for v in attached]
    stalled = [f"instance {i.id} ({i.name}) is {i.task_state} on {i.host}" for i in live
               if i.task_state is not None]
    stalled += [f"volume {v.id} ({v.name}) is {v.status} on {v.host}" for v in volumes
                if v.pending is not None and (only is None or v.server_id == only)]
    restarts: list[Restart] = []
    unchecked: list[str] = []
    for state in live:
        if state.task_state is not None:
            continue
        on_host = guests.get(state.host)
        if on_host is None:
            unchecked.append(f"{state.id} ({state.name}): its host {state.host} did not answer")
            continue
        step = restart(state, on_host.get(state.id, observations.Guest.ABSENT), at=at)
        if step is not None:
            restarts.append(step)
    answered = list(answers)
    return Plan(relations=relations, stalled=stalled, restarts=restarts, unchecked=unchecked,
                volumes=[a for a in answered if a.role in ("storage", "compute")],
                networks=[a for a in answered if a.role == "network"])


def _status(state: model.Instance) -> str:
    return model.status(state.vm_state, state.task_state)

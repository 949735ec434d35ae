"""A pre-copy live migration, modelled: what libvirt's test driver cannot do.

libvirt's test driver refuses ``migrateToURI3`` (and job statistics, and block
copy), so on it a live migration's copy is this model, and only this model:
memory is sent in rounds at the link's bandwidth while the guest dirties it
at its write rate; a round whose remainder could be sent within the allowed
downtime ends the copy (the guest is then paused for the last of it). The
allowed downtime grows in Nova's steps (``live_migration_downtime``,
``_steps``, ``_delay`` per GiB: nova/virt/libvirt/migration.py's
``downtime_steps``), and a copy not done within
``live_migration_completion_timeout`` seconds per GiB fails (Nova's default
timeout action, abort). force_complete pauses the guest: nothing is dirtied
after it, so the next round ends the copy. Time here is the model's: a round
lasts ``remaining / bandwidth`` model seconds; the worker paces rounds in
real time only so that progress and force/abort can be seen and sent.
Pure: numbers in, rounds out.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

MIB = 1024 * 1024
DEFAULT_BANDWIDTH_MIBPS = 125  # the model's link when none is set: 1 Gbit/s


def downtime_steps(data_gb: float, downtime_ms: int, steps: int,
                   delay_s: int) -> list[tuple[float, float]]:
    """(from model second, allowed downtime ms) steps, as Nova computes them."""
    delay = int(delay_s * data_gb)
    base = downtime_ms / steps
    offset = (downtime_ms - base) / steps
    return [(delay * i, base + offset * i) for i in range(steps + 1)]


@dataclass(frozen=True)
class Round:
    """One round of the copy, as the source reports it."""

    number: int
    at_s: float  # model seconds since the copy began
    total_bytes: int
    processed_bytes: int
    remaining_bytes: int
    downtime_ms: float  # allowed now
    converged: bool  # the remainder fits the allowed downtime: pause and finish
    timed_out: bool  # past the completion timeout: the copy fails


@dataclass(frozen=True)
class PreCopy:
    memory_mb: int
    dirty_rate_mbps: float  # MiB/s the guest writes
    bandwidth_mbps: int = 0  # MiB/s (0: the model's default link)
    downtime_ms: int = 500
    downtime_steps: int = 10
    downtime_delay_s: int = 75
    completion_timeout_s: int = 800

    @property
    def bandwidth(self) -> float:
        return float(self.bandwidth_mbps or DEFAULT_BANDWIDTH_MIBPS) * MIB

    def rounds(self, forced: list[bool] | None = None) -> Iterator[Round]:
        """The rounds until the copy converges or times out. ``forced`` is
        read before each round: once its first item is True the guest is
        paused and dirties nothing more."""
        total = self.memory_mb * MIB
        data_gb = self.memory_mb / 1024
        steps = downtime_steps(data_gb, self.downtime_ms, self.downtime_steps,
                               self.downtime_delay_s)
        timeout = self.completion_timeout_s * data_gb
        at, processed, remaining, number = 0.0, 0, total, 0
        while True:
            number += 1
            paused = bool(forced and forced[0])
            seconds = remaining / self.bandwidth
            at += seconds
            processed += remaining
            dirty = 0.0 if paused else self.dirty_rate_mbps * MIB * seconds
            remaining = int(min(total, dirty))
            allowed = max(ms for start, ms in steps if start <= at)
            converged = remaining / self.bandwidth * 1000 <= allowed
            timed_out = not converged and at > timeout
            yield Round(number=number, at_s=at, total_bytes=total, processed_bytes=processed,
                        remaining_bytes=remaining, downtime_ms=allowed, converged=converged,
                        timed_out=timed_out)
            if converged or timed_out:
                return

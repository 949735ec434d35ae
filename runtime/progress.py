"""How long operator work shows how far it is: a bar on a terminal, lines elsewhere.

``nimbus replay``, the rebuild in ``nimbus recover``, ``nimbus backup
prune`` and ``nimbus image upload`` count their work through one
``Progress``: on a terminal (stderr a TTY) a ``rich`` bar with the rate and
the time left; otherwise one plain line every few seconds, so that logs and
tests read well; with ``--json`` nothing while it runs (the command prints
one JSON object at the end). Once done, one summary line (what, how many,
how long, at what rate). Counted in ``bytes``, amounts read as KiB, MiB, ...

Work that cannot be counted, only watched (a backup or a restore the storage
host runs, seen by polling its status), shows through ``Waiting``: a spinner
with the status and the time so far on a terminal, a line per new status
elsewhere, and the same one summary line at the end.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # rich is imported only when a bar is shown
    from rich.progress import Progress as Bar
    from rich.progress import TaskID

LINE_SECONDS = 5.0  # between two plain lines
BINARY_UNITS = ("bytes", "KiB", "MiB", "GiB", "TiB")


def amount(n: float, unit: str) -> str:
    """``n`` of ``unit`` as a person reads it: bytes in binary multiples."""
    if unit != "bytes":
        return f"{n:,.0f} {unit}"
    scaled, step = float(n), 0
    while scaled >= 1024 and step < len(BINARY_UNITS) - 1:
        scaled, step = scaled / 1024, step + 1
    return f"{n:,.0f} bytes" if step == 0 else f"{scaled:,.1f} {BINARY_UNITS[step]}"


def _bar(what: str, total: int, unit: str, stream: TextIO) -> tuple[Bar, TaskID]:
    """A started rich bar: description, bar, count, rate in ``unit`` and time left."""
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        ProgressColumn,
        Task,
        TextColumn,
        TimeRemainingColumn,
    )
    from rich.progress import Progress as Bar
    from rich.text import Text

    class Rate(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text("" if task.speed is None else f"{amount(task.speed, unit)}/s")

    class Amounts(ProgressColumn):
        def render(self, task: Task) -> Text:
            return Text(f"{amount(task.completed, unit)} of {amount(task.total or 0, unit)}")

    done = MofNCompleteColumn() if unit != "bytes" else Amounts()
    bar = Bar(TextColumn("{task.description}"), BarColumn(), done, Rate(),
              TimeRemainingColumn(), console=Console(file=stream), transient=True)
    bar.start()
    return bar, bar.add_task(what, total=total or None)


class Progress:
    """``done`` of ``total`` ``unit`` of the work ``what``, shown as it moves.

    ``quiet`` (``--json``): nothing is shown. ``every``: seconds between two
    plain lines, when ``stream`` is no terminal."""

    def __init__(self, what: str, total: int, unit: str, *, quiet: bool = False,
                 stream: TextIO | None = None, every: float = LINE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what, self.total, self.unit = what, total, unit
        self.done = 0
        self._quiet = quiet
        self._stream = stream or sys.stderr
        self._every = every
        self._clock = clock
        self._started = self._last_line = clock()
        self._ended: float | None = None
        self._bar: Bar | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Progress:
        self._started = self._last_line = self._clock()
        if not self._quiet and self._stream.isatty():
            self._bar, self._task = _bar(self.what, self.total, self.unit, self._stream)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._ended = self._clock()
        if self._bar is not None:
            self._bar.stop()
            self._bar = None

    def update(self, done: int) -> None:
        """The work has reached ``done``."""
        self.done = done
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, completed=done)
        elif not self._quiet and self._clock() - self._last_line >= self._every:
            self._last_line = self._clock()
            self._say(self.line())

    def advance(self, by: int = 1) -> None:
        self.update(self.done + by)

    @property
    def seconds(self) -> float:
        """How long it ran (so far, if it still runs)."""
        ended = self._clock() if self._ended is None else self._ended
        return max(ended - self._started, 1e-6)

    @property
    def rate(self) -> float:
        return self.done / self.seconds

    def line(self) -> str:
        """Where it is, as a plain line: count, share, rate and time left."""
        share = f" ({100 * self.done // self.total}%)" if self.total else ""
        left = ""
        if self.total and self.done and self.done < self.total:
            left = f", about {(self.total - self.done) / self.rate:,.0f} s left"
        if self.unit != "bytes":
            return (f"{self.what}: {self.done:,} of {self.total:,} {self.unit}{share}, "
                    f"{self.rate:,.0f} {self.unit}/s{left}")
        return (f"{self.what}: {amount(self.done, 'bytes')} of {amount(self.total, 'bytes')}"
                f"{share}, {amount(self.rate, 'bytes')}/s{left}")

    def summary(self) -> str:
        """The one line once it is done."""
        return (f"{self.what}: {amount(self.done, self.unit)} in {self.seconds:.1f} s "
                f"({amount(self.rate, self.unit)}/s)")

    def finish(self) -> None:
        """Say the summary (unless quiet)."""
        if not self._quiet:
            self._say(self.summary())

    def as_json(self) -> dict[str, Any]:
        """The counts, for a command's ``--json`` object."""
        return {"done": self.done, "total": self.total, "unit": self.unit,
                "seconds": round(self.seconds, 3)}

    def _say(self, line: str) -> None:
        print(line, file=self._stream, flush=True)


class Waiting:
    """Work watched by its status (``update(status)`` at each poll) until it ends.

    On a terminal: a spinner with ``what``, the status and the time so far;
    otherwise a line each time the status changes; ``quiet``: nothing."""

    def __init__(self, what: str, *, quiet: bool = False, stream: TextIO | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.what = what
        self.status = ""
        self._quiet = quiet
        self._stream = stream or sys.stderr
        self._clock = clock
        self._started = clock()
        self._ended: float | None = None
        self._spinner: Bar | None = None
        self._task: TaskID | None = None

    def __enter__(self) -> Waiting:
        self._started = self._clock()
        if not self._quiet and self._stream.isatty():
            from rich.console import Console
            from rich.progress import Progress as Bar
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self._spinner = Bar(SpinnerColumn(), TextColumn("{task.description}"),
                                TimeElapsedColumn(), console=Console(file=self._stream),
                                transient=True)
            self._spinner.start()
            self._task = self._spinner.add_task(self.what, total=None)
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self._ended = self._clock()
        if self._spinner is not None:
            self._spinner.stop()
            self._spinner = None

    def update(self, status: str) -> None:
        """The work's status at this poll."""
        changed, self.status = status != self.status, status
        if self._spinner is not None and self._task is not None:
            self._spinner.update(self._task, description=f"{self.what}: {status}")
        elif changed and not self._quiet:
            print(f"{self.what}: {status} after {self.seconds:.1f} s", file=self._stream,
                  flush=True)

    @property
    def seconds(self) -> float:
        ended = self._clock() if self._ended is None else self._ended
        return max(ended - self._started, 0.0)

    def summary(self) -> str:
        return f"{self.what}: {self.status} in {self.seconds:.1f} s"

    def finish(self) -> None:
        """Say the summary (unless quiet)."""
        if not self._quiet:
            print(self.summary(), file=self._stream, flush=True)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "seconds": round(self.seconds, 3)}

"""Long operator work counts itself: plain lines when stderr is no terminal, a
summary line at the end, nothing at all for ``--json``; a bar on a terminal."""

from __future__ import annotations

import io

from runtime.progress import Progress


class Clock:
    """A clock the test moves."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_without_a_terminal_it_says_a_line_now_and_then_and_a_summary_at_the_end() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("replay", 1000, "events", stream=out, every=5.0, clock=clock) as progress:
        clock.now += 1
        progress.update(100)  # too soon for a line
        clock.now += 4
        progress.update(500)
    progress.finish()
    assert out.getvalue().splitlines() == [
        "replay: 500 of 1,000 events (50%), 100 events/s, about 5 s left",
        "replay: 500 events in 5.0 s (100 events/s)"]
    assert progress.as_json() == {"done": 500, "total": 1000, "unit": "events", "seconds": 5.0}


def test_quiet_it_says_nothing_but_still_counts() -> None:
    out, clock = io.StringIO(), Clock()
    with Progress("deleting backups", 2, "backups", quiet=True, stream=out,
                  every=0.0, clock=clock) as progress:
        progress.advance()
        progress.advance()
    progress.finish()
    assert (out.getvalue(), progress.done) == ("", 2)


def test_on_a_terminal_it_draws_a_bar_that_it_clears_at_the_end() -> None:
    out, clock = Terminal(), Clock()
    with Progress("replay", 10, "events", stream=out, clock=clock) as progress:
        clock.now += 2
        progress.update(10)
    progress.finish()
    drawn = out.getvalue()
    assert "10/10" in drawn and "\x1b[2K" in drawn  # the bar, drawn and then cleared
    assert drawn.splitlines()[-1].endswith("replay: 10 events in 2.0 s (5 events/s)")

"""Long operator work counts itself: plain lines when stderr is no terminal, a
summary line at the end, nothing at all for ``--json``; a bar on a terminal;
bytes in binary multiples; work watched by its status, a line per status."""

from __future__ import annotations

import io

from runtime.progress import Progress, Waiting, amount


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


def test_bytes_read_in_binary_multiples_with_their_rate_and_time_left() -> None:
    out, clock = io.StringIO(), Clock()
    size = 8 * 1024 * 1024
    with Progress("uploading disk.qcow2", size, "bytes", stream=out, every=1.0,
                  clock=clock) as progress:
        clock.now += 2
        progress.update(size // 4)
        clock.now += 2
        progress.update(size // 2)
    progress.finish()
    assert out.getvalue().splitlines() == [
        "uploading disk.qcow2: 2.0 MiB of 8.0 MiB (25%), 1.0 MiB/s, about 6 s left",
        "uploading disk.qcow2: 4.0 MiB of 8.0 MiB (50%), 1.0 MiB/s, about 4 s left",
        "uploading disk.qcow2: 4.0 MiB in 4.0 s (1.0 MiB/s)"]
    assert (amount(512, "bytes"), amount(1536, "bytes"), amount(3, "GiB")) == (
        "512 bytes", "1.5 KiB", "3 GiB")


def test_on_a_terminal_the_bytes_bar_shows_amounts() -> None:
    out, clock = Terminal(), Clock()
    with Progress("uploading", 2048, "bytes", stream=out, clock=clock) as progress:
        clock.now += 1
        progress.update(2048)
    assert "2.0 KiB of 2.0 KiB" in out.getvalue()


def test_a_watched_status_says_each_new_status_once_and_how_long_it_took() -> None:
    out, clock = io.StringIO(), Clock()
    with Waiting("backup b1", stream=out, clock=clock) as waiting:
        waiting.update("creating")
        clock.now += 1
        waiting.update("creating")
        clock.now += 2.5
        waiting.update("available")
    waiting.finish()
    assert out.getvalue().splitlines() == [
        "backup b1: creating after 0.0 s", "backup b1: available after 3.5 s",
        "backup b1: available in 3.5 s"]
    assert waiting.as_json() == {"status": "available", "seconds": 3.5}


def test_a_watched_status_on_a_terminal_spins_and_clears_and_quiet_says_nothing() -> None:
    out, clock = Terminal(), Clock()
    with Waiting("restore", stream=out, clock=clock) as waiting:
        waiting.update("restoring-backup")
    assert "restore: restoring-backup" in out.getvalue() and "\x1b[2K" in out.getvalue()
    quiet = io.StringIO()
    with Waiting("restore", quiet=True, stream=quiet, clock=clock) as waiting:
        waiting.update("available")
    waiting.finish()
    assert quiet.getvalue() == ""

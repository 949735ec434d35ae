"""The private tgtd never piles up: a start first stops the tgtd that a crash
left running (named by the pid file), and only when that process really is a
tgtd on the recorded control port. (That a tgtd dies with a killed nimbus is
proved with ``nimbus up`` itself, in test_nimbus_up.py.)"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from workers.storage.tgt_daemon import TgtDaemon

HANG_SECONDS = 30.0  # a hang detector, not a timing assertion


def socket_file(port: int) -> Path:
    return Path(f"{os.environ.get('TGT_IPC_SOCKET', '/var/run/tgtd/socket')}.{port}")


def recorded(pid_file: Path) -> list[str]:
    return pid_file.read_text().split()


def test_a_start_stops_the_tgtd_a_crash_left_running(tmp_path: Path) -> None:
    pid_file = tmp_path / "tgtd" / "storage1.pid"
    crashed = TgtDaemon(pid_file=pid_file)
    # started off the main thread, so no parent-death signal: as if it had been
    # left running by a nimbus that died
    starting = threading.Thread(target=crashed.start)
    starting.start()
    starting.join()
    assert crashed.process is not None
    left, left_port = crashed.process, crashed.control_port
    assert recorded(pid_file) == [str(left.pid), str(left_port)]

    fresh = TgtDaemon(pid_file=pid_file)
    fresh.start()
    try:
        assert left.wait(HANG_SECONDS) is not None  # it exited (reaped here: our child)
        assert not socket_file(left_port).exists()
        assert fresh.process is not None and fresh.process.poll() is None
        assert recorded(pid_file) == [str(fresh.process.pid), str(fresh.control_port)]
    finally:
        fresh.stop()
        crashed.stop()
    assert not pid_file.exists()


def test_a_pid_file_naming_another_process_signals_nothing(tmp_path: Path) -> None:
    pid_file = tmp_path / "storage1.pid"
    other = subprocess.Popen(["sleep", "300"])
    try:
        pid_file.write_text(f"{other.pid} 4321\n")
        with TgtDaemon(pid_file=pid_file) as fresh:
            assert fresh.process is not None
            assert recorded(pid_file) == [str(fresh.process.pid), str(fresh.control_port)]
            assert other.poll() is None
    finally:
        other.kill()
        other.wait()


def test_a_tgtd_started_again_listens_on_the_portal_the_last_one_used(tmp_path: Path) -> None:
    port_file = tmp_path / "tgtd" / "storage1.port"
    with TgtDaemon(port_file=port_file) as first:
        portal = first.portal
    assert port_file.read_text().split() == [portal.rpartition(":")[2]]
    with TgtDaemon(port_file=port_file) as again:
        assert again.portal == portal
        with TgtDaemon(port_file=port_file) as beside:  # that port is taken: another one
            assert beside.portal != portal

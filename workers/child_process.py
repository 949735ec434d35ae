"""Child processes that do not outlive nimbus.

Why this exists: nimbus runs servers of its own as child processes (a private
tgtd, the embedded PostgreSQL and NATS). When nimbus dies without cleaning up
(SIGKILL, an unhandled signal) they would run on, holding ports, iSCSI exports
and data locks, and the next start would add more. Linux signals a child when
its parent dies if the child asks for it (``prctl(PR_SET_PDEATHSIG)``). The
kernel ties that to the *thread* that forked the child, so it is armed only
for a child started from the main thread, which lives as long as the process.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys
import threading
from collections.abc import Callable

_PR_SET_PDEATHSIG = 1


def parent_death_hook(sig: signal.Signals) -> Callable[[], None] | None:
    """A ``preexec_fn`` that has the kernel send ``sig`` to the child when we
    die; None (nothing armed) off Linux or outside the main thread."""
    if sys.platform != "linux" or threading.current_thread() is not threading.main_thread():
        return None
    prctl = ctypes.CDLL(None, use_errno=True).prctl  # looked up before fork
    parent = os.getpid()

    def arm() -> None:
        prctl(_PR_SET_PDEATHSIG, int(sig))
        if os.getppid() != parent:  # we died before the signal was armed
            os._exit(1)

    return arm

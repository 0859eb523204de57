"""Child processes that end with the process that started them (Linux)."""

import ctypes
import signal
import sys

# prctl(2): the signal the kernel sends a process when its parent dies.
PR_SET_PDEATHSIG = 1


def die_with_parent() -> None:
    """Linux: the calling process gets SIGTERM when its parent dies, even by SIGKILL.

    Without it an embedded Redis, a worker or the worker's cron would outlive a crashed
    launcher or worker and hold the port for the next `make run`.
    """
    if sys.platform.startswith("linux"):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)

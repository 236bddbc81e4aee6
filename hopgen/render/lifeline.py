"""Workers die with their parent: a render worker whose `hopgen render` was killed (even with
SIGKILL) must stop writing, or an immediate resume would have two writers on one sample.

Linux: prctl(PR_SET_PDEATHSIG, SIGKILL) makes the kernel kill the worker when its parent dies.
Everywhere (and as a backstop, e.g. inside a Blender binary that was started through a wrapper): a
daemon thread polls the parent's pid and exits the process when it is gone or replaced.
"""

import os
import sys
import threading
import time

PR_SET_PDEATHSIG = 1
POLL_SECONDS = 0.5


def _set_pdeathsig():
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes
        import signal
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_PDEATHSIG, int(signal.SIGKILL), 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


def _parent_alive(pid):
    if os.getppid() != pid:  # re-parented: the parent is gone
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass
    return True


def die_with_parent(parent_pid=None, poll_seconds=POLL_SECONDS):
    """Make this process end when `parent_pid` (default: the current parent) ends. Returns at once."""
    pid = os.getppid() if parent_pid is None else int(parent_pid)
    _set_pdeathsig()
    if not _parent_alive(pid):  # the parent died before the kernel hook was set
        os._exit(1)

    def watch():
        while _parent_alive(pid):
            time.sleep(poll_seconds)
        os._exit(1)  # no cleanup: the parent's resume removes this writer's temporaries

    threading.Thread(target=watch, name="hopgen-lifeline", daemon=True).start()

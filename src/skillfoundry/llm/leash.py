"""Run a server as a child and kill it when our parent dies, even by SIGKILL.

``python -m skillfoundry.llm.leash PARENT_PID -- CMD...``: started in its own session by
``ManagedServer``, so a signal to the process group reaches the server too. Every half second it
checks that PARENT_PID is still its parent; once it is not (the parent died and we were re-parented),
it stops the server (SIGTERM, then SIGKILL) and exits; on SIGTERM/SIGINT it does the same, so it
exits only after the server has. Should the leash itself be killed, the kernel kills the server
(parent-death signal). Without it a killed pipeline leaves a
llama-server spinning on the machine's cores.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time

POLL_S = 0.5
GRACE_S = 5.0


PR_SET_PDEATHSIG = 1


def _die_with_leash() -> None:
    """In the server (before exec): the kernel sends it SIGKILL when the leash itself dies, even by SIGKILL."""
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


def stop(child: subprocess.Popen[bytes]) -> None:
    child.terminate()
    try:
        child.wait(GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def main(argv: list[str]) -> int:
    if len(argv) < 3 or argv[1] != "--":
        print("usage: python -m skillfoundry.llm.leash PARENT_PID -- CMD...", file=sys.stderr)
        return 2
    parent = int(argv[0])
    stopping: list[int] = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda signum, _frame: stopping.append(signum))
    child = subprocess.Popen(argv[2:], preexec_fn=_die_with_leash)
    while True:
        code = child.poll()
        if code is not None:
            return code
        if stopping or os.getppid() != parent:
            # Told to stop, or orphaned: exit only once the server is gone, so that whoever waits
            # on us knows its port and memory are free.
            stop(child)
            return 128 + stopping[0] if stopping else 1
        time.sleep(POLL_S)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

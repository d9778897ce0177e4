"""The KernelBench worker process: ``python -m skillfoundry.kernelbench.worker_main`` with a KBJob on stdin.

It cuts itself off first, while it is still one thread (a user namespace needs that), and only then
imports torch and runs the job (``gpu_worker``). Events go to the job's result file, as for the native
worker, each signed with the job's key (the answer runs in this process and can reach that file; lines it
writes are not signed and the runner skips them); the first says what isolation applied.
"""

from __future__ import annotations

import resource
import sys
from collections.abc import Callable

from skillfoundry.grading import sandbox_linux as linux
from skillfoundry.kernelbench.job import KBJob
from skillfoundry.kernels.gpu.protocol import serve


def isolate() -> str:
    """Before any of the answer's code: no core dumps, no new privileges, and no network (a user and a
    network namespace of its own, where the kernel allows them). Returns what applied, for the record."""
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    linux.prctl(linux.PR_SET_NO_NEW_PRIVS, 1, "no_new_privs")
    try:
        linux.unshare(linux.CLONE_NEWUSER | linux.CLONE_NEWNET)
    except linux.SandboxError as exc:
        return f"own session and environment; network not cut ({exc})"
    return "own session and environment; no network (user and network namespaces)"


def main() -> None:
    job = KBJob.model_validate_json(sys.stdin.read())
    key = bytes.fromhex(job.event_key)
    job = job.model_copy(update={"event_key": ""})
    applied = isolate()

    def work(emit: Callable[..., None]) -> int:
        emit("isolation", applied=applied)
        from skillfoundry.kernelbench.gpu_worker import run  # torch, only now

        return run(job, emit)

    serve(job.result_path, work, mac_key=key)


if __name__ == "__main__":
    main()

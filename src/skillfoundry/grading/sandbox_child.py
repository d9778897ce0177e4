"""Child side of the Python-check sandbox; run as ``python -I sandbox_child.py SPEC_JSON``. Stdlib only.

Order matters: read the inputs and open the result file, then apply resource limits, disable sockets,
chdir to the scratch folder, and only then run the check's code. The result (one JSON object) goes to
the pre-opened result file; the check's own prints go to stdout/stderr files.
"""

import json
import math
import os
import resource
import sys


def _limit(which, value):
    resource.setrlimit(which, (value, value))


def _apply_limits(spec):
    _limit(resource.RLIMIT_AS, spec["memory_bytes"])
    resource.setrlimit(resource.RLIMIT_CPU, (spec["cpu_s"], spec["cpu_s"] + 1))
    _limit(resource.RLIMIT_FSIZE, spec["fsize_bytes"])
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_NOFILE, 64)


def _block_network():
    import socket

    def refuse(*args, **kwargs):
        raise OSError("network access is disabled in the check sandbox")

    class NoSocket(socket.socket):
        def __init__(self, *args, **kwargs):
            refuse()

    socket.socket = NoSocket
    for name in ("create_connection", "create_server", "getaddrinfo", "gethostbyname", "socketpair", "fromfd"):
        setattr(socket, name, refuse)


def _run(code, answer):
    namespace = {"__name__": "__check__"}
    try:
        exec(compile(code, "check.py", "exec"), namespace)
    except MemoryError:
        return {"status": "memory"}
    except SyntaxError as exc:
        return {"status": "bad-code", "error": f"SyntaxError: {exc.msg} (line {exc.lineno})"}
    except BaseException as exc:  # the code's top level failed
        return {"status": "bad-code", "error": f"{type(exc).__name__}: {exc}"[:500]}
    check = namespace.get("check")
    if not callable(check):
        return {"status": "bad-code", "error": "the code defines no check(output) function"}
    try:
        value = check(answer)
    except MemoryError:
        return {"status": "memory"}
    except BaseException as exc:
        return {"status": "raised", "error": f"{type(exc).__name__}: {exc}"[:500]}
    if isinstance(value, bool):
        return {"status": "ok", "value": value}
    if isinstance(value, (int, float)) and math.isfinite(value):
        return {"status": "ok", "value": float(value)}
    return {
        "status": "bad-return",
        "error": f"check returned {type(value).__name__} {str(value)[:80]!r}, expected bool or a finite number",
    }


def main():
    spec = json.loads(sys.argv[1])
    with open(spec["code_path"], "rb") as handle:
        code = handle.read().decode("utf-8", "surrogatepass")
    with open(spec["answer_path"], "rb") as handle:
        answer = handle.read().decode("utf-8", "surrogatepass")
    with open(spec["result_path"], "w", encoding="utf-8") as result_file:
        _apply_limits(spec)
        _block_network()
        os.chdir(spec["work_dir"])
        result_file.write(json.dumps({"status": "started"}))
        result_file.flush()
        result = _run(code, answer)
        result_file.seek(0)
        result_file.truncate()
        result_file.write(json.dumps(result))


if __name__ == "__main__":
    main()

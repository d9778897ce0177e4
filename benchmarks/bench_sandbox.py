"""Start-up cost of the Python-check sandbox.

Run: ``python benchmarks/bench_sandbox.py [--repeat 20]``. Prints, side by side from one run, the median
wall time of
  1. a bare subprocess: ``python -I -c pass`` (what any subprocess-based check pays),
  2. the same trivial check run without isolation: ``python -I`` executing ``check(answer)``,
  3. a sandboxed check (``grade_python``: namespaces, mount view, uid map, limits) of the same check,
and the ratios sandboxed / bare and sandboxed / unisolated check (target: sandboxed <= 5x bare and
< 0.3 s absolute, so grading time stays dominated by the checks and the models). A measurement, not a test.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

try:
    import skillfoundry  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from skillfoundry.grading.python_check import grade_python
from skillfoundry.skills.model import PythonCheck

CHECK = "import json\ndef check(output):\n    return json.loads(output)['x'] == 1"
ANSWER = '{"x": 1}'
UNISOLATED = f"{CHECK}\nimport sys\nsys.exit(0 if check({ANSWER!r}) else 1)"


def _median_s(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _sandboxed() -> None:
    outcome = grade_python(PythonCheck(code=CHECK), ANSWER)
    if not outcome.passed:
        raise SystemExit(f"the sandboxed check did not pass: {outcome.detail['reason']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    _sandboxed()  # warm the page cache and fail early when the sandbox is unavailable
    bare = _median_s(lambda: subprocess.run([sys.executable, "-I", "-c", "pass"], check=True), args.repeat)
    plain = _median_s(lambda: subprocess.run([sys.executable, "-I", "-c", UNISOLATED], check=True), args.repeat)
    boxed = _median_s(_sandboxed, args.repeat)
    print(f"bare subprocess (python -I -c pass): {bare * 1000:7.1f} ms")
    print(f"unisolated check subprocess        : {plain * 1000:7.1f} ms")
    print(f"sandboxed check (grade_python)     : {boxed * 1000:7.1f} ms")
    print(f"ratio sandboxed / bare             : {boxed / bare:7.2f}x")
    print(f"ratio sandboxed / unisolated check : {boxed / plain:7.2f}x")


if __name__ == "__main__":
    main()

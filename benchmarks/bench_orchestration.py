"""Orchestration overhead: the evaluation stage of ``distill`` as Prefect tasks in a flow vs the same work as
plain function calls in one process.

Run: ``python benchmarks/bench_orchestration.py [--model local|echo] [--generations 200] [--repeat 2]``.
Both sides answer and grade the same requests (cases x {baseline, with skill} x epochs) against the same
model server and store the same rows; only Prefect (flow run, task runs, states, logs, artifacts-free) is
added on one side. Prints the best time of each side and the overhead (target under 10% at 200
generations), and the overhead of the mean times (passes vary by a second or two on a busy machine).
``--model echo`` uses an instant loopback model, so its overhead is the upper bound: Prefect's fixed cost
over almost no work. It is a measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

try:
    import skillfoundry  # noqa: F401
except ImportError:  # run from a checkout without installing
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))

from prefect import flow

from skillfoundry import evaluation
from skillfoundry.config import Settings
from skillfoundry.evaluation import CaseRef, Sampling
from skillfoundry.flows.distill import evaluate
from skillfoundry.flows.prefect_server import prefect_api
from skillfoundry.grading.grade import GradingContext
from skillfoundry.llm.servers import LlamaServer
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.llm.student import complete_sync
from skillfoundry.skills.evals_io import import_evals
from skillfoundry.skills.folder import load_skill
from skillfoundry.skills.folder import skill_id as compute_skill_id
from skillfoundry.storage.writer import write_rows

SKILL_MD = """---
name: polite-greeting
description: Greet the user politely and by name. Use when asked to greet someone.
---
Say "Hello" followed by the person's name, then wish them a good day.
"""


class Echo(BaseHTTPRequestHandler):
    """An instant OpenAI chat server: one short fixed answer."""

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        reply = json.dumps({
            "id": "c", "object": "chat.completion", "created": 0, "model": body["model"],
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello there."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 3, "total_tokens": 13},
        }).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def model(kind: str) -> Iterator[Endpoint]:
    if kind == "local":
        with LlamaServer.from_settings(Settings()) as server:
            yield Endpoint(spec=ModelSpec.parse("local"), api="openai", base_url=server.base_url, model=server.alias)
        return
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Echo)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    try:
        yield Endpoint(spec=ModelSpec.parse(f"openai:echo@{url}"), api="openai", base_url=url, model="echo")
    finally:
        httpd.shutdown()


def skill_and_cases(root: Path, n_cases: int) -> tuple:
    folder = root / "polite-greeting"
    (folder / "evals").mkdir(parents=True)
    (folder / "SKILL.md").write_text(SKILL_MD)
    evals = [
        {"id": f"greet-{i}", "prompt": f"Greet person number {i}.", "expected_output": "Hello",
         "assertions": [{"text": "says hello", "check": {"type": "contains", "values": ["hello"]}}]}
        for i in range(n_cases)
    ]
    (folder / "evals" / "evals.json").write_text(json.dumps({"skill_name": "polite-greeting", "evals": evals}))
    skill = load_skill(folder)
    refs = [CaseRef(case_id=c.case_id(), case=c) for c in import_evals(folder).cases]
    return skill, refs


def plain(settings: Settings, endpoint: Endpoint, refs: list[CaseRef], skill, skill_id: str, sampling: Sampling) -> None:
    """The evaluation stage as plain calls, shaped as the pipeline's: every request of both conditions through
    one scheduler, then per condition store, grade, store."""
    by_id = {r.case_id: r.case for r in refs}
    ctx = GradingContext(cache_dir=settings.kernel_cache_dir)
    plans = [
        (condition, with_skill, evaluation.plan(refs, skill=with_skill, epochs=list(range(settings.epochs)), sampling=sampling))
        for condition, with_skill in (("with_skill", skill), ("baseline", None))
    ]
    jobs = [(endpoint, p.request) for _, _, planned in plans for p in planned]
    outcome = complete_sync(jobs, concurrency=settings.concurrency, policy=settings.retry_policy)
    offset = 0
    for condition, with_skill, planned in plans:
        results = outcome.results[offset : offset + len(planned)]
        offset += len(planned)
        rows = evaluation.to_generations(
            "bench", str(endpoint.spec), condition, skill_id if with_skill else None, planned, results, sampling.key()
        )
        write_rows(settings.data_dir, "generations", rows)
        graded = evaluation.grade_generations(rows, by_id, ctx)
        write_rows(settings.data_dir, "grades", graded.grades)


@flow(name="bench-evaluate")
def orchestrated(settings: Settings, endpoint: Endpoint, refs: list[CaseRef], skill, skill_id: str, sampling: Sampling) -> None:
    """The same stage as ``distill`` runs it: generate and grade tasks submitted in a flow."""
    evaluate(settings, [endpoint], refs, skill, skill_id, run_id="bench", sampling=sampling)


def timed(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=("local", "echo"), default="local")
    parser.add_argument("--generations", type=int, default=200)
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    n_cases = max(1, args.generations // (2 * args.epochs))
    sampling = Sampling(temperature=0.0, max_tokens=args.max_tokens, seed=0)
    with tempfile.TemporaryDirectory() as tmp, model(args.model) as endpoint:
        root = Path(tmp)
        os.environ.setdefault("PREFECT_HOME", str(root / "prefect"))
        skill, refs = skill_and_cases(root, n_cases)
        sid = compute_skill_id(skill)
        started = time.perf_counter()
        with prefect_api() as api:
            server_s = time.perf_counter() - started
            times: dict[str, list[float]] = {"plain": [], "prefect": []}
            for r in range(args.repeat):  # alternate the sides so that load changes hit both alike
                for side in ("plain", "prefect"):
                    settings = Settings(data_dir=root / f"{side}{r}", cache_dir=root / "cache", epochs=args.epochs,
                                        concurrency=8, response_cache=False)  # every pass asks the model
                    fn = plain if side == "plain" else orchestrated
                    times[side].append(timed(lambda: fn(settings, endpoint, refs, skill, sid, sampling)))
                    print(f"  ({side} pass {r + 1}: {times[side][-1]:.2f} s)", flush=True)
    n = n_cases * 2 * args.epochs
    best_plain, best_prefect = min(times["plain"]), min(times["prefect"])
    overhead = best_prefect / best_plain - 1
    print(f"model {args.model}, {n} generations ({n_cases} cases x 2 conditions x {args.epochs} epochs), "
          f"max_tokens {args.max_tokens}, best of {args.repeat}; Prefect API {api} started in {server_s:.1f} s")
    print(f"  plain calls      {best_plain:7.2f} s   (all: {', '.join(f'{t:.2f}' for t in times['plain'])})")
    print(f"  Prefect flow     {best_prefect:7.2f} s   (all: {', '.join(f'{t:.2f}' for t in times['prefect'])})")
    mean_overhead = sum(times["prefect"]) / sum(times["plain"]) - 1
    print(f"  overhead         {overhead:+7.1%}   (target < +10%: {'met' if overhead < 0.10 else 'NOT met'}; "
          f"{(best_prefect - best_plain) * 1000 / n:.1f} ms per generation; of the means {mean_overhead:+.1%})")


if __name__ == "__main__":
    main()

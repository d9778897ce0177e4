"""The pipeline's student stage vs a bare client on the same requests, and a cached rerun vs the first run.

The requests are a default run's student stage: the CUDA test cases of ``--cases`` x ``--epochs`` x
{baseline, with_skill}, ``--max-tokens`` each, seeded, against one embedded llama-server. The skill is
``--skill-dir`` (e.g. one a run stored under DATA/skill_folders/ID/NAME) or a synthetic CUDA skill of
about ``--skill-words`` words. Measured side by side in one process, ABBA order (bare, stage, stage,
bare) so neither side gets the warmer server:

* bare: one AsyncOpenAI client, every request in flight at once (``asyncio.gather``), no retries;
* stage: ``tasks.steps.generate`` (the Prefect task the flow runs); its last round starts from an empty
  response cache (all misses, filling it);
* cache: the stage once more on the same requests: served from the response cache, vs that last round.

``--order`` sets the rounds (default ABBA; ``bare,stage`` on a machine too busy for four).

    PYTHONPATH=src .venv/bin/python benchmarks/bench_student_stage.py [--cases 3] [--epochs 2] [--max-tokens 512]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

import openai

from skillfoundry.config import Settings
from skillfoundry.domain import cuda
from skillfoundry.evaluation import CaseRef, Sampling, plan
from skillfoundry.kernels.problems import list_problems
from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.servers import LlamaServer, server_software
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.llm.student import ChatRequest
from skillfoundry.skills.folder import load_skill
from skillfoundry.skills.model import Skill
from skillfoundry.tasks import steps

RULES = [
    "Coalesce global memory accesses: consecutive threads read consecutive addresses.",
    "Use a grid-stride loop so any problem size works with any launch configuration.",
    "Reduce within a warp with __shfl_down_sync before touching shared memory.",
    "Guard every access with a bounds check against the problem size.",
    "Accumulate in float even for half inputs, and convert once at the end.",
    "Pick 256 threads per block unless the problem dictates otherwise.",
]


def synthetic_skill(words: int) -> Skill:
    lines, n = [], 0
    while n < words:
        rule = RULES[len(lines) % len(RULES)]
        lines.append(f"{len(lines) + 1}. {rule}")
        n += len(rule.split()) + 1
    return Skill(name="cuda-kernels", description="Write correct, fast CUDA kernels.", body="\n".join(lines))


async def bare(endpoint: Endpoint, requests: list[ChatRequest]) -> tuple[float, int]:
    client = openai.AsyncOpenAI(base_url=f"{endpoint.base_url}/v1", api_key="sk-no-key", max_retries=0, timeout=3600)

    async def one(request: ChatRequest) -> int:
        response = await client.chat.completions.create(
            model=endpoint.model, messages=request.messages(),  # type: ignore[arg-type]
            max_tokens=request.max_tokens, temperature=request.temperature, seed=request.seed,
        )
        return response.usage.completion_tokens if response.usage else 0

    started = time.perf_counter()
    async with client:
        tokens = await asyncio.gather(*(one(r) for r in requests))
    return time.perf_counter() - started, sum(tokens)


def stage(endpoint: Endpoint, cases: list[CaseRef], skill: Skill, epochs: int, sampling: Sampling,
          data_dir: Path, cache_dir: Path | None, run_id: str) -> tuple[float, int, int]:
    batches = [
        steps.StudentBatch(endpoint=endpoint, condition="with_skill", skill=skill, skill_id="bench-skill"),
        steps.StudentBatch(endpoint=endpoint, condition="baseline"),
    ]
    started = time.perf_counter()
    rows = steps.generate(
        batches, cases, epochs=list(range(epochs)), sampling=sampling, run_id=run_id, data_dir=data_dir,
        concurrency=8, policy=RetryPolicy(), response_cache_dir=cache_dir,
    )
    wall = time.perf_counter() - started
    flat = [r for batch in rows for r in batch]
    return wall, sum(r.output_tokens for r in flat), sum(r.error_kind is not None for r in flat)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--max-tokens", type=int, default=512)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--skill-dir", type=Path)
    parser.add_argument("--skill-words", type=int, default=900)
    parser.add_argument("--order", default="bare,stage,stage,bare")
    args = parser.parse_args()

    skill = load_skill(args.skill_dir) if args.skill_dir else synthetic_skill(args.skill_words)
    _, test = cuda.split_problems(list_problems(), seed=0, n_train=1, n_test=args.cases)
    cases = [CaseRef(case_id=p.id, case=cuda.problem_case(p, "test")) for p in test]
    sampling = Sampling(temperature=0.7, max_tokens=args.max_tokens, seed=0)
    epochs = list(range(args.epochs))
    requests = [p.request for s in (skill, None) for p in plan(cases, skill=s, epochs=epochs, sampling=sampling)]
    work = Path(tempfile.mkdtemp(prefix="bench-stage-"))

    with LlamaServer(threads=args.threads, slots=args.slots, ctx_per_slot=Settings().llama_ctx_per_slot) as server:
        endpoint = Endpoint(spec=ModelSpec.parse("local"), api="openai", base_url=server.base_url, model=server.alias,
                            server=server_software(server.base_url), slots=args.slots)
        asyncio.run(bare(endpoint, requests[:1]))  # warm-up: the server
        steps.generate([], cases, epochs=[0], sampling=sampling, run_id="warm-up", data_dir=work / "data",
                       concurrency=8, policy=RetryPolicy(), response_cache_dir=None)  # and Prefect's API server
        runs: dict[str, list[tuple[float, int]]] = {"bare": [], "stage": []}
        order = args.order.split(",")
        last_stage = len(order) - 1 - order[::-1].index("stage")
        first: tuple[float, int, int] = (0.0, 0, 0)
        for round_, side in enumerate(order):
            if side == "bare":
                runs[side].append(asyncio.run(bare(endpoint, requests)))
            else:
                cache = work / "cache" if round_ == last_stage else None
                first = stage(endpoint, cases, skill, args.epochs, sampling, work / "data", cache, f"bench-{round_}")
                assert first[2] == 0, f"{first[2]} failed requests in the stage"
                runs[side].append(first[:2])
            print(f"round {round_ + 1}/{len(order)} {side}: {runs[side][-1][0]:.1f} s", file=sys.stderr)
        rerun = stage(endpoint, cases, skill, args.epochs, sampling, work / "data", work / "cache", "bench-rerun")

    n = len(requests)
    print(f"{endpoint.server}, -t {args.threads} -np {args.slots}: {n} requests x {args.max_tokens} max tokens "
          f"({args.cases} cases x {args.epochs} epochs x 2 conditions), skill {skill.name} {len(skill.body.split())} words")
    print(f"{'side':>6} {'run':>4} {'wall s':>7} {'tokens':>7} {'tok/s':>7}")
    totals = {}
    for side, measured in runs.items():
        for i, (wall, tokens) in enumerate(measured):
            print(f"{side:>6} {i + 1:>4} {wall:>7.1f} {tokens:>7} {tokens / wall:>7.1f}")
        totals[side] = sum(t for _, t in measured) / sum(w for w, _ in measured)
    print(f"student stage vs bare client: {totals['stage']:.1f} / {totals['bare']:.1f} tok/s = "
          f"{totals['stage'] / totals['bare']:.2f} (target >= 0.9)")
    print(f"cached rerun vs first run: {first[0]:.2f} s / {rerun[0]:.3f} s = {first[0] / rerun[0]:.0f}x (target >= 50x)")


if __name__ == "__main__":
    main()

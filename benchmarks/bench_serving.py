"""Completion tokens/s of the embedded llama-server (SmolLM2-135M) at several client concurrencies.

Runs 128-token requests through ``complete_batch`` (the path students use) at concurrency 1, 8 and 32
against one server, and prints the levels side by side with the ratio to concurrency 1.

    PYTHONPATH=src .venv/bin/python benchmarks/bench_serving.py [--slots 8] [--threads 2] [--rounds 2]
"""

from __future__ import annotations

import argparse
import os
import time

from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.servers import LlamaServer
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.llm.student import ChatRequest, ChatResult, complete_batch_sync

TOPICS = ["a lighthouse", "a desert caravan", "a robot gardener", "an old violin", "a night train", "a glacier"]


def requests(n: int, max_tokens: int) -> list[ChatRequest]:
    return [
        ChatRequest(key=str(i), prompt=f"Write a long, detailed story about {TOPICS[i % len(TOPICS)]}.",
                    temperature=0.7, max_tokens=max_tokens, seed=i)
        for i in range(n)
    ]


def run_level(endpoint: Endpoint, concurrency: int, n: int, max_tokens: int) -> tuple[float, list[ChatResult]]:
    started = time.monotonic()
    results = complete_batch_sync(endpoint, requests(n, max_tokens), concurrency=concurrency,
                                  policy=RetryPolicy(timeout_s=600))
    return time.monotonic() - started, results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    parser.add_argument("--slots", type=int, default=8)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=2, help="requests per level = rounds x max(concurrency, 4)")
    parser.add_argument("--levels", type=int, nargs="+", default=[1, 8, 32])
    args = parser.parse_args()

    started = time.monotonic()
    with LlamaServer(threads=args.threads, slots=args.slots) as server:
        start_s = time.monotonic() - started
        endpoint = Endpoint(spec=ModelSpec.parse("local"), api="openai", base_url=server.base_url, model=server.alias)
        run_level(endpoint, 1, 1, 16)  # warm-up
        rows = []
        for level in args.levels:
            n = args.rounds * max(level, 4)
            wall, results = run_level(endpoint, level, n, args.max_tokens)
            errors = sum(r.error is not None for r in results)
            tokens = sum(r.output_tokens for r in results)
            latency = sorted(r.latency_s for r in results)[len(results) // 2]
            rows.append((level, n, errors, tokens / n, tokens / wall, latency, wall))

    print(f"llama-server {server.alias}: -t {args.threads} -np {args.slots}; healthy {start_s:.2f} s after launch")
    print(f"{'concurrency':>11} {'requests':>8} {'errors':>6} {'tok/req':>7} {'tok/s':>7} {'x c=1':>6} "
          f"{'p50 lat s':>9} {'wall s':>7}")
    base = rows[0][4]
    for level, n, errors, per_req, rate, latency, wall in rows:
        print(f"{level:>11} {n:>8} {errors:>6} {per_req:>7.1f} {rate:>7.1f} {rate / base:>6.2f} "
              f"{latency:>9.2f} {wall:>7.1f}")


if __name__ == "__main__":
    main()

"""vLLM vs llama-server: completion tok/s on the same requests (the embedded SmolLM2-135M in both).

vLLM runs the GGUF converted once to safetensors (``skillfoundry.llm.gguf_to_hf``) from the interpreter in
``$SKILLFOUNDRY_VLLM_PYTHON`` (or this one); both servers get the same seeded requests through the same
scheduler (``llm.student.complete_sync``), each at its own slot count, one server at a time.

    SKILLFOUNDRY_VLLM_PYTHON=/path/venv/bin/python PYTHONPATH=src .venv/bin/python benchmarks/bench_vllm.py \
        --checkpoint ~/.cache/skillfoundry/models/smollm2-135m-instruct-hf [--requests 16] [--max-tokens 128]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

from skillfoundry.llm.retry import RetryPolicy
from skillfoundry.llm.servers import LlamaServer, VllmServer, server_software
from skillfoundry.llm.spec import Endpoint, ModelSpec
from skillfoundry.llm.student import ChatRequest, complete_sync

TOPICS = ["a lighthouse", "a desert caravan", "a robot gardener", "an old violin", "a night train", "a glacier"]


def requests(n: int, max_tokens: int) -> list[ChatRequest]:
    return [ChatRequest(key=str(i), system="You are a storyteller.",
                        prompt=f"Write a long, detailed story about {TOPICS[i % len(TOPICS)]}.",
                        temperature=0.7, max_tokens=max_tokens, seed=i) for i in range(n)]


def measure(endpoint: Endpoint, asked: list[ChatRequest], concurrency: int) -> tuple[float, int, int]:
    complete_sync([(endpoint, asked[0])], concurrency=1, policy=RetryPolicy(timeout_s=600))  # warm-up
    started = time.perf_counter()
    outcome = complete_sync([(endpoint, r) for r in asked], concurrency=concurrency, policy=RetryPolicy(timeout_s=600))
    wall = time.perf_counter() - started
    return wall, sum(r.output_tokens for r in outcome.results), sum(r.error is not None for r in outcome.results)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--checkpoint", type=Path, required=True)
    parser.add_argument("--requests", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=128)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--threads", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    asked = requests(args.requests, args.max_tokens)
    rows = []
    with LlamaServer(threads=args.threads, slots=args.concurrency) as llama:
        endpoint = Endpoint(spec=ModelSpec.parse("local"), api="openai", base_url=llama.base_url, model=llama.alias)
        rows.append((server_software(llama.base_url), *measure(endpoint, asked, args.concurrency)))
    model = str(args.checkpoint)
    with VllmServer(model, max_model_len=4096, extra_args=["--enforce-eager"]) as vllm:
        endpoint = Endpoint(spec=ModelSpec.parse(f"vllm:{model}"), api="openai", base_url=vllm.base_url, model=model)
        rows.append((server_software(vllm.base_url), *measure(endpoint, asked, args.concurrency)))
    print(f"{args.requests} requests x {args.max_tokens} max tokens, concurrency {args.concurrency}")
    print(f"{'server':>40} {'wall s':>7} {'tokens':>7} {'errors':>6} {'tok/s':>7}")
    for name, wall, tokens, errors in rows:
        print(f"{name:>40} {wall:>7.1f} {tokens:>7} {errors:>6} {tokens / wall:>7.1f}")
    (_, w0, t0, _), (_, w1, t1, _) = rows
    print(f"vLLM vs llama-server: {(t1 / w1) / (t0 / w0):.2f}x tok/s")


if __name__ == "__main__":
    main()

"""Graders: deterministic text checks, sandboxed Python checks, CUDA kernels, LLM judge."""

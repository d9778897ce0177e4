"""CUDA kernels: the problem suite, NVRTC compilation (cached, resource usage), static anti-cheat
checks, and a GPU runner (subprocess per candidate) for correctness and timing.

Nothing here imports torch or touches a GPU at import time.
"""

from skillfoundry.kernels.compile import DEFAULT_ARCHS, BuildResult, compile_cuda, compile_many
from skillfoundry.kernels.errors import KernelEngineError, UnknownProblemError
from skillfoundry.kernels.extract import extract_cuda_source
from skillfoundry.kernels.problems import Problem, get_problem, list_problems
from skillfoundry.kernels.static_checks import Finding, run_static_checks

__all__ = [
    "DEFAULT_ARCHS",
    "BuildResult",
    "Finding",
    "KernelEngineError",
    "Problem",
    "UnknownProblemError",
    "compile_cuda",
    "compile_many",
    "extract_cuda_source",
    "get_problem",
    "list_problems",
    "run_static_checks",
]

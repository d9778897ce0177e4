"""Errors raised by the kernel engine: each a ValueError with a one-line message."""

from __future__ import annotations


class KernelEngineError(ValueError):
    """Base of every bad-input error in ``skillfoundry.kernels``."""


class UnknownProblemError(KernelEngineError):
    """A problem id that is not in the suite."""


class ProblemSpecError(KernelEngineError):
    """A problem definition that does not hold together (raised when the suite is loaded)."""


class ExpressionError(KernelEngineError):
    """A shape/launch expression that cannot be evaluated."""


class ArchError(KernelEngineError):
    """A GPU architecture NVRTC does not support."""

"""Load a cubin and launch a problem's kernels with the CUDA driver API on torch tensors.

Imported only inside the worker subprocess, after torch has set up the CUDA context.
"""

from __future__ import annotations

import ctypes
from collections.abc import Mapping

import torch
from cuda.bindings import driver

from skillfoundry.kernels.problems.model import Launch, Problem

_MAX_STATIC_SMEM = 48 * 1024


class CandidateError(RuntimeError):
    """The candidate failed on the device: a load error, launch error or fault."""


def _ok(result: tuple | object, what: str) -> object:
    err, *rest = result if isinstance(result, tuple) else (result,)
    if err != driver.CUresult.CUDA_SUCCESS:
        raise CandidateError(f"{what}: {getattr(err, 'name', err)}")
    return rest[0] if len(rest) == 1 else rest


def ensure_context(device_index: int = 0) -> None:
    """Make torch's primary context current for driver calls on this thread."""
    torch.cuda.init()
    torch.empty(1, device=f"cuda:{device_index}")
    _ok(driver.cuInit(0), "cuInit")
    ctx = _ok(driver.cuCtxGetCurrent(), "cuCtxGetCurrent")
    if not int(ctx):
        dev = _ok(driver.cuDeviceGet(device_index), "cuDeviceGet")
        primary = _ok(driver.cuDevicePrimaryCtxRetain(dev), "cuDevicePrimaryCtxRetain")
        _ok(driver.cuCtxSetCurrent(primary), "cuCtxSetCurrent")


class KernelModule:
    """A loaded cubin and the entry points a problem needs."""

    def __init__(self, cubin: bytes, problem: Problem):
        self.problem = problem
        self._image = ctypes.create_string_buffer(cubin, len(cubin))
        self.module = _ok(driver.cuModuleLoadData(ctypes.addressof(self._image)), "cuModuleLoadData")
        self.functions = {
            launch.entry: _ok(driver.cuModuleGetFunction(self.module, launch.entry.encode()), f"entry {launch.entry}")
            for launch in problem.launches
        }

    def _params(self, launch: Launch, tensors: Mapping[str, torch.Tensor], scalars: Mapping[str, float | int]):
        holders: list[ctypes._SimpleCData] = []
        for name in launch.args:
            spec = self.problem.scalar(name)
            if spec is None:
                holders.append(ctypes.c_uint64(tensors[name].data_ptr()))
            elif spec.dtype == "int32":
                holders.append(ctypes.c_int32(int(scalars[name])))
            else:
                holders.append(ctypes.c_float(float(scalars[name])))
        array = (ctypes.c_void_p * len(holders))(*(ctypes.addressof(h) for h in holders))
        return holders, array

    def launcher(self, dims: Mapping[str, int]):
        """A function running every launch of the problem, in order, on torch's current stream."""
        configs = [(launch, *self.problem.launch_config(launch, dims)) for launch in self.problem.launches]
        scalars = self.problem.scalar_values(dims)
        for launch, _grid, _block, smem in configs:
            if smem > _MAX_STATIC_SMEM:
                attr = driver.CUfunction_attribute.CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
                _ok(driver.cuFuncSetAttribute(self.functions[launch.entry], attr, smem), "cuFuncSetAttribute")

        def launch_all(tensors: Mapping[str, torch.Tensor]) -> None:
            stream = driver.CUstream(torch.cuda.current_stream().cuda_stream)
            for launch, grid, block, smem in configs:
                # `params` keeps the argument values alive until cuLaunchKernel has copied them
                params = self._params(launch, tensors, scalars)
                _ok(
                    driver.cuLaunchKernel(
                        self.functions[launch.entry], *grid, *block, smem, stream, ctypes.addressof(params[1]), 0
                    ),
                    f"launch {launch.entry}",
                )

        return launch_all

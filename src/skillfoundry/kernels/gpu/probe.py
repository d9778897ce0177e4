"""Is there a GPU? Asked in a subprocess with a timeout, since driver calls can hang."""

from __future__ import annotations

import ctypes
import json
import subprocess
import sys
from functools import cache

from pydantic import BaseModel

# Runs in a child process: only ctypes and the driver library, no CUDA Python imports.
_PROBE = r"""
import ctypes, json, sys
cuda = ctypes.CDLL("libcuda.so.1")
def ok(r, what):
    if r != 0:
        print(json.dumps({"error": f"{what} returned CUDA error {r}"})); sys.exit(0)
ok(cuda.cuInit(0), "cuInit")
count = ctypes.c_int(); ok(cuda.cuDeviceGetCount(ctypes.byref(count)), "cuDeviceGetCount")
version = ctypes.c_int(); ok(cuda.cuDriverGetVersion(ctypes.byref(version)), "cuDriverGetVersion")
devices = []
for i in range(count.value):
    dev = ctypes.c_int(); ok(cuda.cuDeviceGet(ctypes.byref(dev), i), "cuDeviceGet")
    name = ctypes.create_string_buffer(256); ok(cuda.cuDeviceGetName(name, 256, dev), "cuDeviceGetName")
    major, minor = ctypes.c_int(), ctypes.c_int()
    ok(cuda.cuDeviceGetAttribute(ctypes.byref(major), 75, dev), "cc major")
    ok(cuda.cuDeviceGetAttribute(ctypes.byref(minor), 76, dev), "cc minor")
    devices.append({"name": name.value.decode(), "compute_capability": [major.value, minor.value]})
print(json.dumps({"driver": version.value, "devices": devices}))
"""


class DeviceInfo(BaseModel):
    """The first visible GPU as the driver reports it."""

    name: str
    compute_capability: tuple[int, int]
    cuda_driver_version: str
    count: int

    @property
    def arch(self) -> str:
        return f"sm_{self.compute_capability[0]}{self.compute_capability[1]}"


def driver_loads() -> bool:
    """True when ``libcuda.so.1`` can be loaded into this process (no device call is made)."""
    try:
        ctypes.CDLL("libcuda.so.1")
    except OSError:
        return False
    return True


def parse_probe(stdout: str) -> DeviceInfo | None:
    """The probe script's JSON line as DeviceInfo, or None if it reports an error or no device."""
    try:
        data = json.loads(stdout.strip().splitlines()[-1])
    except (json.JSONDecodeError, IndexError):
        return None
    devices = data.get("devices") or []
    if "error" in data or not devices:
        return None
    version = int(data["driver"])
    return DeviceInfo(
        name=devices[0]["name"],
        compute_capability=tuple(devices[0]["compute_capability"]),
        cuda_driver_version=f"{version // 1000}.{version % 1000 // 10}",
        count=len(devices),
    )


@cache
def probe(timeout_s: float = 30.0) -> DeviceInfo | None:
    """The first GPU, or None when there is no driver, no device, or the driver does not answer in time."""
    if not driver_loads():
        return None
    try:
        done = subprocess.run([sys.executable, "-c", _PROBE], capture_output=True, text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return None
    return parse_probe(done.stdout) if done.returncode == 0 else None


def available() -> bool:
    """True when a GPU with a working driver answers (checked once per process)."""
    return probe() is not None

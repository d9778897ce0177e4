"""GPU stage: run candidates in killable subprocesses for correctness and timing.

Importing this package touches no GPU: ``available()`` loads ``libcuda.so.1`` with ctypes and,
only if that works, asks the driver in a subprocess with a timeout.
"""

from skillfoundry.kernels.gpu.probe import DeviceInfo, available, probe

__all__ = ["DeviceInfo", "available", "probe"]

"""The GPUs: name, memory and driver, from NVML (the `nvidia-ml-py` package) when installed, else from a
torch that is already imported and has initialised CUDA; nothing on a machine without them.

torch is never imported here, nor asked to initialise CUDA (that would change what a forked DataLoader
worker may do): it answers only once the program itself has used CUDA.
"""

from __future__ import annotations

import functools
import importlib.util
import sys
from typing import Any


def gpus() -> list[dict[str, Any]]:
    """One `{"name", "memory_bytes", "driver"}` per GPU (keys left out when unknown), or []."""
    return _nvml_gpus() or _torch_gpus()


@functools.cache
def _nvml_gpus() -> list[dict[str, Any]]:
    """The GPUs as NVML tells them, once per process (hardware does not come and go under a run)."""
    pynvml = nvml()
    if pynvml is None:
        return []
    try:
        driver = _text(pynvml.nvmlSystemGetDriverVersion())
        found = []
        for index in range(pynvml.nvmlDeviceGetCount()):
            handle = pynvml.nvmlDeviceGetHandleByIndex(index)
            found.append({"name": _text(pynvml.nvmlDeviceGetName(handle)),
                          "memory_bytes": int(pynvml.nvmlDeviceGetMemoryInfo(handle).total), "driver": driver})
        return found
    except pynvml.NVMLError:
        return []
    finally:
        pynvml.nvmlShutdown()


def nvml() -> Any:
    """`pynvml`, initialised (the caller shuts it down), or None: no `nvidia-ml-py`, or no driver."""
    if importlib.util.find_spec("pynvml") is None:
        return None
    import pynvml  # type: ignore[import-not-found]

    try:
        pynvml.nvmlInit()
    except pynvml.NVMLError:  # no driver: a CPU-only machine with the package installed
        return None
    return pynvml


def cuda() -> Any:
    """`torch.cuda` once the program has imported torch and initialised CUDA, else None."""
    torch_cuda = getattr(sys.modules.get("torch"), "cuda", None)
    return torch_cuda if torch_cuda is not None and torch_cuda.is_initialized() else None


def _torch_gpus() -> list[dict[str, Any]]:
    torch_cuda = cuda()
    if torch_cuda is None:
        return []
    devices = []
    for index in range(torch_cuda.device_count()):
        properties = torch_cuda.get_device_properties(index)
        devices.append({"name": str(properties.name), "memory_bytes": int(properties.total_memory)})
    return devices


def _text(value: Any) -> str:
    return value.decode(errors="replace") if isinstance(value, bytes) else str(value)

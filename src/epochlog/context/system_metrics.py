"""System metrics while a run is open: CPU, memory, disk and network I/O, and each GPU, sampled by the run's
background thread every `Tracker.system_interval` seconds and logged as step series `system/...`, with their
peaks and means kept for the experiment's `system` summary at the end (docs/CONTEXT.md).

Each metric is read on its own and never raises: one that cannot be read (a container without disk counters,
a GPU that does not report its power) is left out of the samples, and said once in the log. Host metrics come
from psutil; the GPUs from NVML (`nvidia-ml-py`) when it is installed and finds a driver, else (memory only)
from a torch that has initialised CUDA, as `gpus.py` finds them. Rates are the differences of byte counters
between two samples over the time between them.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import psutil  # type: ignore[import-untyped]

from .gpus import cuda, nvml

PREFIX = "system/"
MB = 1_048_576  # the unit of every `_mb` and `_mb_s` metric: 2**20 bytes
log = logging.getLogger("epochlog.system_metrics")

Reader = Callable[[], Mapping[str, float]]


class Sample(NamedTuple):
    """One sample: its step (whole seconds since the run started, see `SystemSampler`) and its values."""

    step: int
    values: dict[str, float]


@dataclass
class _Stat:
    peak: float = -math.inf
    total: float = 0.0
    count: int = 0

    def add(self, value: float) -> None:
        self.peak = max(self.peak, value)
        self.total += value
        self.count += 1


class SystemSampler:
    """Samples the process, the machine and its GPUs: `prime()` once, then `sample()` at each interval,
    `summary()` at the end and `close()`.

    A sample's step is the whole seconds since the run started (`elapsed` were already spent when the sampler
    was made), and always above the previous step (`last_step`, the last one stored, for a resumed run), so
    that samples less than a second apart (short intervals) still have steps of their own.
    """

    def __init__(self, elapsed: float = 0.0, last_step: int = -1) -> None:
        self._origin = time.monotonic() - elapsed
        self._step = last_step
        self._readers: dict[str, Reader] = {}
        self._failing: set[str] = set()  # readers whose failure was logged (once, until they recover)
        self._stats: dict[str, _Stat] = {}
        self._nvml: Any = None

    def prime(self) -> None:
        """Open what sampling reads (the process, NVML) and take the first readings, which the rates and the
        CPU percent of the first sample start from."""
        self._readers = {**_host_readers(), **self._gpu_readers()}
        self._read()

    def sample(self) -> Sample:
        """The metrics that could be read now (`system/cpu_percent` -> value), counted into the summary."""
        values = self._read()
        for name, value in values.items():
            self._stats.setdefault(name, _Stat()).add(value)
        self._step = max(int(time.monotonic() - self._origin), self._step + 1)
        return Sample(self._step, values)

    def summary(self) -> dict[str, Any]:
        """`{"cpu_percent": {"max": ., "mean": .}, "gpu0": {"utilization": {...}}, ...}` over the samples so
        far: the series' names without `system/`, split at `/`."""
        summary: dict[str, Any] = {}
        for name, stat in sorted(self._stats.items()):
            *parents, leaf = name[len(PREFIX):].split("/")
            section = summary
            for parent in parents:
                section = section.setdefault(parent, {})
            section[leaf] = {"max": stat.peak, "mean": stat.total / stat.count}
        return summary

    def close(self) -> None:
        """Release NVML, if it was opened."""
        if self._nvml is not None:
            try:
                self._nvml.nvmlShutdown()
            except self._nvml.NVMLError:
                pass
            self._nvml = None

    def _read(self) -> dict[str, float]:
        values: dict[str, float] = {}
        for key, read in self._readers.items():
            try:
                found = read()
            except Exception as error:  # a metric must not stop the run nor the other metrics
                if key not in self._failing:
                    self._failing.add(key)
                    log.warning("system metric %s not recorded: %s: %s", key, type(error).__name__, error)
                continue
            self._failing.discard(key)
            values.update((name, float(value)) for name, value in found.items() if math.isfinite(value))
        return values

    def _gpu_readers(self) -> dict[str, Reader]:
        pynvml = self._nvml = nvml()
        if pynvml is not None:
            try:
                return _nvml_readers(pynvml)
            except pynvml.NVMLError as error:
                log.warning("GPU metrics not recorded: NVML: %s", error)
                return {}
        torch_cuda = cuda()
        if torch_cuda is None:
            return {}
        return {f"gpu{index}/memory": _torch_memory(torch_cuda, index) for index in range(torch_cuda.device_count())}


def _host_readers() -> dict[str, Reader]:
    process = psutil.Process()
    return {
        "cpu_percent": lambda: {"system/cpu_percent": process.cpu_percent(None)},  # of one core: up to 100 x cores
        "rss_mb": lambda: {"system/rss_mb": process.memory_info().rss / MB},
        "memory_percent": lambda: {"system/memory_percent": psutil.virtual_memory().percent},
        "disk": _Rates(_disk_bytes),
        "network": _Rates(_network_bytes),
    }


def _disk_bytes() -> dict[str, float]:
    counters = psutil.disk_io_counters(nowrap=False)  # `_Rates` skips a wrap; psutil's own check doubles the cost
    if counters is None:  # no disk the OS counts (some containers)
        return {}
    return {"system/disk_read_mb_s": counters.read_bytes, "system/disk_write_mb_s": counters.write_bytes}


def _network_bytes() -> dict[str, float]:
    counters = psutil.net_io_counters(nowrap=False)
    if counters is None:
        return {}
    return {"system/net_sent_mb_s": counters.bytes_sent, "system/net_recv_mb_s": counters.bytes_recv}


class _Rates:
    """MB/s of byte counters since the previous call; nothing on the first call, nor for a counter that went
    back (reset)."""

    def __init__(self, read: Callable[[], dict[str, float]], clock: Callable[[], float] = time.monotonic) -> None:
        self._read = read
        self._clock = clock
        self._previous: tuple[float, dict[str, float]] | None = None

    def __call__(self) -> dict[str, float]:
        now, counters = self._clock(), self._read()
        previous, self._previous = self._previous, (now, counters)
        if previous is None or now <= previous[0]:
            return {}
        elapsed = now - previous[0]
        return {name: (value - previous[1][name]) / elapsed / MB for name, value in counters.items()
                if previous[1].get(name, math.inf) <= value}


def _nvml_readers(pynvml: Any) -> dict[str, Reader]:
    readers: dict[str, Reader] = {}
    for index in range(pynvml.nvmlDeviceGetCount()):
        handle, prefix = pynvml.nvmlDeviceGetHandleByIndex(index), f"{PREFIX}gpu{index}/"

        def utilization(handle: Any = handle, prefix: str = prefix) -> dict[str, float]:
            return {f"{prefix}utilization": pynvml.nvmlDeviceGetUtilizationRates(handle).gpu}

        def memory(handle: Any = handle, prefix: str = prefix) -> dict[str, float]:
            info = pynvml.nvmlDeviceGetMemoryInfo(handle)
            return {f"{prefix}memory_used_mb": info.used / MB, f"{prefix}memory_percent": 100 * info.used / info.total}

        def temperature(handle: Any = handle, prefix: str = prefix) -> dict[str, float]:
            return {f"{prefix}temperature_c": pynvml.nvmlDeviceGetTemperature(handle, pynvml.NVML_TEMPERATURE_GPU)}

        def power(handle: Any = handle, prefix: str = prefix) -> dict[str, float]:
            return {f"{prefix}power_w": pynvml.nvmlDeviceGetPowerUsage(handle) / 1000}  # NVML says milliwatts

        readers.update({f"gpu{index}/utilization": utilization, f"gpu{index}/memory": memory,
                        f"gpu{index}/temperature_c": temperature, f"gpu{index}/power_w": power})
    return readers


def _torch_memory(torch_cuda: Any, index: int) -> Reader:
    prefix = f"{PREFIX}gpu{index}/"

    def memory() -> dict[str, float]:
        free, total = torch_cuda.mem_get_info(index)
        return {f"{prefix}memory_used_mb": (total - free) / MB, f"{prefix}memory_percent": 100 * (total - free) / total}
    return memory

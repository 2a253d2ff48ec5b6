"""The interpreter and the machine: python, platform, hostname, CPU model and cores, memory.

What cannot change under a running process is computed once per process (`functools.cache`); nothing here
starts a process on Linux, where `platform.processor()` would (it runs `uname -p`).
"""

from __future__ import annotations

import functools
import os
import platform
import socket
import subprocess
import sys
from typing import Any


@functools.cache
def python() -> dict[str, str]:
    """`version`, `implementation` and `executable` of the running interpreter."""
    return {"version": platform.python_version(), "implementation": platform.python_implementation(),
            "executable": sys.executable}


@functools.cache
def machine() -> dict[str, Any]:
    """`platform`, `hostname`, `cpu` (`model`, `cores`, and `available` to this process where the OS says)
    and `memory` (`total_bytes`), each left out when the OS does not tell."""
    facts: dict[str, Any] = {"platform": platform.platform(), "hostname": socket.gethostname()}
    cpu: dict[str, Any] = {}
    model = _cpu_model()
    if model:
        cpu["model"] = model
    if os.cpu_count():
        cpu["cores"] = os.cpu_count()
    if hasattr(os, "sched_getaffinity"):
        cpu["available"] = len(os.sched_getaffinity(0))
    if cpu:
        facts["cpu"] = cpu
    memory = _memory_bytes()
    if memory:
        facts["memory"] = {"total_bytes": memory}
    return facts


def _cpu_model() -> str | None:
    if sys.platform.startswith("linux"):
        try:
            with open("/proc/cpuinfo", encoding="utf-8", errors="replace") as file:
                for line in file:
                    key, _, value = line.partition(":")
                    if key.strip() in ("model name", "Model", "Hardware", "cpu model") and value.strip():
                        return value.strip()
        except OSError:
            pass
        return None
    if sys.platform == "darwin":
        try:
            answer = subprocess.run(["sysctl", "-n", "machdep.cpu.brand_string"], capture_output=True, text=True,
                                    timeout=1.0)
        except (OSError, subprocess.TimeoutExpired):
            return None
        return answer.stdout.strip() or None
    return platform.processor() or None


def _memory_bytes() -> int | None:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # Windows has no sysconf; psutil knows, when installed
        pass
    try:
        import psutil  # type: ignore[import-untyped]
    except ImportError:
        return None
    return int(psutil.virtual_memory().total)

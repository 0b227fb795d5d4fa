"""What this machine offers torch: the cores this process may use and the CPU's kernel flags."""

from __future__ import annotations

import os
import platform
from pathlib import Path

#: CPU flags that decide which kernels torch and oneDNN use (recorded per training segment).
KERNEL_FLAGS = frozenset({"avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "avx512_bf16", "amx_bf16", "amx_tile"})


def cores() -> int:
    """Cores this process may run on: its CPU affinity (a container or ``taskset`` may give it
    fewer than the machine has, which ``os.cpu_count()`` ignores); at least one."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def threads(setting: str | int | None = None) -> int:
    """Intra-op threads for torch: ``setting`` (or ``SENET_VIZ_THREADS``) when given, else one
    per available core."""
    setting = setting if setting is not None else os.environ.get("SENET_VIZ_THREADS")
    return max(1, int(setting)) if setting else cores()


def _cpuinfo_field(name: str) -> str:
    try:
        info = Path("/proc/cpuinfo").read_text()
    except OSError:
        return ""
    line = next((ln for ln in info.splitlines() if ln.startswith(name)), "")
    return line.partition(":")[2].strip()


def cpu_flags() -> set[str]:
    return set(_cpuinfo_field("flags").split())


def cpu_name() -> str:
    return _cpuinfo_field("model name") or platform.processor() or platform.machine()


def release_free_memory() -> None:
    """Collect garbage and hand the C heap's free pages back to the system (glibc's
    malloc_trim), so a server's resident memory falls after a burst, not only its use."""
    import ctypes
    import ctypes.util
    import gc

    gc.collect()
    name = ctypes.util.find_library("c")
    libc = ctypes.CDLL(name) if name else None
    if libc is not None and hasattr(libc, "malloc_trim"):
        libc.malloc_trim(0)

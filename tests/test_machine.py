"""Threads and cores: what torch is told follows the process's CPU affinity or the setting."""

import torch

from senet_viz import machine


def test_cores_follow_the_affinity_not_the_machine(monkeypatch):
    monkeypatch.setattr("os.sched_getaffinity", lambda pid: {3}, raising=False)
    monkeypatch.setattr("os.cpu_count", lambda: 64)
    assert machine.cores() == 1
    monkeypatch.delenv("SENET_VIZ_THREADS", raising=False)
    assert machine.threads() == 1


def test_the_setting_wins(monkeypatch):
    monkeypatch.setenv("SENET_VIZ_THREADS", "3")
    assert machine.threads() == 3 and machine.threads(5) == 5


def test_the_app_sets_the_threads_the_setting_asks_for(monkeypatch):
    """The app's model loader sets torch's threads for the whole process from SENET_VIZ_THREADS
    (the suite sets 2, so the test order cannot change which kernels later tests run)."""
    from ui.common import threads

    monkeypatch.setenv("SENET_VIZ_THREADS", "3")
    try:
        threads()
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(2)


def test_kernel_flags_are_read_from_the_processor():
    from pathlib import Path

    flags = machine.cpu_flags()
    assert machine.cpu_name()
    if Path("/proc/cpuinfo").is_file():  # Linux: the flags line is read (x86 lists sse2, arm fp)
        assert "sse2" in flags or "fp" in flags, sorted(flags)[:10]

"""Statistics sharded over 2 processes (torchrun, gloo on the CPU) equal the single-process result."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import ROOT, make_image_folder

from senet_viz.stats import load_stats


def loopback_interface() -> str:
    """The name of the interface that holds 127.0.0.1 (``lo`` on most Linux machines, not all)."""
    import fcntl
    import socket
    import struct

    siocgifaddr = 0x8915
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for _, name in socket.if_nameindex():
            try:
                raw = fcntl.ioctl(s.fileno(), siocgifaddr, struct.pack("256s", name.encode()[:15]))
            except OSError:
                continue
            if socket.inet_ntoa(raw[20:24]) == "127.0.0.1":
                return name
    raise RuntimeError("no interface holds 127.0.0.1")


def test_the_loopback_interface_is_found():
    assert loopback_interface()


def test_torchrun_two_processes_equal_one(tmp_path):
    folder = make_image_folder(tmp_path / "pics", classes=("a", "b", "c"), per_class=5, size=(36, 36))
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    args = ["stats", str(folder), "--weights", "random", "--batch-size", "4", "--no-progress"]
    env = {**os.environ, "GLOO_SOCKET_IFNAME": loopback_interface(), "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "senet_viz", *args, "--out", str(one)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    # --standalone: torchrun binds a free port itself (a port picked here could be taken meanwhile)
    r = subprocess.run([torchrun, "--standalone", "--nproc_per_node", "2", "-m", "senet_viz", *args, "--out", str(two)],
                       cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    a, b = load_stats(one), load_stats(two)
    assert b.meta["processes"] == 2 and list(a.count) == list(b.count) == [5, 5, 5]
    # the shards batch other pictures together, and fp32 convolutions round differently with the
    # batch (oneDNN picks kernels by shape): equal to float32 precision, not bit for bit
    for blk in a.blocks:
        np.testing.assert_allclose(a.s_sum[blk], b.s_sum[blk], rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(a.z_sq[blk], b.z_sq[blk], rtol=1e-5, atol=1e-9)
        np.testing.assert_allclose(a.h_sum[blk], b.h_sum[blk], rtol=1e-5, atol=1e-9)
        # a value within rounding of a bin edge may land in the next bin: counts move by one at most
        assert np.abs(a.hist[blk].astype(np.int64) - b.hist[blk].astype(np.int64)).max() <= 1
        assert a.hist[blk].sum() == b.hist[blk].sum()

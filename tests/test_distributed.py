"""Statistics sharded over 2 processes (torchrun, gloo on the CPU) equal the single-process result."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from conftest import ROOT, make_image_folder

from senet_viz.stats import load_stats


def test_torchrun_two_processes_equal_one(tmp_path):
    from browser_support import free_port

    folder = make_image_folder(tmp_path / "pics", classes=("a", "b", "c"), per_class=5, size=(36, 36))
    one, two = tmp_path / "one.npz", tmp_path / "two.npz"
    args = ["stats", str(folder), "--weights", "random", "--batch-size", "4", "--no-progress"]
    env = {**os.environ, "GLOO_SOCKET_IFNAME": "lo", "OMP_NUM_THREADS": "1"}
    r = subprocess.run([sys.executable, "-m", "senet_viz", *args, "--out", str(one)], cwd=ROOT, env=env,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or "torchrun"
    r = subprocess.run([torchrun, "--nnodes", "1", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
                        "--master_port", str(free_port()), "-m", "senet_viz", *args, "--out", str(two)],
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
        np.testing.assert_array_equal(a.hist[blk], b.hist[blk])

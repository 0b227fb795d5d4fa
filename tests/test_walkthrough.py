"""The Python walk-through in docs/ runs offline on the shipped model, as a reader would run it."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def test_the_walkthrough_runs_and_shows_z_s_and_the_class_figure(tmp_path):
    env = {**os.environ, "WALKTHROUGH_OUT": str(tmp_path), "PYTHONPATH": str(ROOT), "SENET_VIZ_THREADS": "2"}
    done = subprocess.run([sys.executable, "docs/walkthrough.py"], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "se_resnet20_cifar10" in out and "9 SE blocks in all" in out
    assert "z of SE_4_3, first 6 channels:" in out and "s of SE_4_3, first 6 channels:" in out
    # the scale checked by hand: float32 products, rounding only
    residual = float(out.split("max |s * U - output|:")[1].split()[0])
    assert residual < 1e-5
    assert "100 pictures, 10 classes" in out and "from a DataLoader: 20 pictures" in out
    png = tmp_path / "excitation.png"
    assert png.is_file() and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert "('SE_2_1', '2', 16), ('SE_3_1', '5', 32)" in out

"""The command line: results, and one line on stderr with exit 2 for errors a user can cause."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, random_picture


def run(*args, timeout=300):
    return subprocess.run([sys.executable, "-m", "senet_viz", *args], cwd=ROOT, capture_output=True, text=True, timeout=timeout)


def test_inspect_writes_npz_and_json(tmp_path):
    pic = tmp_path / "p.png"
    random_picture(0, (50, 40)).save(pic)
    out = tmp_path / "cap.npz"
    r = run("inspect", str(pic), "--weights", "random", "--top", "3", "--out", str(out), "--device", "cpu")
    assert r.returncode == 0, r.stderr
    assert "SE_4_3" in r.stdout and "random weights" in r.stdout
    with np.load(out) as f:
        assert f["logits"].shape == (1, 10) and len(f["class_names"]) == 10
        assert f["squeeze/SE_2_1"].shape == (1, 16) and f["excitation/SE_4_3"].shape == (1, 64)
    r = run("inspect", str(pic), str(pic), "--weights", "random", "--json")
    assert r.returncode == 0 and '"top"' in r.stdout


@pytest.mark.parametrize("args,match", [
    (["inspect", "missing.jpg", "--weights", "random"], "no such file"),
    (["inspect", "pyproject.toml", "--weights", "random"], "not a picture"),
    (["inspect", "x.jpg", "--model", "nope"], "unknown model"),
    (["inspect", "x.jpg", "--weights", "missing.safetensors"], "no such weights file"),
    (["cost", "nope"], "unknown model"),
    (["evaluate", "--data", "missing-folder", "--weights", "random"], "no such folder"),
])
def test_user_errors_are_one_line_and_exit_2(args, match, tmp_path):
    r = run(*args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and match in lines[0] and "Traceback" not in r.stderr


def test_cost_reproduces_the_paper():
    r = run("cost", "seresnet50")
    assert r.returncode == 0, r.stderr
    assert "25.56M without SE -> 28.09M with SE" in r.stdout and "SE_5_3" in r.stdout


def test_models_lists_availability():
    r = run("models")
    assert r.returncode == 0 and "se_resnet20_cifar10" in r.stdout and "seresnet50.a1_in1k" in r.stdout

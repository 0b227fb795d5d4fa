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


def test_the_accuracy_before_averaging_is_recorded_from_the_runs_checkpoint(tmp_path, monkeypatch, capsys):
    """scripts/checkpoint_weights.py turns a checkpoint into weights that name their model and
    epoch; ``evaluate --record one-cycle-end`` writes their accuracy into the card's
    ``one_cycle_end``, and refuses weights of another epoch, and other weights for the shipped check."""
    import json

    import torch
    from conftest import make_image_folder

    import senet_viz.models.project as project
    from senet_viz import cli
    from senet_viz.models import load_model

    model = load_model("se_resnet20_cifar10", weights="random", device="cpu")
    data = make_image_folder(tmp_path / "data", classes=tuple(model.class_names), per_class=1)
    card = tmp_path / "card.json"
    card.write_text(json.dumps({"name": model.name, "epochs": 140, "swa": {"epochs": 20, "lr": 0.05}}))
    monkeypatch.setattr(project, "card_file", lambda name: card)

    def weights_after(epoch: int) -> str:
        ckpt, out = tmp_path / f"run{epoch}.ckpt.pt", tmp_path / f"epoch{epoch}.safetensors"
        definition = {"model": model.name, "epochs": 140, "swa_epochs": 20}
        torch.save({"model": model.net.state_dict(), "epoch": epoch, "definition": json.dumps(definition)}, ckpt)
        made = subprocess.run([sys.executable, "scripts/checkpoint_weights.py", str(ckpt), str(out), "--from", "a test run"],
                              cwd=ROOT, capture_output=True, text=True)
        assert made.returncode == 0, made.stderr
        return str(out)

    evaluate = ["evaluate", "--model", model.name, "--data", str(data), "--device", "cpu", "--no-progress"]
    assert cli.main([*evaluate, "--weights", weights_after(140), "--record", "one-cycle-end"]) == 0
    written = json.loads(card.read_text())
    assert written["one_cycle_end"]["epoch"] == 140 and written["one_cycle_end"]["from"] == "a test run"
    assert written["one_cycle_end"]["n"] == 10 and "checks" not in written and "weights_sha256" not in written
    capsys.readouterr()
    assert cli.main([*evaluate, "--weights", weights_after(141), "--record", "one-cycle-end"]) == 2
    assert "ends after epoch 140" in capsys.readouterr().err
    assert cli.main([*evaluate, "--weights", weights_after(140), "--record"]) == 2
    assert "only with --record one-cycle-end" in capsys.readouterr().err
    assert json.loads(card.read_text()) == written  # a refused record changes nothing


def test_version_and_the_app_command_pass_streamlits_options_through(monkeypatch, capsys):
    import os

    from senet_viz import __version__, cli
    from senet_viz.resources import app_dir, streamlit_options

    with pytest.raises(SystemExit):
        cli.main(["--version"])
    assert capsys.readouterr().out.strip().endswith(__version__)
    ran = {}
    monkeypatch.setattr(os, "execv", lambda exe, argv: ran.setdefault("argv", argv))
    cli.main(["app", "--server.port", "8600", "--theme.base=dark"])
    argv = ran["argv"]
    assert argv[1:4] == ["-m", "streamlit", "run"] and argv[4] == str(app_dir() / "app.py")
    assert "--server.maxUploadSize=50" in argv and argv[-3:] == ["--server.port", "8600", "--theme.base=dark"]
    assert streamlit_options() == argv[5:-3]  # the app's own settings first: the user's come later and win

"""Training on a tiny, easily learnt synthetic set: the loss falls, and a stopped run resumes exactly."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from senet_viz.models.project import PROJECT_MODELS, training_summary
from senet_viz.train import Stepper, _sgd, augment, epoch_draws, seconds_per_epoch, train


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny")
    rng = np.random.default_rng(0)
    for k, colour in enumerate([(220, 30, 30), (30, 30, 220)]):
        (root / f"c{k}").mkdir()
        for i in range(64):
            a = np.clip(np.array(colour) + rng.normal(0, 25, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(a).save(root / f"c{k}" / f"{i}.png")
    return root


def test_loss_falls_and_a_card_is_written(tiny_set, tmp_path):
    out = tmp_path / "m.safetensors"
    card = train("se_resnet20_cifar10", str(tiny_set), str(tiny_set), out, epochs=4, batch_size=16, lr=0.05, progress=False)
    losses = [h["loss"] for h in card["history"]]
    assert losses[-1] < 0.7 * losses[0], losses
    saved = json.loads(out.with_suffix(".json").read_text())
    assert saved["test"]["n"] == 128 and saved["test"]["top1"] > 0.9
    assert saved["seed"] == 0 and saved["epochs"] == 4 and len(saved["train_data"]["sha256"]) in (0, 64)
    assert "confusion" in saved["test"] and "per_class" in saved["test"]
    assert set(load_file(str(out))) >= {"layer1.0.se.fc1.weight", "fc.weight"}


def test_a_stopped_run_resumes_to_the_same_weights(tiny_set, tmp_path):
    kw = dict(epochs=2, batch_size=32, lr=0.05, progress=False)
    straight = tmp_path / "straight.safetensors"
    train("resnet20_cifar10", str(tiny_set), None, straight, **kw)
    resumed = tmp_path / "resumed.safetensors"
    assert train("resnet20_cifar10", str(tiny_set), None, resumed, stop_after=1, **kw) is None
    assert resumed.with_suffix(".ckpt.pt").is_file() and not resumed.exists()
    card = train("resnet20_cifar10", str(tiny_set), None, resumed, **kw)
    assert [h["epoch"] for h in card["history"]] == [1, 2]
    a, b = load_file(str(straight)), load_file(str(resumed))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)


def test_augment_is_a_padded_crop_and_flip_at_the_drawn_offsets():
    """The batched gather equals the per-picture crop and flip."""
    x = torch.randn(37, 3, 32, 32)
    order, shifts, flips = epoch_draws(37, 1, 37, torch.Generator().manual_seed(5), torch.device("cpu"))
    assert sorted(order.tolist()) == list(range(37)) and shifts.shape == (2, 1, 37) and flips.shape == (1, 37)
    dx, dy, flip = shifts[0, 0], shifts[1, 0], flips[0]
    got = augment(x, dx, dy, flip)
    padded = torch.nn.functional.pad(x, (4, 4, 4, 4))
    for i in range(37):
        want = padded[i, :, dy[i] : dy[i] + 32, dx[i] : dx[i] + 32]
        torch.testing.assert_close(got[i], want.flip(2) if flip[i] else want, rtol=0, atol=0)
    assert flip.any() and not flip.all() and (dx != 4).any() and int(shifts.min()) >= 0 and int(shifts.max()) <= 8


def test_graphs_that_cannot_be_made_leave_an_eager_network_with_its_statistics(capsys):
    net = PROJECT_MODELS["se_resnet20_cifar10"].build().train()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    step = Stepper(net, _sgd(net, 0.05, 5e-4), 0.1, torch.device("cpu"))
    assert step.use_graphs(torch.randn(8, 3, 32, 32)) is False  # CUDA graphs need a GPU
    assert "training eagerly" in capsys.readouterr().err and "forward" not in net.__dict__
    for k, v in net.state_dict().items():
        torch.testing.assert_close(v, before[k], rtol=0, atol=0)
    loss = step(torch.randn(8, 3, 32, 32), torch.randint(0, 10, (8,)))
    assert loss.ndim == 0 and torch.isfinite(loss)


def test_seconds_per_epoch_scales_the_timed_steps_to_an_epoch(monkeypatch):
    """A clock that advances 1 s per reading: 2 timed steps in 1 s, 80 pictures / batch 8 = 10 steps."""
    ticks = iter(range(1000))
    monkeypatch.setattr("senet_viz.train.time.perf_counter", lambda: float(next(ticks)))
    assert seconds_per_epoch("resnet20_cifar10", batch_size=8, pictures=80, device="cpu", steps=2) == 5.0


def test_weight_averaging_from_given_weights_resumes_exactly_and_records_its_start(tiny_set, tmp_path):
    first = tmp_path / "first.safetensors"
    train("resnet20_cifar10", str(tiny_set), None, first, epochs=1, batch_size=32, lr=0.05, progress=False)
    kw = dict(epochs=0, swa_epochs=2, swa_lr=0.02, batch_size=32, progress=False, init=first)
    straight = tmp_path / "straight.safetensors"
    card = train("resnet20_cifar10", str(tiny_set), str(tiny_set), straight, **kw)
    assert card["recipe"]["schedule"].startswith("none") and card["swa"]["epochs"] == 2
    assert card["init"]["file"] == "first.safetensors" and len(card["init"]["sha256"]) == 64
    assert card["init"]["card"]["epochs"] == 1 and [h["epoch"] for h in card["history"]] == [1, 2]
    resumed = tmp_path / "resumed.safetensors"
    assert train("resnet20_cifar10", str(tiny_set), None, resumed, stop_after=1, **kw) is None
    train("resnet20_cifar10", str(tiny_set), None, resumed, **kw)
    a, b, start = load_file(str(straight)), load_file(str(resumed)), load_file(str(first))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    assert not torch.equal(a["fc.weight"], start["fc.weight"])
    # the averaged network's BatchNorm statistics were re-estimated, not left as the first run's
    assert not torch.equal(a["bn1.running_mean"], start["bn1.running_mean"])


def test_training_summary_follows_the_chain_of_runs():
    first = {"epochs": 144, "recipe": {"schedule": "one-cycle, max lr 0.4", "batch_size": 256}, "device": "NVIDIA H200",
             "training_seconds": 201.2, "swa": None, "init": None}
    card = {"epochs": 0, "swa": {"epochs": 20, "lr": 0.05}, "device": "CPU", "training_seconds": 2700.0,
            "init": {"file": "a.safetensors", "card": first}}
    assert training_summary(card) == ("144 one-cycle epochs (peak lr 0.4, batch 256) on NVIDIA H200 (3 min), "
                                      "then 20 epochs of weight averaging (lr 0.05) on CPU (45 min)")


def test_the_train_command_passes_its_recipe_into_the_card(tiny_set, tmp_path, capsys):
    from senet_viz.cli import main

    out = tmp_path / "m.safetensors"
    assert main(["train", "--model", "resnet20_cifar10", "--data", str(tiny_set), "--test-data", str(tiny_set), "--out", str(out),
                 "--epochs", "1", "--batch-size", "32", "--lr", "0.05", "--weight-decay", "1e-4", "--no-progress"]) == 0
    card = json.loads(out.with_suffix(".json").read_text())
    assert card["recipe"]["weight_decay"] == 1e-4 and card["recipe"]["batch_size"] == 32 and card["epochs"] == 1
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("top1=")


def test_decay_groups_spare_biases_batchnorm_and_the_se_layers():
    net = PROJECT_MODELS["se_resnet20_cifar10"].build()
    groups = {g["name"]: g for g in _sgd(net, 0.1, 5e-4).param_groups}
    names = {id(p): n for n, p in net.named_parameters()}
    by_group = {k: {names[id(p)] for p in g["params"]} for k, g in groups.items()}
    assert groups["decayed"]["weight_decay"] == 5e-4 and groups["se"]["weight_decay"] == 0.0 and groups["none"]["weight_decay"] == 0.0
    assert by_group["decayed"] == {n for n in names.values() if (".conv" in n or n.startswith(("conv", "fc.")) or "shortcut.0" in n) and n.endswith("weight")}
    assert by_group["se"] == {n for n in names.values() if ".se." in n and n.endswith("weight")}
    assert "layer1.0.bn1.weight" in by_group["none"] and "layer3.2.se.fc2.bias" in by_group["none"] and "fc.bias" in by_group["none"]
    assert sum(len(v) for v in by_group.values()) == len(names)
    old = _sgd(net, 0.1, 5e-4, decay_on="all").param_groups
    assert len(old) == 1 and old[0]["weight_decay"] == 5e-4 and len(old[0]["params"]) == len(names)


def test_the_card_records_the_decay_groups_the_se_widths_and_health(tiny_set, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    card = train("se_resnet20_cifar10", str(tiny_set), None, out, epochs=1, batch_size=32, lr=0.05, progress=False)
    assert card["recipe"]["weight_decay_on"].startswith("convolution and classifier") and card["recipe"]["se_weight_decay"] == 0.0
    assert card["se_hidden"] == {f"SE_{s}_{b}": 8 for s in (2, 3, 4) for b in (1, 2, 3)}
    assert [b["name"] for b in card["se_health"]["blocks"]] == list(card["se_hidden"])
    assert set(card["history"][0]["se_health"]) == set(card["se_hidden"])
    assert "SE health (live units, std of s): SE_2_1:" in capsys.readouterr().out


def _copy_tree(dst):
    """The project's code as a fresh checkout would have it (no caches, no ignored files)."""
    import shutil

    from conftest import ROOT

    shutil.copytree(ROOT / "senet_viz", dst / "senet_viz", ignore=shutil.ignore_patterns("__pycache__"))
    (dst / "assets" / "training").mkdir(parents=True)
    return dst


def _train_in(tree, tiny_set, cache, *extra):
    import subprocess
    import sys

    cmd = [sys.executable, "-m", "senet_viz", "--threads", "2", "train", "--model", "resnet20_cifar10", "--data", str(tiny_set),
           "--out", "assets/training/m.safetensors", "--epochs", "2", "--swa-epochs", "1", "--swa-lr", "0.02",
           "--batch-size", "32", "--lr", "0.05", "--no-progress", *extra]
    env = {**os.environ, "SENET_VIZ_CACHE": str(cache), "PYTHONPATH": str(tree)}
    return subprocess.run(cmd, cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def test_a_run_resumes_in_a_fresh_tree_from_the_committed_checkpoint_alone(tiny_set, tmp_path, monkeypatch):
    """What a working session commits is the checkpoint in assets/training/; a new machine has
    nothing else (no decoded-data cache, no other files). Resuming there reaches exactly the
    weights of an uninterrupted run (same machine, same kernels: bit for bit is right here)."""
    import shutil

    straight = _copy_tree(tmp_path / "straight")
    assert _train_in(straight, tiny_set, tmp_path / "c0").returncode == 0
    first = _copy_tree(tmp_path / "first")
    monkeypatch.setenv("SENET_VIZ_CACHE", str(tmp_path / "c1"))
    assert train("resnet20_cifar10", str(tiny_set), None, first / "assets/training/m.safetensors", epochs=2,
                 swa_epochs=1, swa_lr=0.02, batch_size=32, lr=0.05, progress=False, stop_after=1) is None
    committed = sorted(p.relative_to(first) for p in (first / "assets").rglob("*") if p.is_file())
    assert committed == [Path("assets/training/m.ckpt.pt")]
    fresh = _copy_tree(tmp_path / "fresh")
    shutil.copy(first / committed[0], fresh / committed[0])
    done = _train_in(fresh, tiny_set, tmp_path / "c2")
    assert done.returncode == 0, done.stderr
    assert "resuming resnet20_cifar10 after epoch 1" in done.stdout
    assert not (fresh / committed[0]).exists()  # a finished run leaves no checkpoint behind
    a, b = load_file(str(straight / "assets/training/m.safetensors")), load_file(str(fresh / "assets/training/m.safetensors"))
    assert a.keys() == b.keys()
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    card = json.loads((fresh / "assets/training/m.json").read_text())
    assert [s["epochs"] for s in card["segments"]] == [[0, 1], [1, 3]]
    assert all(s["threads"] == 2 and s["seconds"] > 0 and s["processor"] for s in card["segments"])


def test_a_checkpoint_of_another_run_is_refused_in_one_line(tiny_set, tmp_path):
    from senet_viz.cli import main

    out = tmp_path / "m.safetensors"
    train("resnet20_cifar10", str(tiny_set), None, out, epochs=2, batch_size=32, lr=0.05, progress=False, stop_after=1)
    with pytest.raises(Exception) as err:
        train("resnet20_cifar10", str(tiny_set), None, out, epochs=3, batch_size=32, lr=0.05, progress=False)
    assert "epochs 2 there, 3 here" in str(err.value) and "\n" not in str(err.value)
    assert main(["train", "--model", "resnet20_cifar10", "--data", str(tiny_set), "--out", str(out), "--epochs", "2",
                 "--batch-size", "32", "--lr", "0.1", "--no-progress"]) == 2
    assert out.with_suffix(".ckpt.pt").is_file()  # refused, and the checkpoint kept


@pytest.mark.parametrize("native", [True, False])
def test_precision_follows_the_processor_and_the_card_says_which(tiny_set, tmp_path, monkeypatch, native):
    """Both branches of the precision choice run on any machine: bf16 autocast where the processor
    has native bf16, fp32 elsewhere; the card and its segment name the one used."""
    import senet_viz.train as t

    monkeypatch.setattr(t, "bf16_native", lambda device: native)
    seen = []
    real = torch.autocast

    def spy(*args, **kw):
        seen.append(kw.get("enabled", True))
        return real(*args, **kw)

    monkeypatch.setattr(t.torch, "autocast", spy)
    card = train("resnet20_cifar10", str(tiny_set), None, tmp_path / "m.safetensors", epochs=1, batch_size=32, lr=0.05, progress=False)
    want = "bf16 autocast" if native else "fp32"
    assert card["recipe"]["precision"].startswith(want + ",") and card["segments"][0]["precision"] == want
    assert seen and set(seen) == {native}

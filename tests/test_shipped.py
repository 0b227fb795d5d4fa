"""The shipped weights, model cards, statistics and ablation results (need ../shared's CIFAR-10)."""

from __future__ import annotations

import json

import pytest
from conftest import CIFAR

from senet_viz.models.project import ASSETS, card_file, weights_file

pytestmark = pytest.mark.shipped
SHIPPED = [n for n in ("se_resnet20_cifar10", "resnet20_cifar10") if weights_file(n).is_file()]


def test_the_default_model_is_shipped():
    assert "se_resnet20_cifar10" in SHIPPED and card_file("se_resnet20_cifar10").is_file()


@pytest.mark.parametrize("name", SHIPPED)
def test_card_describes_the_weights(name):
    card = json.loads(card_file(name).read_text())
    for key in ["architecture", "recipe", "epochs", "seed", "train_data", "test", "training_seconds", "device"]:
        assert key in card
    assert len(card["test"]["confusion"]) == 10 and sum(map(sum, card["test"]["confusion"])) == card["test"]["n"] == 10_000
    assert card["test"]["correct"] == sum(card["test"]["confusion"][i][i] for i in range(10))


# Logits computed by other kernels (another CPU, other batch shapes) differ by float32 rounding,
# about 1e-6 of their size here; a picture whose top two logits are closer than this margin may
# change its prediction between machines, any other may not.
BORDERLINE = 1e-3


@pytest.mark.parametrize("name", SHIPPED)
def test_weights_reproduce_the_cards_count_up_to_borderline_pictures(name):
    if not (CIFAR / "test.tar.gz").is_file():
        pytest.skip("the CIFAR-10 archives are not in ../shared")
    import torch

    from senet_viz.data import open_source
    from senet_viz.models import load_model

    card = json.loads(card_file(name).read_text())
    check = next(c for c in card["checks"] if c["limit_per_class"] == 50)
    model = load_model(name, device="cpu")
    source = open_source(CIFAR / "test.tar.gz").limit_per_class(50)
    assert source.checksum == check["sha256"]
    with torch.inference_mode():
        logits = torch.cat([model.net(torch.stack([model.preprocess(source[i][0]) for i in range(k, min(k + 250, len(source)))]))
                            for k in range(0, len(source), 250)])
    top2 = logits.topk(2, dim=1).values
    borderline = int(((top2[:, 0] - top2[:, 1]) < BORDERLINE).sum())
    correct = int((logits.argmax(1) == torch.tensor(source.labels)).sum())
    assert abs(correct - check["correct"]) <= borderline, (correct, check["correct"], borderline)
    assert borderline <= 5  # the allowance stays small: a card of other weights would miss by far more


def test_shipped_statistics_match_the_model():
    from senet_viz.models import load_model
    from senet_viz.stats import load_stats

    stats = load_stats(ASSETS / "stats" / "se_resnet20_cifar10-cifar10-test.npz")
    model = load_model("se_resnet20_cifar10", device="cpu")
    assert stats.blocks == [b.name for b in model.blocks] and stats.total == 10_000
    assert stats.class_names == model.class_names and "command" in stats.meta


def test_shipped_ablation():
    res = json.loads((ASSETS / "ablation" / "se_resnet20_cifar10-cifar10-test.json").read_text())
    assert res["n"] == 10_000 and {"none", "off: all", "mean: all"} <= set(res["top1"])
    card = json.loads(card_file("se_resnet20_cifar10").read_text())
    assert res["top1"]["none"] == pytest.approx(card["test"]["top1"], abs=3e-4)  # float order may flip a picture or two


def test_every_artefact_names_the_weights_it_was_made_with():
    from senet_viz.data import sha256_file
    from senet_viz.stats import load_stats

    for name in SHIPPED:
        digest = sha256_file(weights_file(name))
        assert json.loads(card_file(name).read_text())["weights_sha256"] == digest
    digest = sha256_file(weights_file("se_resnet20_cifar10"))
    assert load_stats(ASSETS / "stats" / "se_resnet20_cifar10-cifar10-test.npz").meta["weights_sha256"] == digest
    assert json.loads((ASSETS / "ablation" / "se_resnet20_cifar10-cifar10-test.json").read_text())["weights_sha256"] == digest


def test_every_se_block_of_the_shipped_model_responds_to_the_picture():
    """The liveness guard: on 20 test pictures of each class, every SE block's s varies across
    pictures (or saturates near 1) and at least half of its hidden units are live. A retrain
    that lets weight decay kill the SE layers again fails here."""
    if not (CIFAR / "test.tar.gz").is_file():
        pytest.skip("the CIFAR-10 archives are not in ../shared")
    from senet_viz.capture import capture
    from senet_viz.data import open_source
    from senet_viz.health import health
    from senet_viz.models import load_model

    model = load_model("se_resnet20_cifar10", device="cpu")
    source = open_source(CIFAR / "test.tar.gz").limit_per_class(20)
    cap = capture(model, [source[i][0] for i in range(len(source))])
    report = health(model.blocks, cap.squeeze, cap.excitation)
    assert [h.name for h in report] == [b.name for b in model.blocks]
    for h in report:
        assert h.healthy and (h.s_std >= 0.03 or h.state == "saturated") and h.live_share >= 0.5, h


def test_the_films_last_frame_is_the_shipped_weights_on_its_probe():
    """The film is the shipped run's: its last frame equals statistics made now from the shipped
    weights on the same probe, its replayed losses stayed within 1e-3 of the card's history, and
    every frame holds the probe's pictures for every block and class."""
    if not (CIFAR / "test.tar.gz").is_file():
        pytest.skip("the CIFAR-10 archives are not in ../shared")
    import numpy as np
    import torch
    from safetensors.torch import load_file

    import senet_viz
    from senet_viz.data import open_source, sha256_file
    from senet_viz.film import frame_stats, probe_indices
    from senet_viz.models.project import PROJECT_MODELS
    from senet_viz.train import decoded_arrays, normalise

    film = senet_viz.training_film("se_resnet20_cifar10")
    card = json.loads(card_file("se_resnet20_cifar10").read_text())
    assert film.weights_sha256 == card["weights_sha256"] == sha256_file(weights_file("se_resnet20_cifar10"))
    assert film.sources[film.epochs[-1]] == "final" and film.epochs[-1] == 160
    assert film.replay["max_loss_gap"] <= 1e-3
    history = {h["epoch"]: h["loss"] for h in card["history"]}
    assert all(abs(film.losses[e] - history[e]) <= 1e-3 for e in film.replay["epochs"])
    test = open_source(str(CIFAR / "test.tar.gz"))
    assert film.probe["sha256"] == test.checksum and film.probe["per_class"] >= 50
    x, y = decoded_arrays(test)
    idx = probe_indices(y, film.probe["per_class"])
    net = PROJECT_MODELS["se_resnet20_cifar10"].build()
    net.load_state_dict(load_file(str(weights_file("se_resnet20_cifar10"))))
    now = frame_stats(net, normalise(torch.from_numpy(x[idx])), torch.from_numpy(y[idx]).long(), film.class_names)
    last = film.stats(160)
    for e in film.epochs:
        assert film.stats(e).count.tolist() == [film.probe["per_class"]] * 10 and len(film.stats(e).blocks) == 9
    for b in film.blocks:
        # float16 frames (2^-11 relative on s in [0, 1]) and another machine's kernels (~1e-6): 2e-3 covers both
        np.testing.assert_allclose(last.excitation_mean(b), now.excitation_mean(b), atol=2e-3, rtol=0)
        assert last.specificity(b) == pytest.approx(now.specificity(b), rel=1e-2)

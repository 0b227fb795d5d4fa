"""The lesson's questions: every answer follows the numbers of the model it is asked about."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT

from senet_viz import lesson
from senet_viz.collect import compute_stats
from senet_viz.cost import cost
from senet_viz.data import open_source
from senet_viz.evaluate import pack_outcomes

PICTURES = ROOT / "tests" / "data" / "pictures"


@pytest.fixture(scope="module")
def two_models():
    """The shipped weights and random weights of the same network, with statistics of each."""
    from senet_viz.models import load_model

    shipped = load_model("se_resnet20_cifar10", device="cpu")
    random = load_model("se_resnet20_cifar10", weights="random", device="cpu")
    source = open_source(PICTURES)
    return [(m, compute_stats(m, source, batch_size=8, workers=0)) for m in (shipped, random)]


def test_the_separating_stage_is_the_measured_one_for_each_weights(two_models):
    answers = []
    for _model, stats in two_models:
        q = lesson.separating_stage(stats)
        by_stage = {}
        for b in stats.blocks:  # recomputed here from the per-block figure
            by_stage.setdefault(int(b.split("_")[1]), []).append(stats.specificity(b))
        best = max(by_stage, key=lambda s: np.mean(by_stage[s]))
        assert q.choices == ["stage 2", "stage 3", "stage 4"] and q.choices[q.answer] == f"stage {best}"
        assert q.is_right(q.answer) and not q.is_right((q.answer + 1) % 3)
        answers.append((q.answer, q.explanation))
    assert answers[0][1] != answers[1][1]  # other weights, other numbers in the reveal


def test_the_closer_picture_follows_the_pictures_s(two_models):
    model, stats = two_models[0]
    mean = stats.excitation_mean("SE_4_3")[stats.class_names.index("cat")]
    near, far = mean + 0.01, np.clip(mean + 0.3, 0, 1)
    q = lesson.closer_to_class(stats, "SE_4_3", "cat", {"A": far, "B": near})
    assert q.choices[q.answer] == "B"
    q = lesson.closer_to_class(stats, "SE_4_3", "cat", {"A": near, "B": far})
    assert q.choices[q.answer] == "A" and "0.010" in q.explanation


def test_the_ablation_answer_holds_the_measured_drop():
    shipped = json.loads((ROOT / "assets" / "ablation" / "se_resnet20_cifar10-cifar10-test.json").read_text())
    for result in (shipped, {**shipped, "top1": {**shipped["top1"], "off: stage 3": shipped["top1"]["none"] - 0.031}}):
        q = lesson.ablation_drop(result, "stage 3")
        drop = 100 * (result["top1"]["none"] - result["top1"]["off: stage 3"])
        lo, hi = (float(v) for v in q.choices[q.answer].split(" points")[0].split(" to "))
        assert lo <= drop < hi and len(q.choices) == 4 and f"{drop:.2f} points" in q.explanation


def test_the_parameter_answer_follows_the_reduction_and_the_last_stage(two_models):
    model, _ = two_models[0]
    seen = set()
    for r in (16, 2):
        for without_last in (False, True):
            rep = cost(model, r)
            q = lesson.se_parameter_share(rep, without_last)
            share = rep.overhead_without_last_stage_pct if without_last else rep.overhead_pct
            lo, hi = (float(v) for v in q.choices[q.answer].split(" %")[0].split(" to "))
            assert lo <= share < hi
            seen.add(q.choices[q.answer])
    assert len(seen) >= 3  # the answer moves with r and the switch; it is not written down


def _card(name, hits):
    return {"name": name, "test": {"top1": float(hits.mean()), "n": len(hits), "sha256": "t", "outcomes": pack_outcomes(hits)}}


def test_the_twin_answer_follows_the_cards():
    rng = np.random.default_rng(0)
    base = rng.random(10_000) < 0.9
    better = base.copy()
    better[np.flatnonzero(~base)[:300]] = True  # SE right on 300 more pictures, wrong on none more
    q = lesson.beats_twin(_card("se", better), _card("plain", base))
    assert q.answer == 0 and "paired" in q.explanation
    q = lesson.beats_twin(_card("se", base), _card("plain", better))
    assert q.answer == 2
    tied = base.copy()
    tied[np.flatnonzero(base)[:5]] = False
    tied[np.flatnonzero(~base)[:5]] = True
    assert lesson.beats_twin(_card("se", tied), _card("plain", base)).answer == 1


def test_the_squeeze_answer_is_the_maps_mean_wherever_it_sorts():
    for u in (np.arange(12, dtype=float).reshape(3, 4), -np.arange(12, dtype=float).reshape(3, 4) + 0.5):
        q = lesson.squeeze_value(u, 7)
        assert float(q.choices[q.answer]) == pytest.approx(u.mean(), abs=5e-5)  # printed to 4 decimals
        assert sorted(float(c) for c in q.choices) == [float(c) for c in q.choices] and "z_7" in q.prompt


def test_the_gate_length_is_one_per_channel():
    q = lesson.gate_length("SE_4_3", 64, 4, 64)
    assert q.choices[q.answer] == "64" and "4,096" in q.choices and "1" in q.choices


@pytest.mark.parametrize("below", [0, 1, 16, 17, 40, 64])
def test_the_damped_channels_bin_holds_the_count(below):
    s = np.r_[np.full(below, 0.2), np.full(64 - below, 0.8)]
    q = lesson.damped_channels(s, "SE_4_3")
    lo, hi = (int(v) for v in q.choices[q.answer].split(" channels")[0].split(" to "))
    assert lo <= below <= hi and len(q.choices) == 4
    assert q.choices[0].startswith("0 to") and q.choices[-1].endswith("to 64 channels")


def test_the_varied_and_parting_stages_follow_the_numbers():
    from senet_viz.compare import BlockDivergence

    flat, uneven = np.full(16, 0.5), np.linspace(0, 1, 16)
    for loud in (2, 4):
        excitation = {f"SE_{k}_1": (uneven if k == loud else flat) for k in (2, 3, 4)}
        q = lesson.varied_stage(excitation)
        assert q.choices[q.answer] == f"stage {loud}"
        div = [BlockDivergence(f"SE_{k}_{j}", 0.0, 0.3 if k == loud else 0.1) for k in (2, 3, 4) for j in (1, 2)]
        q = lesson.parting_stage(div)
        assert q.choices[q.answer] == f"stage {loud}"

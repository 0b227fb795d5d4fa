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
from senet_viz.i18n import source

PICTURES = ROOT / "tests" / "data" / "pictures"


def en(question: lesson.Question) -> lesson.Question:
    """The question in English words (its fields are rendered when read; identities use English)."""
    return lesson.Question(source(question.prompt), [source(c) for c in question.choices], question.answer,
                           source(question.explanation))


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
        q = en(lesson.separating_stage(stats))
        by_stage = {}
        for b in stats.blocks:  # recomputed here from the per-block figure
            by_stage.setdefault(int(b.split("_")[1]), []).append(stats.specificity(b))
        best = max(by_stage, key=lambda s: np.mean(by_stage[s]))
        assert q.choices == ["stage 2", "stage 3", "stage 4"] and q.choices[q.answer] == f"stage {best}"
        answers.append((q.answer, q.explanation))
    assert answers[0][1] != answers[1][1]  # other weights, other numbers in the reveal


def test_the_closer_picture_follows_the_pictures_s(two_models):
    model, stats = two_models[0]
    mean = stats.excitation_mean("SE_4_3")[stats.class_names.index("cat")]
    near, far = mean + 0.01, np.clip(mean + 0.3, 0, 1)
    q = en(lesson.closer_to_class(stats, "SE_4_3", ["cat"], {"A": far, "B": near}))
    assert q.choices[q.answer] == "B"
    q = en(lesson.closer_to_class(stats, "SE_4_3", ["cat"], {"A": near, "B": far}))
    assert q.choices[q.answer] == "A" and "0.010" in q.explanation


def _range(choice: str) -> tuple[float, float]:
    """(lo, hi) of an accuracy change in points: losses positive, gains negative."""
    words = choice.split(" points")[0].split()
    lo, hi = float(words[-3]), float(words[-1])
    return (lo, hi) if words[1] == "loss" else (-hi, -lo)


def test_the_ablation_answer_holds_the_measured_change_and_a_gain_is_called_one():
    shipped = json.loads((ROOT / "assets" / "ablation" / "se_resnet20_cifar10-cifar10-test.json").read_text())
    for delta in (None, 0.031, -0.012):
        top1 = shipped["top1"] if delta is None else {**shipped["top1"], "off: stage 3": shipped["top1"]["none"] - delta}
        result = {**shipped, "top1": top1}
        q = en(lesson.ablation_drop(result, "stage 3"))
        drop = 100 * (top1["none"] - top1["off: stage 3"])
        lo, hi = _range(q.choices[q.answer])
        assert lo <= drop < hi and len(q.choices) == 4
        assert (f"a gain of {-drop:.2f} points" if drop < 0 else f"a loss of {drop:.2f} points") in q.explanation
    assert "gain" in q.choices[q.answer] and "-" not in q.choices[q.answer]  # a negative drop is a gain


def test_the_parameter_answer_follows_the_reduction_and_the_last_stage(two_models):
    model, _ = two_models[0]
    seen = set()
    for r in (16, 2):
        for without_last in (False, True):
            rep = cost(model, r)
            q = en(lesson.se_parameter_share(rep, without_last))
            share = rep.overhead_without_last_stage_pct if without_last else rep.overhead_pct
            lo, hi = (float(v) for v in q.choices[q.answer].split("%")[0].split(" to "))
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
    q = en(lesson.beats_twin(_card("se", better), _card("plain", base)))
    assert q.answer == 0 and "paired" in q.explanation
    q = en(lesson.beats_twin(_card("se", base), _card("plain", better)))
    assert q.answer == 2
    tied = base.copy()
    tied[np.flatnonzero(base)[:5]] = False
    tied[np.flatnonzero(~base)[:5]] = True
    assert en(lesson.beats_twin(_card("se", tied), _card("plain", base))).answer == 1


@pytest.mark.parametrize(("kind", "expected"), [("avg", np.mean), ("max", np.max),
                                              ("avgmax", lambda u: 0.5 * u.mean() + 0.5 * u.max())])
def test_the_squeeze_answer_is_the_blocks_own_squeeze(kind, expected):
    for u in (np.arange(12, dtype=float).reshape(3, 4), -np.arange(12, dtype=float).reshape(3, 4) + 0.5):
        q = en(lesson.squeeze_value(u, 7, kind))
        assert float(q.choices[q.answer]) == pytest.approx(expected(u), abs=5e-5)  # printed to 4 decimals
        assert "z_7" in q.prompt and q.choices[q.answer] not in q.prompt


def test_the_gate_length_is_one_per_channel_and_the_prompt_does_not_say_it():
    q = en(lesson.gate_length("SE_4_3", 64, 8, 64))
    assert q.choices[q.answer] == "64" and "4,096" in q.choices and "1" in q.choices
    assert "64 " not in q.prompt.replace("64 positions", "") and "C = " not in q.prompt


@pytest.mark.parametrize("below", [0, 1, 16, 17, 40, 63, 64])
def test_the_damped_channels_range_holds_the_count_and_stays_within_the_channels(below):
    s = np.r_[np.full(below, 0.2), np.full(64 - below, 0.8)]
    q = en(lesson.damped_channels(s, "SE_4_3"))
    bounds = [tuple(int(v) for v in c.split(" channels")[0].split(" to ")) for c in q.choices]
    bounds = [(b[0], b[-1]) for b in bounds]
    assert bounds[q.answer][0] <= below <= bounds[q.answer][1] and len(q.choices) == 4
    assert bounds[0][0] >= 0 and bounds[-1][1] <= 64
    assert all(b[1] + 1 == c[0] for b, c in zip(bounds, bounds[1:]))  # adjacent, in order


def test_the_gate_range_is_the_gates_own():
    s = np.linspace(-0.9, 0.9, 16)
    assert "between 0 and 1" in en(lesson.damped_channels(s, "SE_2_1", "Sigmoid")).prompt
    assert "between −1 and 1" in en(lesson.damped_channels(s, "SE_2_1", "Tanh")).prompt
    assert "0 or more" in en(lesson.damped_channels(s, "SE_2_1", "ReLU")).prompt
    assert "between 0 and 1" not in en(lesson.damped_channels(s, "SE_2_1", "Tanh")).prompt


def test_random_weights_are_not_called_trained():
    shipped = json.loads((ROOT / "assets" / "ablation" / "se_resnet20_cifar10-cifar10-test.json").read_text())
    assert "trained network" in en(lesson.ablation_drop(shipped, "stage 3")).prompt
    q = en(lesson.ablation_drop(shipped, "stage 3", trained=False))
    assert "trained" not in q.prompt + q.explanation and "random" in q.prompt


def test_twins_trained_differently_are_not_called_alike():
    rng = np.random.default_rng(0)
    hits = rng.random(10_000) < 0.9
    alike = en(lesson.beats_twin(_card("se", hits), _card("plain", hits)))
    assert "trained alike" in alike.prompt
    differ = en(lesson.beats_twin({**_card("se", hits), "epochs": 140}, {**_card("plain", hits), "epochs": 18}))
    assert "trained alike" not in differ.prompt and "trained differently" in differ.prompt


def test_a_link_names_a_step_or_is_refused_in_one_line():
    assert lesson.step_from_link("3") == (2, None) and lesson.step_from_link(None) == (0, None)
    for odd in ("²", "999", "-1", "0", "1e3", "<script>", " 3"):
        step, refused = lesson.step_from_link(odd)
        assert step == 0 and refused and "\n" not in str(refused)


def test_the_varied_and_parting_stages_follow_the_numbers():
    from senet_viz.compare import BlockDivergence

    flat, uneven = np.full(16, 0.5), np.linspace(0, 1, 16)
    for loud in (2, 4):
        excitation = {f"SE_{k}_1": (uneven if k == loud else flat) for k in (2, 3, 4)}
        q = en(lesson.varied_stage(excitation))
        assert q.choices[q.answer] == f"stage {loud}"
        div = [BlockDivergence(f"SE_{k}_{j}", 0.0, 0.3 if k == loud else 0.1) for k in (2, 3, 4) for j in (1, 2)]
        q = en(lesson.parting_stage(div))
        assert q.choices[q.answer] == f"stage {loud}"


@pytest.mark.parametrize(("options", "kind", "gate_words"), [
    ({}, "avg", "between 0 and 1"), ({"squeeze": "max"}, "max", "between 0 and 1"),
    ({"gate": "tanh"}, "avg", "between −1 and 1"), ({"gate": "relu"}, "avg", "0 or more"),
])
def test_the_questions_follow_the_models_own_squeeze_and_gate(options, kind, gate_words):
    """Built as the Lesson page builds them, on networks where the paper's wording would be false."""
    import torch

    from senet_viz import wrap
    from senet_viz.capture import capture
    from senet_viz.equations import squeeze_kind
    from senet_viz.models.cifar_resnet import CifarResNet

    torch.manual_seed(0)
    model = wrap(CifarResNet(20, 10, **options), input_size=(3, 32, 32))
    block = model.blocks[-1]
    cap = capture(model, torch.randn(1, 3, 32, 32, generator=torch.Generator().manual_seed(1)), maps=[block.name])
    u, z, s = cap.inputs[block.name][0], cap.squeeze[block.name][0], cap.excitation[block.name][0]
    c = lesson.squeeze_channel(z)
    assert squeeze_kind(block) == kind
    q = en(lesson.squeeze_value(u[c], c, squeeze_kind(block)))
    expected = u[c].max() if kind == "max" else u[c].mean()
    assert float(q.choices[q.answer]) == pytest.approx(expected, abs=5e-5) == pytest.approx(z[c], abs=5e-5)
    assert gate_words in en(lesson.damped_channels(s, block.name, block.gate_name)).prompt

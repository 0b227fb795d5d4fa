"""The paper's cost figures for SE-ResNet-50 against ResNet-50 (224x224), from the architecture alone."""

import pytest

from senet_viz.cost import cost
from senet_viz.models import load_model


@pytest.fixture(scope="module")
def reports(seresnet50):
    return cost(seresnet50), cost(load_model("resnet50", weights="random", device="cpu"))


def test_parameters_match_the_paper(reports):
    se, plain = reports
    assert round(plain.total_params / 1e6, 1) == 25.6
    assert round(se.total_params / 1e6, 1) == 28.1
    assert se.base_params == plain.total_params
    assert 9.5 < se.overhead_pct < 10.5  # "about +10%"
    assert 3.0 < se.overhead_without_last_stage_pct < 4.5  # "about 4%"
    assert round(se.eq5_params / 1e6, 2) == 2.51  # Eq. 5
    assert round(se.stages[-1].eq5_params / 1e6, 2) == 1.57


def test_stage_table(reports):
    se, _ = reports
    assert [(s.stage, s.blocks, s.channels) for s in se.stages] == [(2, 3, 256), (3, 4, 512), (4, 6, 1024), (5, 3, 2048)]
    assert [b.hidden for b in se.blocks if b.name.endswith("_1")] == [16, 32, 64, 128]  # fc[16,256] ... fc[128,2048]


def test_flops_overhead_is_small(reports):
    se, plain = reports
    assert plain.se_flops == 0
    assert 0.1 < se.flops_overhead_pct < 0.5  # paper: 3.86 -> 3.87 GFLOPs, +0.26%
    assert se.total_flops - se.se_flops == plain.total_flops


@pytest.mark.parametrize("r,millions", [(2, 45.7), (4, 35.7), (8, 30.7), (16, 28.1), (32, 26.9)])
def test_reduction_ratio_matches_table_10(seresnet50, r, millions):
    assert abs(cost(seresnet50, r).total_params / 1e6 - millions) < 0.15


def test_project_model_cost(se20):
    rep = cost(se20)
    assert rep.reduction == 16 and [s.stage for s in rep.stages] == [2, 3, 4]
    # the paper's count per block, W1 (h x C) and W2 (C x h) with their biases: 2Ch + h + C;
    # the CIFAR ResNet-20 has 3 blocks at C = 16, 32, 64 and h = max(8, C / 16) = 8 hidden units
    assert rep.se_params == sum(3 * (2 * c * 8 + 8 + c) for c in (16, 32, 64)) == 5784
    assert [s.params for s in rep.stages] == [3 * (2 * c * 8 + 8 + c) for c in (16, 32, 64)]
    assert [b.params for b in rep.blocks] == [2 * c * 8 + 8 + c for c in (16, 32, 64) for _ in range(3)]
    assert [(b.channels, b.hidden) for b in rep.blocks] == [(c, 8) for c in (16, 32, 64) for _ in range(3)]


@pytest.mark.parametrize("r", [4, 8, 16, 32])
def test_eq5_and_the_counted_parameters_differ_by_the_floor_and_the_biases(se20, r):
    from senet_viz.narrative import cost_sentence

    rep, exact = cost(se20, float(r)), cost(se20, float(r), floor=False)
    gap = rep.eq5_gap()
    assert gap.eq5 + gap.floor + gap.biases + gap.other == pytest.approx(gap.counted)  # float sums of integers
    for b in rep.blocks:  # the project's block: h = C // r, at least 8 (MIN_HIDDEN)
        assert b.hidden == max(b.channels // r, 8) and b.floored == (b.channels // r < 8)
        assert b.params == 2 * b.channels * b.hidden + b.hidden + b.channels
    assert all(b.hidden == max(1, b.channels // r) for b in exact.blocks) and exact.eq5_gap().floor == 0
    sentence = cost_sentence(rep)
    assert f"**{gap.counted:,}**" in sentence and f"**{gap.eq5:,.0f}**" in sentence
    assert gap.floored and "floor of 8 hidden units" in sentence  # C/r < 8 for C = 16 at every r here
    assert exact.se_params < rep.se_params  # the bars of the two series differ: the floor is counted


def test_the_paper_network_has_no_floor_and_eq5_misses_only_its_biases(seresnet50):
    from senet_viz.narrative import cost_sentence

    gap = cost(seresnet50, 16.0).eq5_gap()
    assert gap.floor == 0 and gap.other == pytest.approx(0) and gap.counted - gap.eq5 == gap.biases
    assert "floor" not in cost_sentence(cost(seresnet50, 16.0))


def test_the_cost_command_prints_the_same_gap(capsys, se20):
    from senet_viz.cli import main

    assert main(["cost", "se_resnet20_cifar10", "--r", "8"]) == 0
    out = capsys.readouterr().out
    gap = cost(se20, 8.0).eq5_gap()
    assert f"bottleneck floor {gap.floor:,.0f}, biases {gap.biases:,}" in out and "raised to the floor" in out

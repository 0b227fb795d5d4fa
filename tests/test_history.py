"""How SE came alive over training: the card's history as tables, one-line summaries and charts,
and the Home and Class patterns pages showing them for the shipped weights only."""

from __future__ import annotations

import json

from app_support import assert_ok, run_app
from conftest import ROOT

from senet_viz import history, plots


def _card(name: str, losses: list[float], stds: list[float] | None = None, swa: int = 0) -> dict:
    rows = [{"epoch": i + 1, "loss": x} for i, x in enumerate(losses)]
    if stds is not None:
        for row, std in zip(rows, stds):
            row["se_health"] = {"SE_2_1": [8, std], "SE_4_1": [4 if std < 0.05 else 8, 2 * std]}
    return {"name": name, "history": rows, "se_hidden": {"SE_2_1": 8, "SE_4_1": 8}, "epochs": len(losses) - swa,
            "swa": {"epochs": swa} if swa else None}


def test_the_summaries_are_the_cards_numbers():
    se = _card("se", [2.0, 1.0, 0.5, 0.7], [0.01, 0.05, 0.10, 0.12], swa=1)
    twin = _card("plain", [2.1, 0.9, 0.6, 0.8])
    h, why = history.history(se)
    t, _ = history.history(twin)
    assert not why and h.epochs == [1, 2, 3, 4] and h.swa_from == 4
    text = history.health_summary(h)
    assert "from 0.015 at epoch 1 to 0.180 at epoch 4" in text  # mean of (0.01, 0.02), of (0.12, 0.24)
    assert "live hidden units 12 → 16 of 16" in text and "SE_4_1 varies most (0.240)" in text
    loss = history.loss_summary(h, t)
    assert "se 0.7000, plain 0.8000" in loss and "lower in 3 of the 4 epochs" in loss and "from epoch 4" in loss
    table = history.health_table(h)
    assert len(table) == 8 and set(table["block"]) == {"SE_2_1", "SE_4_1"}
    chart = plots.training_health(table)
    assert len(chart.spec["vconcat"]) == 2 and chart.data is table


def test_weights_without_a_history_say_why():
    assert history.history(None) == (None, "these weights have no model card, so no training history")
    none, why = history.history({"name": "x", "history": []})
    assert none is None and "records no epochs" in why


def test_the_shipped_card_shows_se_coming_alive():
    h, _ = history.history(json.loads((ROOT / "assets" / "weights" / "se_resnet20_cifar10.json").read_text()))
    first, last = ([v[i][1] for v in h.health.values()] for i in (0, -1))
    assert len(h.health) == 9 and sum(last) > 2 * sum(first)  # s spreads out as the network learns to use its gates


def test_home_and_class_patterns_draw_the_history_of_the_shipped_weights_only():
    at = run_app()
    assert_ok(at)
    captions = " ".join(c.value for c in at.caption)
    assert "Training loss at epoch" in captions and "std of s across the probe pictures" in captions
    titles = [json.loads(c.proto.spec).get("title") for c in at.get("vega_lite_chart")]
    assert "Training loss, with SE and without" in titles and "SE health over training" in titles
    random = run_app(weights="random")
    assert not random.exception
    assert any("No training history to show: these weights have no model card" in c.value for c in random.caption)
    assert "SE health over training" not in [json.loads(c.proto.spec).get("title") for c in random.get("vega_lite_chart")]
    at.switch_page("pages/class_patterns.py").run()
    assert_ok(at)
    assert "SE health over training" in [json.loads(c.proto.spec).get("title") for c in at.get("vega_lite_chart")]

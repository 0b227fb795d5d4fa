"""What the app teaches is true: labels never mix, artefacts belong to the weights shown,
explanations follow the network's own code path, links restore what they name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from app_support import assert_ok, png, run_app, uploader
from conftest import ROOT
from safetensors.torch import save_file
from streamlit.testing.v1 import AppTest

from senet_viz import artefacts, narrative
from senet_viz.health import BlockHealth
from senet_viz.models.project import PROJECT_MODELS

_app, _ok, _png, _uploader = run_app, assert_ok, png, uploader


def _texts(at: AppTest) -> str:
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success") for e in at.get(kind)]
    return "\n".join(str(p).replace("\\", "") for p in parts)


def test_a_batch_of_pictures_is_counted_once_under_its_own_class():
    at = _app()
    at.switch_page("pages/class_patterns.py").run()
    at.radio(key="stats_source").set_value("batches").run()
    for k, cls in enumerate(["cat", "ship", "truck"]):
        at.text_input(key="batch_class").set_value(cls).run()
        batch_key = f"batch_files_{at.session_state['batch_no']}"
        up = _uploader(at, batch_key)
        for i in range(3):
            up.upload(f"{i:04d}.png", _png(10 * k + i, (40, 32)))
        up.run()
        next(b for b in at.button if b.label == "Add batch").click().run()
        assert not at.exception
    counts = [t.value for t in at.text if "cat:" in t.value]
    assert counts == ["cat: 3, ship: 3, truck: 3"]
    assert [c for c, _ in at.session_state["labelled"]] == ["cat"] * 3 + ["ship"] * 3 + ["truck"] * 3


def test_two_uploads_with_the_same_name_stay_two_pictures():
    at = _app()
    at.switch_page("pages/inspect.py").run()
    first, second = _png(1, (40, 32)), _png(2, (40, 32))
    _uploader(at, "uploads").upload("0000.jpg", first, "image/png").upload("0000.jpg", second, "image/png").run()
    assert not at.exception
    assert at.selectbox(key="upload_pick").options == ["1. 0000.jpg", "2. 0000.jpg"]
    at.selectbox(key="upload_pick").set_value(0).run()
    assert at.session_state["picture"][1] == first
    at.selectbox(key="upload_pick").set_value(1).run()
    assert at.session_state["picture"][1] == second


@pytest.fixture(scope="module")
def other_weights(tmp_path_factory) -> bytes:
    torch.manual_seed(123)
    net = PROJECT_MODELS["se_resnet20_cifar10"].build()
    path = tmp_path_factory.mktemp("w") / "other.safetensors"
    save_file({k: v.contiguous() for k, v in net.state_dict().items()}, str(path))
    return path.read_bytes()


def _with_weights_file(data: bytes) -> AppTest:
    at = _app()
    at.radio(key="weights_choice").set_value("file").run()
    _uploader(at, "weights_file").upload("my-run.safetensors", data, "application/octet-stream").run()
    _ok(at)
    return at


@pytest.mark.parametrize("page", ["home", "ablation", "class_patterns", "inspect"])
def test_shipped_figures_are_never_shown_for_other_weights(other_weights, page):
    # a fresh session per page: AppTest runs a switched-to page without the sidebar's widgets,
    # so the weights choice lives for one page run
    at = _with_weights_file(other_weights)
    if page == "home":
        assert "my-run.safetensors" in _texts(at) + "".join(c.value for c in at.sidebar.caption)
        assert "Test accuracy" not in _texts(at)  # the shipped card is not this file's
        return
    at.switch_page(f"pages/{page}.py").run()
    _ok(at)
    if page == "ablation":
        assert "were made with other weights" in _texts(at) and len(at.get("plotly_chart")) == 1
    elif page == "class_patterns":
        assert not any(o.startswith("Shipped") for o in at.radio(key="stats_source").options)
        assert "CIFAR-10 test split, computed here" in at.radio(key="stats_source").options
    else:
        assert "No statistics of these weights" in _texts(at)


def test_artefacts_are_handed_out_only_for_the_weights_that_made_them(se20):
    assert se20.weights_sha256 is None  # random weights: nothing shipped applies
    art = artefacts.shipped_stats(se20)
    assert art.value is None and "random" in str(art.reason)
    assert artefacts.twin_name("se_resnet20_cifar10") == "resnet20_cifar10" and artefacts.twin_name("resnet20_cifar10") is None


def test_the_module_diagrams_draw_u_into_the_scale():
    from senet_viz.plots import module_diagram

    for kind in ("resnet", "inception"):
        fig = module_diagram(kind)
        arrow = next(a for a in fig.layout.annotations if a.name == "U to scale")
        assert arrow.ay == -1 and arrow.y == -7  # from U (the residual branch's output) to the Scale box


def test_u_is_explained_as_the_residual_branch_of_the_chosen_block(se20):
    from senet_viz.equations import u_origin

    last = u_origin(se20, "SE_4_3")
    assert last.parent == "layer3.2" and last.x_shape == (64, 8, 8)
    assert "residual branch of block layer3.2" in last.text and "previous residual block, layer3.1" in last.text
    assert "preprocessed picture" not in last.text
    first = u_origin(se20, "SE_2_1")
    assert "stem's output" in first.text and first.x_shape == (16, 32, 32)
    down = u_origin(se20, "SE_3_1")
    assert "stride 2" in down.text and down.x_shape == (16, 32, 32)


def test_equations_link_restores_picture_block_and_step():
    at = _app(picture="rocket", step="4", block="SE_3_2")
    at.switch_page("pages/equations.py").run()
    _ok(at)
    assert at.session_state["picture"][0] == "gallery: rocket" and at.session_state["eq_step"] == 3
    assert at.selectbox(key="eq_block").value == "SE_3_2"
    text = _texts(at)
    assert "hidden units are above zero" in text and "are active" not in text
    assert "residual branch of block layer2.1" in text
    next(b for b in at.button if b.label == "Next ▶").click().run()
    assert at.query_params["step"] in ("5", ["5"]) and at.query_params["picture"] in ("rocket", ["rocket"])


def test_a_link_made_with_an_upload_says_so():
    at = _app(picture="upload")
    at.switch_page("pages/inspect.py").run()
    assert not at.exception
    assert "not part of links" in _texts(at)


def test_architecture_link_and_consistent_overhead():
    at = _app(r="8", no_last="1")
    at.switch_page("pages/architecture.py").run()
    _ok(at)
    assert at.select_slider(key="r").value == 8 and at.toggle(key="no_last").value is True
    metrics = {m.label: m for m in at.metric}
    with_se = next(m for label, m in metrics.items() if label.startswith("with SE"))
    se = metrics["SE parameters"]
    assert with_se.delta.lstrip("+") == se.delta.split()[0]  # one overhead, shown once
    table = next(d for d in at.dataframe if "top-5 err. (%)" in d.value.columns).value
    paper = ROOT.parent / "shared" / "PAPER.md"
    if paper.is_file():  # the printed table is the paper's, figure for figure
        import re

        text = paper.read_text()
        line = " ".join(text[text.index("Table 10"):].split("\n  - ")[0].split())
        rows = re.findall(r"(\d+): ([\d.]+) / ([\d.]+), ([\d.]+)M", line)
        assert len(rows) == 5
        assert [str(r) for r in table["r"]] == [r[0] for r in rows]
        assert list(table["top-1 err. (%)"]) == [r[1] for r in rows]
        assert list(table["top-5 err. (%)"]) == [r[2] for r in rows]
        assert list(table["params (M)"]) == [r[3] for r in rows]


def test_resnet50_is_the_no_se_reference_on_the_cost_page():
    at = _app(model="resnet50", weights="random")
    at.switch_page("pages/architecture.py").run()
    assert not at.exception
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["SE parameters"] == "0" and metrics["Parameters"] == "25.557M"


def test_the_flops_gap_to_the_paper_is_explained():
    at = _app(model="seresnet50", weights="random")
    at.switch_page("pages/architecture.py").run()
    assert not at.exception
    assert "ResNet v1.5" in _texts(at) and "legacy_seresnet50" in _texts(at)


def test_inspect_shows_the_model_view_and_names_cifar_only_classes():
    at = _app()
    at.switch_page("pages/inspect.py").run()
    _ok(at)
    assert any("what the model sees" in str(img.proto) for img in at.get("image"))
    assert "knows only the 10 CIFAR-10 classes" in _texts(at)
    assert "no CIFAR class" in at.radio(key="inspect_pick_photos").format_func("coffee")


def test_a_flat_excitation_is_not_said_to_fade():
    at = _app(weights="random")
    at.switch_page("pages/inspect.py").run()
    assert not at.exception
    text = _texts(at)
    assert "no channel fades against the others" in text and "Weakly excited channels fade" not in text


def test_sidebar_messages_name_the_file_and_say_what_is_wrong():
    at = _app()
    at.radio(key="weights_choice").set_value("file").run()
    _uploader(at, "weights_file").upload("lecture.pth", b"just some text", "application/octet-stream").run()
    assert not at.exception and len(at.error) == 1
    message = at.error[0].value.replace("\\", "")
    assert message.startswith("lecture.pth: not a PyTorch weights file") and "KeyError" not in message and "--" not in message


def test_an_untrained_project_model_is_not_said_to_need_a_download():
    at = _app()
    at.selectbox(key="model_choice").set_value("se_resnet56_cifar10").run()
    captions = " ".join(c.value for c in at.sidebar.caption)
    assert "not trained yet" in captions and "download" not in captions
    assert len(at.error) == 1 and "--weights" not in at.error[0].value


def test_a_failed_model_with_random_weights_falls_back_to_random_weights():
    at = _app(model="no_such_model", weights="random")
    assert not at.exception and len(at.error) == 1
    assert at.session_state["weights_choice"] == "random" and "random" in at.error[0].value
    assert "weights: random" in " ".join(c.value for c in at.sidebar.caption)


def test_the_gain_is_reported_with_its_noise():
    card = {"name": "se", "test": {"top1": 0.9000, "n": 10_000}}
    twin = {"name": "plain", "test": {"top1": 0.8986, "n": 10_000}}
    diff, lo, hi, paired = narrative.accuracy_difference(card, twin)
    assert diff == pytest.approx(0.14) and lo < 0 < hi and not paired
    assert hi - lo == pytest.approx(2 * 1.959964 * 100 * np.sqrt(0.9 * 0.1 / 1e4 + 0.8986 * 0.1014 / 1e4))
    assert "within the noise" in narrative.gain_sentence(card, twin) and "unpaired" in narrative.gain_sentence(card, twin)
    assert "larger than the noise" in narrative.gain_sentence({**card, "test": {"top1": 0.92, "n": 10_000}}, twin)


def _card_with(hits, **extra):
    from senet_viz.evaluate import pack_outcomes

    n = len(hits)
    return {"name": "m", "test": {"top1": hits.mean(), "n": n, "sha256": "abc", "outcomes": pack_outcomes(hits)},
            "recipe": {"lr": 0.4, "precision": "fp32"}, "epochs": 10, "swa": None, "seed": 0, **extra}


def test_the_paired_interval_counts_only_the_pictures_the_two_models_disagree_on():
    """1,000 pictures: both right on 880, only A right on 30, only B right on 10, both wrong on 80.
    d = 0.02; var = (30 + 10) / 1000 - 0.02^2 = 0.0396; half width 1.96 * sqrt(0.0396 / 1000)."""
    a = np.zeros(1000, bool)
    b = np.zeros(1000, bool)
    a[:880] = b[:880] = True
    a[880:910] = True
    b[910:920] = True
    diff, lo, hi, paired = narrative.accuracy_difference(_card_with(a), _card_with(b, recipe={"lr": 0.4, "precision": "bf16"}))
    assert paired and diff == pytest.approx(2.0)
    half = 100 * 1.959964 * np.sqrt(0.0396 / 1000)
    assert (lo, hi) == (pytest.approx(2.0 - half), pytest.approx(2.0 + half))
    unpaired = 2 * 1.959964 * 100 * np.sqrt(0.91 * 0.09 / 1000 + 0.89 * 0.11 / 1000)
    assert hi - lo < 0.5 * unpaired  # agreement on most pictures narrows it
    assert "paired over the same pictures" in narrative.gain_sentence(_card_with(a), _card_with(b))
    assert "same recipe, schedule and seed" in narrative.gain_sentence(_card_with(a), _card_with(b, recipe={"lr": 0.4, "precision": "bf16"}))
    assert "trained differently: recipe, seed differ" in narrative.gain_sentence(_card_with(a), _card_with(b, recipe={"lr": 0.1}, seed=1))
    other = _card_with(b)
    other["test"]["sha256"] = "another test set"
    assert narrative.accuracy_difference(_card_with(a), other)[3] is False


def test_a_gain_the_test_cannot_show_is_set_beside_the_papers_scale():
    card = {"name": "se", "test": {"top1": 0.8922, "n": 10_000}}
    within = narrative.gain_sentence(card, {"name": "plain", "test": {"top1": 0.8943, "n": 10_000}})
    assert "costs 0.21 points" in within and "within the noise" in within and narrative.PAPER_SCALE in within
    assert "6.37% to 5.21%" in within and "Table 2" in within
    beyond = narrative.gain_sentence({**card, "test": {"top1": 0.95, "n": 10_000}}, {"name": "plain", "test": {"top1": 0.80, "n": 10_000}})
    assert narrative.PAPER_SCALE not in beyond


def test_averaging_is_measured_against_the_end_of_the_one_cycle_phase():
    """Shipped (averaged) weights right on 900 of 1,000, the one-cycle-end weights on 880; they
    disagree on 40 pictures (30 only averaged, 10 only one-cycle): +2.00 points, paired."""
    from senet_viz.evaluate import pack_outcomes

    shipped, end = np.zeros(1000, bool), np.zeros(1000, bool)
    shipped[:870] = end[:870] = True
    shipped[870:900] = True
    end[900:910] = True
    card = _card_with(shipped, swa={"epochs": 20, "lr": 0.05})
    card["one_cycle_end"] = {"epoch": 140, "top1": end.mean(), "n": 1000, "sha256": "abc", "outcomes": pack_outcomes(end)}
    text = narrative.averaging_sentence(card)
    assert "last 20 epochs" in text and "(epoch 140)" in text and "+2.00 points" in text and "paired" in text
    assert narrative.averaging_sentence({**card, "one_cycle_end": None}) is None  # never measured: nothing said
    assert narrative.averaging_sentence({**card, "one_cycle_end": {**card["one_cycle_end"], "sha256": "other"}}) is None
    assert narrative.averaging_sentence({**card, "swa": None}) is None


def test_health_sentence_names_the_constant_blocks():
    report = [BlockHealth("SE_2_1", 8, 0, 0.0, 0.5, 100), BlockHealth("SE_4_3", 8, 7, 0.12, 0.5, 100)]
    text = narrative.health_sentence(report)
    assert text.startswith("1 of 2 SE blocks respond") and "SE_2_1 is constant for all pictures: a fixed channel scale" in text


def test_inspect_says_typical_only_when_the_picture_lies_within_its_class_spread():
    mean, std = np.full(8, 0.5), np.full(8, 0.1)
    assert "typical picture of its predicted class" in narrative.class_typicality(mean + 0.05, mean, std, "cat")
    far = narrative.class_typicality(mean + 0.4, mean, std, "cat")
    assert "far outside" in far and "4.0 times" in far and "0% of the channels" in far
    assert "somewhat outside" in narrative.class_typicality(mean - 0.15, mean, std, "cat")


def test_the_zero_u_note_follows_the_network(se20):
    """Only a network with zero-initialised BatchNorm scales (timm's) has U = 0 when random."""
    from senet_viz.models import load_model
    from senet_viz.models.blocks import zero_initialised_norms

    assert zero_initialised_norms(se20.net) == 0
    timm_random = load_model("seresnet50", weights="random", device="cpu")
    assert zero_initialised_norms(timm_random.net) == 16  # one per bottleneck of ResNet-50's 3 + 4 + 6 + 3
    at = _app(model="resnet20_cifar10", weights="random")
    assert "start at zero" not in " ".join(w.value for w in at.warning)
    at = _app(model="seresnet50", weights="random")
    assert "16 of its BatchNorm layers start at zero" in " ".join(w.value for w in at.warning)

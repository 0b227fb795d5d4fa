"""Comparisons against direct computation; the twin path; the Compare page through AppTest."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from conftest import ROOT, random_picture
from streamlit.testing.v1 import AppTest

from senet_viz import compare
from senet_viz.capture import capture


def test_divergence_per_block_is_the_direct_computation(se20):
    a = capture(se20, [random_picture(3)])
    b = capture(se20, [random_picture(4)])
    div = compare.divergence(a, b)
    assert [d.name for d in div] == [blk.name for blk in se20.blocks]
    for d in div:
        sa, sb = a.excitation[d.name][0].astype(np.float64), b.excitation[d.name][0].astype(np.float64)
        assert d.mean_abs == pytest.approx(np.mean(np.abs(sa - sb)), rel=1e-12)
        assert d.cosine_distance == pytest.approx(1 - sa @ sb / np.linalg.norm(sa) / np.linalg.norm(sb), rel=1e-9, abs=1e-12)
    same = compare.divergence(a, a)
    assert all(d.mean_abs == 0 and abs(d.cosine_distance) < 1e-12 for d in same)
    assert compare.parting_block(div).mean_abs == max(d.mean_abs for d in div)


def test_most_different_channels():
    sa, sb = np.array([0.5, 0.9, 0.1, 0.5]), np.array([0.5, 0.2, 0.15, 0.8])
    assert compare.most_different(sa, sb, 2) == [1, 3]


def test_the_twin_runs_without_se_on_the_same_preprocessed_input(se20):
    from senet_viz.models import load_model

    twin = load_model("resnet20_cifar10", weights="random", device="cpu")
    assert not twin.blocks and not any("se" in n.split(".") for n, _ in twin.net.named_modules())
    seen = []
    handle = twin.net.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()))
    try:
        picture = random_picture(5, (50, 40))
        result = compare.through_twin(se20, twin, picture)
    finally:
        handle.remove()
    x = se20.batch([picture])
    torch.testing.assert_close(seen[0], x, rtol=0, atol=0)
    torch.testing.assert_close(result.x, x, rtol=0, atol=0)
    with torch.inference_mode():
        np.testing.assert_allclose(result.twin_probs, torch.softmax(twin.net(x), 1)[0].numpy(), rtol=1e-6)
        np.testing.assert_allclose(result.probs, torch.softmax(se20.net(x), 1)[0].numpy(), rtol=1e-6)


def test_the_pair_csv_holds_both_pictures(se20):
    a, b = capture(se20, [random_picture(1)]), capture(se20, [random_picture(2)])
    lines = compare.pair_csv(a, b, ("A: cat", "B: ship")).decode().splitlines()
    channels = sum(blk.channels for blk in se20.blocks)
    assert lines[0] == "picture,block,channel,z,s" and len(lines) == 1 + 2 * channels
    assert lines[1].startswith('"A: cat",') and lines[-1].startswith('"B: ship",')


def test_the_compare_page_opens_with_two_pictures_compared():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    at.switch_page("pages/compare.py").run()
    assert not at.exception and not at.error, [e.value for e in at.exception]
    assert len(at.get("plotly_chart")) >= 2 and len(at.dataframe) == 2
    assert at.query_params["mode"] in ("pictures", ["pictures"]) and at.query_params["a"] in ("gallery:cat", ["gallery:cat"])
    at.radio(key="cmp_mode").set_value("class").run()
    assert not at.exception and not at.error
    captions = " ".join(c.value for c in at.caption)
    assert "within-class std" in captions and "Bars: this picture's s" in captions  # the picture against its class band
    at.radio(key="cmp_mode").set_value("twin").run()
    assert not at.exception and not at.error
    assert "Per-class test accuracy" in [h.value for h in at.subheader]
    captions = " ".join(c.value for c in at.caption)
    assert "From the two model cards" in captions and "the twin has the same layers without the" in captions


def test_a_compare_link_restores_the_pictures_and_the_block():
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in {"mode": "pictures", "a": "gallery:rocket", "b": "gallery:coffee", "block": "SE_3_1"}.items():
        at.query_params[k] = v
    at.switch_page("pages/compare.py").run()
    assert not at.exception
    assert at.session_state["cmp_a_gallery"] == "rocket" and at.session_state["cmp_b_gallery"] == "coffee"
    assert at.selectbox(key="cmp_block").value == "SE_3_1"

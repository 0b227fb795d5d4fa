import numpy as np
import pytest
from conftest import random_picture

from senet_viz.equations import walkthrough


@pytest.mark.parametrize("fixture,block", [("se20", "SE_2_3"), ("se20", "SE_4_3"), ("seresnet50", "SE_4_6"), ("mobilenet", "SE_3_1")])
def test_walkthrough_recomputes_the_network(fixture, block, request):
    model = request.getfixturevalue(fixture)
    w = walkthrough(model, random_picture(7, (80, 64)), block)
    c, h, wd = w.u_shape
    assert c == w.block.channels and w.hw == h * wd
    assert w.w1.shape == (w.block.hidden, c) and w.w2.shape == (c, w.block.hidden)
    np.testing.assert_allclose(w.z, w.u_sum / w.hw)
    np.testing.assert_allclose(w.fc1_out, w.w1 @ w.z + w.b1)
    np.testing.assert_allclose(w.pre_gate, w.w2 @ w.hidden + w.b2)
    assert max(w.checks.values()) < 1e-4, w.checks
    assert w.u_maps.shape == w.scaled_maps.shape == (len(w.channels), h, wd)
    np.testing.assert_allclose(w.scaled_maps, w.u_maps * w.s[w.channels][:, None, None])
    # the default channels are the most and the least excited ones
    assert w.s[w.channels[0]] == w.s.max() and w.s[w.channels[-1]] == w.s.min()


def test_gate_names(se20, mobilenet):
    assert walkthrough(se20, random_picture(1), "SE_2_1").gate_name == "Sigmoid"
    mw = walkthrough(mobilenet, random_picture(1, (64, 64)), "SE_2_1")
    assert mw.gate_name == "Hardsigmoid" and mw.delta_name == "ReLU"


def test_unknown_block_is_a_clear_error(se20):
    from senet_viz.errors import BlockNotFound

    with pytest.raises(BlockNotFound, match="SE_9_9"):
        walkthrough(se20, random_picture(1), "SE_9_9")


def test_a_given_capture_is_used_without_a_second_forward(se20, monkeypatch):
    from senet_viz import equations
    from senet_viz.capture import capture

    pic = random_picture(2)
    cap = capture(se20, [pic], maps=["SE_3_1"])
    monkeypatch.setattr(equations, "capture", lambda *a, **k: pytest.fail("a second forward"))
    w = walkthrough(se20, pic, "SE_3_1", cap=cap)
    assert max(w.checks.values()) < 1e-4

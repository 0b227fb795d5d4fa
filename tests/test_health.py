"""SE health from z, s and the block's own weights, on hand-set blocks with known answers."""

import numpy as np
import torch

from senet_viz.health import block_health, health_line, hidden_activations
from senet_viz.models.blocks import discover
from senet_viz.models.se_block import SEBlock


def _block(se: SEBlock):
    net = torch.nn.Sequential(se)
    return discover(net, (se.channels, 4, 4))[0]


def test_a_block_with_zero_w1_is_constant_and_has_no_live_unit():
    torch.manual_seed(0)
    se = SEBlock(16)
    with torch.no_grad():
        se.fc1.weight.zero_()
        se.fc1.bias.fill_(0.3)  # fires on every picture, but the same value: not live
    z = np.random.default_rng(0).normal(size=(50, 16)).astype(np.float32)
    s = se.excite(torch.from_numpy(z)).detach().numpy()
    h = block_health(_block(se), z, s)
    assert h.live == 0 and h.s_std < 1e-6 and h.state == "constant" and not h.healthy
    assert h.describe().startswith("constant for all pictures: a fixed channel scale")


def test_live_units_and_the_spread_of_s_follow_the_weights():
    torch.manual_seed(0)
    se = SEBlock(16)  # 8 hidden units
    with torch.no_grad():
        se.fc1.weight.zero_()
        se.fc1.bias.fill_(-1.0)  # dead
        se.fc1.weight[:3, 0] = 2.0  # units 0..2 follow z_0: fire on about half the pictures
        se.fc2.weight.normal_()
    z = np.random.default_rng(1).normal(size=(400, 16)).astype(np.float32)
    s = se.excite(torch.from_numpy(z)).detach().numpy()
    hidden = hidden_activations(_block(se), z)
    np.testing.assert_allclose(hidden, torch.relu(se.fc1(torch.from_numpy(z))).detach().numpy(), rtol=1e-6)
    h = block_health(_block(se), z, s)
    assert h.hidden == 8 and h.live == 3 and h.state == "faint"  # 3 of 8 live: under half
    assert np.isclose(h.s_std, s.std(axis=0).mean())
    with torch.no_grad():
        se.fc1.weight[3:6, 1] = 2.0
    s = se.excite(torch.from_numpy(z)).detach().numpy()
    h = block_health(_block(se), z, s)
    assert h.live == 6 and h.state == "responsive" and h.healthy


def test_a_saturated_block_with_live_units_counts_as_healthy():
    torch.manual_seed(0)
    se = SEBlock(16)
    with torch.no_grad():
        se.fc1.weight.normal_()
        se.fc1.bias.zero_()
        se.fc2.weight.mul_(0.01)
        se.fc2.bias.fill_(4.0)  # s near sigma(4) = 0.98 for every picture
    z = np.random.default_rng(2).normal(size=(200, 16)).astype(np.float32)
    s = se.excite(torch.from_numpy(z)).detach().numpy()
    h = block_health(_block(se), z, s)
    assert h.s_mean > 0.9 and h.s_std < 0.03 and h.state == "saturated" and h.healthy
    line = health_line([h])
    assert line.startswith("SE health") and "WARNING" not in line

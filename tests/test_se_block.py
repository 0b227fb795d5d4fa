import pytest
import torch

from senet_viz.models.cifar_resnet import CifarResNet
from senet_viz.models.se_block import MIN_HIDDEN, SEBlock, hidden_width


def test_hidden_width_rounds_down_with_a_floor():
    assert hidden_width(256, 16) == 16
    assert hidden_width(64, 16) == MIN_HIDDEN
    assert hidden_width(16, 16) == MIN_HIDDEN
    assert hidden_width(2, 16) == 2  # never wider than C


@pytest.mark.parametrize("squeeze", ["avg", "max"])
@pytest.mark.parametrize("gate", ["sigmoid", "tanh", "relu"])
def test_block_follows_equations_2_to_4(squeeze, gate):
    torch.manual_seed(0)
    block = SEBlock(32, 2, squeeze=squeeze, gate=gate).eval()
    u = torch.randn(3, 32, 5, 7)
    z = u.mean(dim=(2, 3)) if squeeze == "avg" else u.amax(dim=(2, 3))
    a = torch.relu(z @ block.fc1.weight.T + block.fc1.bias) @ block.fc2.weight.T + block.fc2.bias
    s = {"sigmoid": torch.sigmoid, "tanh": torch.tanh, "relu": torch.relu}[gate](a)
    torch.testing.assert_close(block.squeeze(u), z)
    torch.testing.assert_close(block.excite(z), s)
    torch.testing.assert_close(block(u), u * s[:, :, None, None])
    assert block.fc1.weight.shape == (16, 32) and block.fc2.weight.shape == (32, 16)


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError):
        SEBlock(16, squeeze="median")
    with pytest.raises(ValueError):
        SEBlock(16, gate="softmax")
    with pytest.raises(ValueError):
        CifarResNet(21)


@pytest.mark.parametrize("depth,blocks", [(20, 9), (56, 27)])
def test_cifar_resnet_depths(depth, blocks):
    net = CifarResNet(depth)
    assert sum(isinstance(m, SEBlock) for m in net.modules()) == blocks
    assert net(torch.zeros(2, 3, 32, 32)).shape == (2, 10)
    assert not any(isinstance(m, SEBlock) for m in CifarResNet(depth, se=False).modules())

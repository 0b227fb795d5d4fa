"""SE-ResNets written by hand the way tutorials and replication repositories write them, for the
tests of SE blocks recognised by what they do. Each ``build_*`` is usable as
``--model handwritten_se:build_selayer`` (with this folder on the Python path)."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class SELayer(nn.Module):
    """moskomule/senet.pytorch's form: pool, ``Sequential(Linear, ReLU, Linear, Sigmoid)``, x * y."""

    def __init__(self, channel: int, reduction: int = 4) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Sequential(
            nn.Linear(channel, channel // reduction, bias=False),
            nn.ReLU(inplace=True),
            nn.Linear(channel // reduction, channel, bias=False),
            nn.Sigmoid(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, _, _ = x.size()
        y = self.avg_pool(x).view(b, c)
        y = self.fc(y).view(b, c, 1, 1)
        return x * y.expand_as(x)


class SEModule(nn.Module):
    """The form of the authors' Caffe models ported to PyTorch: 1x1 convolutions as attributes."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.avg_pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, channels // reduction, kernel_size=1, padding=0)
        self.relu = nn.ReLU(inplace=True)
        self.fc2 = nn.Conv2d(channels // reduction, channels, kernel_size=1, padding=0)
        self.sigmoid = nn.Sigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        module_input = x
        x = self.avg_pool(x)
        x = self.fc1(x)
        x = self.relu(x)
        x = self.fc2(x)
        x = self.sigmoid(x)
        return module_input * x


class SqueezeExcite(nn.Module):
    """A functional squeeze, a BatchNorm in the bottleneck and a hard-sigmoid gate, in a Sequential
    that outputs s (itself no SE block: it does not multiply)."""

    def __init__(self, channels: int, reduction: int = 4) -> None:
        super().__init__()
        self.se = nn.Sequential(nn.Conv2d(channels, channels // reduction, 1), nn.BatchNorm2d(channels // reduction),
                                nn.ReLU(), nn.Conv2d(channels // reduction, channels, 1), nn.Hardsigmoid())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.se(F.adaptive_avg_pool2d(x, 1))


class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int, se: type[nn.Module] | None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = se(planes) if se is not None else nn.Identity()
        self.shortcut = nn.Identity()
        if stride != 1 or inplanes != planes:
            self.shortcut = nn.Sequential(nn.Conv2d(inplanes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = F.relu(self.bn1(self.conv1(x)))
        out = self.se(self.bn2(self.conv2(out)))
        return F.relu(out + self.shortcut(x))


class CifarSEResNet(nn.Module):
    """A small CIFAR SE-ResNet (two blocks per stage, 16/32/64 channels)."""

    def __init__(self, se: type[nn.Module] | None, num_classes: int = 10) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, inplanes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            layers += [BasicBlock(inplanes, planes, stride, se), BasicBlock(planes, planes, 1, se)]
            inplanes = planes
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(64, num_classes)
        self.pretrained_cfg = {"input_size": (3, 32, 32), "mean": (0.4914, 0.4822, 0.4465),
                               "std": (0.2470, 0.2435, 0.2616)}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.layers(F.relu(self.bn1(self.conv1(x))))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def _randomised(net: nn.Module) -> nn.Module:
    """Random BatchNorm statistics, so that U and s differ from channel to channel (a test of
    exactness on constant values would prove nothing)."""
    g = torch.Generator().manual_seed(0)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return net


def build_selayer(num_classes: int = 10) -> nn.Module:
    torch.manual_seed(0)
    return _randomised(CifarSEResNet(SELayer, num_classes))


def build_semodule() -> nn.Module:
    torch.manual_seed(0)
    return _randomised(CifarSEResNet(SEModule))


def build_squeeze_excite() -> nn.Module:
    torch.manual_seed(0)
    return _randomised(CifarSEResNet(SqueezeExcite))


def build_plain() -> nn.Module:
    torch.manual_seed(0)
    return CifarSEResNet(None)


def build_not_a_module() -> str:
    return "not a network"

"""The CIFAR ResNet family of He et al. (3 stages of BasicBlocks, depth 6n + 2), with or without SE.

The SE block sits on the residual branch, after the second convolution's BatchNorm and
before the addition with the identity (the paper's SE-ResNet module).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .se_block import SEBlock


class BasicBlock(nn.Module):
    def __init__(self, in_planes: int, planes: int, stride: int, se: dict | None) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_planes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.se = SEBlock(planes, **se) if se is not None else None
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or in_planes != planes:
            self.shortcut = nn.Sequential(
                nn.Conv2d(in_planes, planes, 1, stride, bias=False), nn.BatchNorm2d(planes)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        u = self.bn2(self.conv2(F.relu(self.bn1(self.conv1(x)))))
        if self.se is not None:
            u = self.se(u)
        return F.relu(u + self.shortcut(x))


class CifarResNet(nn.Module):
    """ResNet-(6n+2) for 32x32 pictures: 16, 32, 64 channels in stages 2, 3, 4 (paper numbering)."""

    def __init__(
        self,
        depth: int = 20,
        num_classes: int = 10,
        *,
        se: bool = True,
        reduction: int = 16,
        squeeze: str = "avg",
        gate: str = "sigmoid",
    ) -> None:
        super().__init__()
        if (depth - 2) % 6 != 0:
            raise ValueError(f"depth must be 6n + 2 (20, 56, 110, ...), not {depth}")
        n = (depth - 2) // 6
        se_args = {"reduction": reduction, "squeeze": squeeze, "gate": gate} if se else None
        self.conv1 = nn.Conv2d(3, 16, 3, 1, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(16)
        layers, in_planes = [], 16
        for planes, stride in ((16, 1), (32, 2), (64, 2)):
            blocks = []
            for i in range(n):
                blocks.append(BasicBlock(in_planes, planes, stride if i == 0 else 1, se_args))
                in_planes = planes
            layers.append(nn.Sequential(*blocks))
        self.layer1, self.layer2, self.layer3 = layers
        self.fc = nn.Linear(64, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.relu(self.bn1(self.conv1(x)))
        x = self.layer3(self.layer2(self.layer1(x)))
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))

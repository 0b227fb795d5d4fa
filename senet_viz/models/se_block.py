"""The SE block written after the paper (Hu et al., Eqs. 2-4).

    z = F_sq(U)        squeeze, Eq. 2: global average (or max) pooling, z in R^C
    s = F_ex(z, W)     excitation, Eq. 3: sigma(W2 delta(W1 z + b1) + b2), s in R^C
    X~ = F_scale(U, s) scale, Eq. 4: s_c * u_c for every channel c
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

#: The narrowest bottleneck the block builds: C/r is rounded down and raised to this, so
#: every stage of a CIFAR ResNet with r = 16 (16, 32, 64 channels) has 8 hidden units. C/r = 1
#: would leave the excitation a single scalar shared by all channels; with 4 units, the shipped
#: SE-ResNet-20 trained with weight decay on its SE layers lost every hidden unit in 5 of its 9
#: blocks (s = sigma(b2) for every picture), while 8 units without decay on the SE layers kept
#: all 9 blocks responding in a 10-epoch pilot. timm never builds an SE bottleneck below 8 either.
MIN_HIDDEN = 8

GATES: dict[str, type[nn.Module]] = {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU}
SQUEEZES = ("avg", "max")


def hidden_width(channels: int, reduction: int, min_hidden: int = MIN_HIDDEN) -> int:
    """C/r, rounded down, at least ``min_hidden`` (and never more than C)."""
    return min(channels, max(channels // reduction, min_hidden))


class SEBlock(nn.Module):
    """Squeeze-and-Excitation block.

    Args:
        channels: C, the number of channels of U.
        reduction: r; the bottleneck has ``hidden_width(C, r)`` units (C/r, at least ``MIN_HIDDEN``).
        squeeze: ``'avg'`` (Eq. 2, the paper's choice) or ``'max'`` (Table 11's alternative).
        gate: sigma of Eq. 3: ``'sigmoid'`` (the paper's), ``'tanh'`` or ``'relu'`` (Table 12).

    ``fc1`` holds W1 (C/r x C) and b1, ``fc2`` holds W2 (C x C/r) and b2.
    The forward's input is U and its output is s * U.

    ``observer``: None, or a function of (z, s) returning the s to scale by, called between
    Eq. 3 and Eq. 4. ``senet_viz.capture`` sets it to record z and s (and, for an ablation, to
    replace s): one plain call instead of two module hooks, whose dispatch costs about as much
    as the rest of the block at batch 1.
    """

    observer: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None

    def __init__(self, channels: int, reduction: int = 16, *, squeeze: str = "avg", gate: str = "sigmoid") -> None:
        super().__init__()
        if squeeze not in SQUEEZES:
            raise ValueError(f"squeeze must be one of {SQUEEZES}, not {squeeze!r}")
        if gate not in GATES:
            raise ValueError(f"gate must be one of {tuple(GATES)}, not {gate!r}")
        self.channels = channels
        self.reduction = reduction
        self.squeeze_op = squeeze
        self.gate_name = gate
        hidden = hidden_width(channels, reduction)
        self.fc1 = nn.Linear(channels, hidden)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(hidden, channels)
        self.gate = GATES[gate]()

    def squeeze(self, u: torch.Tensor) -> torch.Tensor:
        """Eq. 2: z_c = 1/(H W) sum_i sum_j u_c(i, j); (N, C, H, W) -> (N, C)."""
        if self.squeeze_op == "max":
            return u.amax(dim=(2, 3))
        return u.mean(dim=(2, 3))

    def excite(self, z: torch.Tensor) -> torch.Tensor:
        """Eq. 3: s = sigma(W2 delta(W1 z + b1) + b2); (N, C) -> (N, C)."""
        return self.gate(self.fc2(self.relu(self.fc1(z))))

    def forward(self, u: torch.Tensor) -> torch.Tensor:
        z = self.squeeze(u)
        s = self.excite(z)
        if self.observer is not None:
            s = self.observer(z, s)
        return u * s[:, :, None, None]  # Eq. 4, the scale

    def extra_repr(self) -> str:
        return f"channels={self.channels}, reduction={self.reduction}, squeeze={self.squeeze_op!r}, gate={self.gate_name!r}"

"""SE health: does each block's excitation depend on the picture at all?

A block whose hidden units (delta(W1 z + b1), Eq. 3) never fire, or whose s hardly moves from
picture to picture, is a fixed channel scale, not an attention mechanism: weight decay can
drive a narrow bottleneck there during training. Everything here is computed from captured z
and s and the block's own weights, so it holds for any model the registry loads.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import torch

from .i18n import _
from .models.blocks import BlockInfo

#: A hidden unit is live when delta(.) > 0 on at least this share of the pictures ...
LIVE_SHARE = 0.05
#: ... and its output varies across them by at least this much (std).
LIVE_STD = 1e-3
#: Below this channel-mean std of s across pictures a block is constant: a fixed channel scale.
FLAT_STD = 1e-3
#: Below this it responds only faintly to the picture.
WEAK_STD = 0.03


@dataclass(frozen=True)
class BlockHealth:
    name: str
    hidden: int  # C/r as built
    live: int  # live hidden units (LIVE_SHARE and LIVE_STD)
    s_std: float  # std of s across the pictures, mean over channels
    s_mean: float  # mean of s over pictures and channels
    pictures: int

    @property
    def live_share(self) -> float:
        return self.live / self.hidden if self.hidden else 0.0

    @property
    def state(self) -> str:
        """'constant', 'faint', 'saturated' (live units, s near 1: the paper's SE_5_2) or 'responsive'."""
        if self.live == 0:
            return "constant"
        if self.s_mean >= 0.9 and self.live_share >= 0.5:
            return "saturated"
        if self.s_std < FLAT_STD:
            return "constant"
        if self.s_std < WEAK_STD or self.live_share < 0.5:
            return "faint"
        return "responsive"

    @property
    def healthy(self) -> bool:
        """The liveness the shipped model is held to: s varies (or saturates near 1) and at
        least half of the hidden units are live."""
        return self.state in ("responsive", "saturated")

    def describe(self) -> str:
        numbers = dict(std=self.s_std, mean=self.s_mean, live=self.live, hidden=self.hidden)
        if self.state == "constant":
            return _("constant for all pictures: a fixed channel scale (std of s {std:.4f}; {live} of {hidden} hidden "
                     "units live)", **numbers)
        if self.state == "faint":
            return _("hardly depends on the picture (std of s {std:.3f}; {live} of {hidden} hidden units live)", **numbers)
        if self.state == "saturated":
            return _("saturated near 1 (mean s {mean:.2f}; {live} of {hidden} hidden units live)", **numbers)
        return _("responds to the picture (std of s {std:.3f}; {live} of {hidden} hidden units live)", **numbers)

    def as_dict(self) -> dict:
        return {**asdict(self), "state": self.state}


def hidden_tensor(block: BlockInfo, z: torch.Tensor) -> torch.Tensor:
    """delta(W1 z + b1) for every picture (after the BatchNorm where the block has one), (N, C/r),
    on z's device. Computed with the block's own layers, so it is what the network computed
    between fc1 and fc2."""
    fc1, act, bn = block.part("fc1"), block.part("act"), block.part("bn")
    weight = next(fc1.parameters())
    x = z.to(weight.device, weight.dtype)
    with torch.inference_mode():
        if isinstance(fc1, torch.nn.Conv2d):
            h = fc1(x[:, :, None, None])
            if bn is not None and not isinstance(bn, torch.nn.Identity):
                h = bn(h)
            h = act(h.clone()).flatten(1)
        else:
            h = fc1(x)
            if bn is not None and not isinstance(bn, torch.nn.Identity):
                h = bn(h)
            h = act(h.clone())
    return h


def hidden_activations(block: BlockInfo, z: np.ndarray) -> np.ndarray:
    """``hidden_tensor`` of numpy z, as float32 numpy."""
    return hidden_tensor(block, torch.as_tensor(z)).float().cpu().numpy()


def block_health(block: BlockInfo, z: np.ndarray, s: np.ndarray) -> BlockHealth:
    """Health of one block from its captured z and s, (N, C) each."""
    h = hidden_activations(block, z)
    live = int(np.sum(((h > 0).mean(axis=0) >= LIVE_SHARE) & (h.std(axis=0) >= LIVE_STD)))
    return BlockHealth(block.name, h.shape[1], live, float(s.std(axis=0).mean()), float(s.mean()), len(s))


def health(blocks: list[BlockInfo], squeeze: dict[str, np.ndarray], excitation: dict[str, np.ndarray]) -> list[BlockHealth]:
    """Health of every block, from a capture's ``squeeze`` and ``excitation``."""
    return [block_health(b, squeeze[b.name], excitation[b.name]) for b in blocks]


def health_line(report: list[BlockHealth]) -> str:
    """One line for a training log: live units and std of s per block, then a warning if any is flat."""
    cells = " ".join(f"{h.name}:{h.live}/{h.hidden},{h.s_std:.3f}" for h in report)
    flat = [h.name for h in report if h.state == "constant"]
    warn = f"  WARNING: constant s (a fixed channel scale) in {', '.join(flat)}" if flat else ""
    return f"SE health (live units, std of s): {cells}{warn}"

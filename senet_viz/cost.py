"""Parameters and FLOPs of a model and of its SE modules, per block and per stage, for any r.

FLOPs are counted as multiply-adds of the convolutions and fully connected layers (the
paper's convention), plus, for each SE block, the H W C additions of the squeeze and the
H W C multiplications of the scale. Eq. 5 predicts the SE parameters as
(2 / r) sum_s N_s C_s^2 (biases ignored); the counted figure includes the biases and the
real bottleneck widths.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import torch
from torch import nn

from .i18n import _
from .models.blocks import BlockInfo
from .models.registry import LoadedModel
from .models.se_block import MIN_HIDDEN, SEBlock, hidden_width


@dataclass(frozen=True)
class BlockCost:
    name: str
    stage: int
    channels: int
    hidden: int
    params: int
    flops: int  # per picture
    biases: int = 0  # of ``params``: the biases (and a BatchNorm's parameters), which Eq. 5 leaves out
    floored: bool = False  # the bottleneck was raised above C/r to the floor of MIN_HIDDEN units


@dataclass(frozen=True)
class Eq5Gap:
    """Why the counted SE parameters differ from Eq. 5's (2 / r) sum N_s C_s^2."""

    eq5: float
    counted: int
    floor: float  # weights added by bottlenecks raised to the floor: 2 C (h - C/r) for those blocks
    biases: int
    other: float  # the rest: C/r rounded down, stages whose blocks differ in width

    @property
    def floored(self) -> bool:
        return self.floor > 0


@dataclass(frozen=True)
class StageCost:
    stage: int
    blocks: int  # N_s
    channels: int  # C_s (the most common width in the stage)
    params: int  # counted
    eq5_params: float  # (2 / r) N_s C_s^2
    flops: int


@dataclass(frozen=True)
class CostReport:
    model: str
    reduction: float  # r
    input_size: tuple[int, int, int]
    total_params: int
    se_params: int
    total_flops: int
    se_flops: int
    blocks: list[BlockCost]
    stages: list[StageCost]

    @property
    def base_params(self) -> int:
        return self.total_params - self.se_params

    @property
    def overhead_pct(self) -> float:
        return 100.0 * self.se_params / max(1, self.base_params)

    @property
    def flops_overhead_pct(self) -> float:
        return 100.0 * self.se_flops / max(1, self.total_flops - self.se_flops)

    @property
    def eq5_params(self) -> float:
        return sum(s.eq5_params for s in self.stages)

    @property
    def overhead_without_last_stage_pct(self) -> float:
        last = self.stages[-1].params if self.stages else 0
        return 100.0 * (self.se_params - last) / max(1, self.base_params)

    def eq5_gap(self) -> Eq5Gap:
        r = self.reduction
        floor = sum(2 * b.channels * (b.hidden - b.channels / r) for b in self.blocks if b.floored)
        biases = sum(b.biases for b in self.blocks)
        return Eq5Gap(self.eq5_params, self.se_params, floor, biases, self.se_params - self.eq5_params - floor - biases)


def _layer_flops(net: nn.Module, input_size: tuple[int, int, int], device) -> tuple[int, dict[nn.Module, int]]:
    per_module: dict[nn.Module, int] = {}

    def hook(module, args, out):
        if isinstance(module, nn.Conv2d):
            k = module.in_channels // module.groups * module.kernel_size[0] * module.kernel_size[1]
            per_module[module] = per_module.get(module, 0) + out[0].numel() * k
        else:
            per_module[module] = per_module.get(module, 0) + out[0].numel() * module.in_features

    handles = [m.register_forward_hook(hook) for m in net.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    try:
        with torch.inference_mode():
            net(torch.zeros((1, *input_size), device=device))
    finally:
        for h in handles:
            h.remove()
    return sum(per_module.values()), per_module


def _hidden_for(block: BlockInfo, r: float, floor: bool) -> int:
    if isinstance(block.module, SEBlock):
        return hidden_width(block.channels, int(r), MIN_HIDDEN if floor else 1)
    return max(1, round(block.channels / r))


def _bias_params(module: nn.Module) -> int:
    return sum(p.numel() for name, p in module.named_parameters()
               if name.endswith("bias") or isinstance(module.get_submodule(name.rpartition(".")[0]),
                                                         nn.modules.batchnorm._BatchNorm))


def nominal_reduction(blocks: list[BlockInfo]) -> float:
    """The r most blocks were built with."""
    if not blocks:
        return 16.0
    if isinstance(blocks[0].module, SEBlock):
        return float(blocks[0].module.reduction)
    return float(Counter(round(b.channels / b.hidden, 2) for b in blocks).most_common(1)[0][0])


def cost(model: LoadedModel, reduction: float | None = None, *, floor: bool = True) -> CostReport:
    """The cost table of ``model``; with ``reduction`` the SE modules are re-sized to that r.

    ``floor``: the project's SE blocks raise C/r to at least ``MIN_HIDDEN`` units, as built;
    ``floor=False`` sizes them to C/r exactly (at least 1), to show what r alone does."""
    net, blocks = model.net, model.blocks
    total_params = sum(p.numel() for p in net.parameters())
    se_params_built = sum(p.numel() for b in blocks for p in b.module.parameters())
    total_flops, per_module = _layer_flops(net, model.input_size, model.device)
    r = float(reduction) if reduction is not None else nominal_reduction(blocks)
    rows = []
    for b in blocks:
        h, w = b.resolution
        elementwise = 2 * h * w * b.channels  # squeeze additions and scale multiplications
        if reduction is None:
            params = sum(p.numel() for p in b.module.parameters())
            fc = sum(per_module.get(m, 0) for m in b.module.modules())
            hidden, biases = b.hidden, _bias_params(b.module)
        else:
            hidden = _hidden_for(b, r, floor)
            params = 2 * b.channels * hidden + hidden + b.channels
            fc = 2 * b.channels * hidden
            biases = hidden + b.channels
        floored = isinstance(b.module, SEBlock) and hidden > max(1, b.channels // int(r))
        rows.append(BlockCost(b.name, b.stage, b.channels, hidden, params, fc + elementwise, biases, floored))
    se_fc_built = sum(per_module.get(m, 0) for b in blocks for m in b.module.modules())
    base_flops = total_flops - se_fc_built
    se_params = sum(row.params for row in rows)
    se_flops = sum(row.flops for row in rows)
    stages = []
    for stage in sorted({row.stage for row in rows}):
        in_stage = [row for row in rows if row.stage == stage]
        c = Counter(row.channels for row in in_stage).most_common(1)[0][0]
        stages.append(
            StageCost(
                stage, len(in_stage), c, sum(x.params for x in in_stage), 2.0 / r * len(in_stage) * c * c,
                sum(x.flops for x in in_stage),
            )
        )
    return CostReport(
        model.label, r, model.input_size, total_params - se_params_built + se_params, se_params,
        base_flops + se_flops, se_flops, rows, stages,
    )


def downsampling_convolution(net: nn.Module) -> str | None:
    """Where a bottleneck network's residual blocks put their stride 2: ``"3x3"`` (ResNet v1.5,
    torchvision's and timm's ResNets), ``"1x1"`` (the original ResNet and the paper's SE-ResNets,
    timm's ``legacy_`` models), or None for other designs. The 3x3 placement computes the 3x3
    convolution at full resolution and costs about 0.23 GFLOPs more in a ResNet-50 at 224."""
    for m in net.modules():
        c1, c2 = getattr(m, "conv1", None), getattr(m, "conv2", None)
        if isinstance(c1, nn.Conv2d) and isinstance(c2, nn.Conv2d) and isinstance(getattr(m, "conv3", None), nn.Conv2d):
            if c1.stride[0] > 1 and c1.kernel_size[0] == 1:
                return "1x1"
            if c2.stride[0] > 1 and c2.kernel_size[0] == 3:
                return "3x3"
    return None


def bottleneck_words(hidden: int, channels: int, r: float, floored: bool) -> str:
    """How a block's hidden width h follows from C and r, in one phrase (r means the same on every
    page: the reduction ratio the block is built with, h = C/r rounded down, at least the floor)."""
    exact = channels / r
    numbers = dict(h=hidden, c=channels, r=r, exact=exact, floor=MIN_HIDDEN)
    if floored:
        return _("h = {h} hidden units: C/r = {c}/{r:g} = {exact:g}, raised to the floor of {floor} units (MIN_HIDDEN)",
                 **numbers)
    if exact == hidden:
        return _("h = {h} hidden units = C/r = {c}/{r:g}", **numbers)
    return _("h = {h} hidden units = C/r = {c}/{r:g} ({exact:g} rounded)", **numbers)


def bottleneck(blocks: list[BlockInfo], block: BlockInfo) -> str:
    """``bottleneck_words`` for a block of a loaded model, at the r it was built with."""
    r = nominal_reduction(blocks)
    floored = isinstance(block.module, SEBlock) and block.hidden > max(1, block.channels // int(r))
    return bottleneck_words(block.hidden, block.channels, r, floored)

"""SE-block discovery: adapters by module type, hand-written forms recognised by what they do
(``recognise``), and the paper's SE_<stage>_<block> names.

An adapter says, for one SE module type, which sub-module receives z (its forward input is
the squeeze descriptor), which sub-module outputs s (the gate), and the layers of Eq. 3
(fc1, an optional BatchNorm, delta, fc2, sigma) so the equations can be recomputed.

Stages. Blocks are grouped by the spatial size of U, the SE module's input, and the groups
are numbered from 2 in order of decreasing resolution, block index from 1 within a stage.
For ResNets this is the paper's scheme exactly (the first residual stage, conv2_x, is 2;
timm's ``layer1[2].se`` is SE_2_3). For MobileNetV3, EfficientNet and RegNetY, stage 2 is
simply the highest resolution at which the network has an SE block, whatever its stride.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from .recognise import recognise
from .se_block import SEBlock


@dataclass(frozen=True)
class Adapter:
    """Where one SE module type keeps its parts: sub-module paths relative to the SE module
    (``"fc1"``, or ``"fc.0"`` inside an ``nn.Sequential``); ``bn`` may be None. ``squeeze`` is
    "avg" or "max" where the form was recognised by its behaviour, None where the module says."""

    fc1: str
    act: str
    fc2: str
    gate: str
    bn: str | None = None
    squeeze: str | None = None

    def part(self, module: nn.Module, role: str) -> nn.Module | None:
        """The sub-module playing ``role`` (fc1, act, fc2, gate, bn) in ``module``."""
        path = getattr(self, role)
        return None if path is None else module.get_submodule(path)


def register_se_module(module_type: type[nn.Module], *, fc1: str, act: str, fc2: str, gate: str,
                       bn: str | None = None, replace: bool = False) -> None:
    """Make ``module_type`` an SE block to discovery, capture and the equations.

    Its forward must take U and return s * U, with s computed as ``gate(fc2(act([bn](fc1(z)))))``
    from z, the squeeze of U: ``fc1`` receives z (its forward input is recorded as z) and ``gate``
    outputs s (recorded as s). Each part is a sub-module path relative to the SE module, e.g.::

        senet_viz.register_se_module(MySE, fc1="down", act="relu", fc2="up", gate="sigmoid")
        senet_viz.register_se_module(MySE, fc1="fc.0", act="fc.1", fc2="fc.2", gate="fc.3")

    A type registered already (by this call or as one of the known SE modules) is an error, so
    that a second registration does not silently change how the first one's blocks are read;
    ``replace=True`` asks for that.
    """
    if not (isinstance(module_type, type) and issubclass(module_type, nn.Module)):
        raise TypeError(f"register_se_module needs an nn.Module subclass, not {module_type!r}")
    adapter = Adapter(fc1, act, fc2, gate, bn=bn)
    if module_type in ADAPTERS and ADAPTERS[module_type] != adapter and not replace:
        raise ValueError(f"{module_type.__name__} is registered already (as {ADAPTERS[module_type]}); "
                         "pass replace=True to change it")
    ADAPTERS[module_type] = adapter


def _adapters() -> dict[type, Adapter]:
    table: dict[type, Adapter] = {SEBlock: Adapter("fc1", "relu", "fc2", "gate")}
    try:
        from timm.layers.squeeze_excite import SEModule
        from timm.models._efficientnet_blocks import SqueezeExcite
        from timm.models.senet import SEModule as LegacySEModule

        table[SEModule] = Adapter("fc1", "act", "fc2", "gate", bn="bn")
        table[LegacySEModule] = Adapter("fc1", "relu", "fc2", "sigmoid")
        table[SqueezeExcite] = Adapter("conv_reduce", "act1", "conv_expand", "gate")
    except ImportError:  # timm is optional for the project's own models
        pass
    try:
        from torchvision.ops import SqueezeExcitation

        table[SqueezeExcitation] = Adapter("fc1", "activation", "fc2", "scale_activation")
    except ImportError:
        pass
    return table


ADAPTERS = _adapters()


def adapter_for(module: nn.Module) -> Adapter | None:
    return ADAPTERS.get(type(module))


@dataclass(frozen=True)
class BlockInfo:
    """One SE block of a network."""

    name: str  # SE_<stage>_<block>
    stage: int
    index: int
    channels: int  # C
    hidden: int  # C/r as built
    path: str  # dotted module path
    module: nn.Module  # forward input U, output s * U
    adapter: Adapter
    resolution: tuple[int, int]  # (H, W) of U for the probe input

    @property
    def reduction(self) -> float:
        return self.channels / self.hidden

    def part(self, role: str) -> nn.Module | None:
        """The block's fc1, act, fc2, gate or bn (None where it has no BatchNorm)."""
        return self.adapter.part(self.module, role)

    @property
    def gate_name(self) -> str:
        return type(self.part("gate")).__name__


def _width(layer: nn.Module) -> tuple[int, int]:
    if isinstance(layer, nn.Linear):
        return layer.in_features, layer.out_features
    if isinstance(layer, nn.Conv2d):
        return layer.in_channels, layer.out_channels
    raise TypeError(f"unexpected excitation layer {type(layer).__name__}")


@torch.inference_mode()
def discover(net: nn.Module, input_size: tuple[int, int, int], device: torch.device | str = "cpu") -> list[BlockInfo]:
    """Find every SE module of ``net`` in execution order and name it after the paper.

    One probe forward at ``input_size`` (C, H, W) records U's resolution at each block.
    """
    found = [(path, m, adapter_for(m)) for path, m in net.named_modules()]
    found = [(path, m, a) for path, m, a in found if a is not None]
    by_behaviour = recognise(net, {path for path, _, _ in found})
    found += [(path, net.get_submodule(path), Adapter(**parts)) for path, parts in by_behaviour.items()]
    if not found:
        return []
    order: list[tuple[str, tuple[int, int]]] = []
    handles = [
        m.register_forward_pre_hook(lambda mod, args, p=path: order.append((p, tuple(args[0].shape[-2:]))))
        for path, m, _ in found
    ]
    try:
        net(torch.zeros((1, *input_size), device=device))
    finally:
        for h in handles:
            h.remove()
    seen: dict[str, tuple[int, int]] = {}
    for path, res in order:
        seen.setdefault(path, res)
    by_path = {path: (m, a) for path, m, a in found}
    resolutions = sorted({res for res in seen.values()}, key=lambda r: -r[0] * r[1])
    counters: dict[int, int] = {}
    blocks = []
    for path, res in seen.items():
        module, adapter = by_path[path]
        stage = 2 + resolutions.index(res)
        counters[stage] = counters.get(stage, 0) + 1
        channels, hidden = _width(adapter.part(module, "fc1"))
        blocks.append(
            BlockInfo(f"SE_{stage}_{counters[stage]}", stage, counters[stage], channels, hidden, path, module, adapter, res)
        )
    return blocks


def zero_initialised_norms(net: nn.Module) -> int:
    """BatchNorm layers whose scale is all zero: timm initialises the last one of each residual
    branch so, which makes U = 0 in the SE block after it until the network is trained."""
    return sum(1 for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)
               and m.weight is not None and bool((m.weight == 0).all()))

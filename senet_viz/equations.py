"""The worked numbers of Eqs. 1-4 for one picture and one SE block.

Every step is recomputed in float64 from the block's own parameters and the U the network
produced, then compared with what the network itself computed (z, s and s * U from the
capture hooks): the largest absolute difference is the check line the app prints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from .capture import Capture, capture
from .i18n import _
from .models.blocks import BlockInfo
from .models.registry import LoadedModel


@dataclass
class Walkthrough:
    block: BlockInfo
    input_shape: tuple[int, ...]  # X, the picture tensor (3, H, W)
    u_shape: tuple[int, int, int]  # U, (C, H, W)
    channels: list[int]  # the channels shown in full
    u_maps: np.ndarray  # u_c for the chosen channels, (k, H, W)
    squeeze_name: str  # how z is formed from U
    u_sum: np.ndarray  # sum_i sum_j u_c(i, j), (C,)
    hw: int  # H * W
    z: np.ndarray  # Eq. 2, (C,)
    w1: np.ndarray  # (C/r, C)
    b1: np.ndarray
    fc1_out: np.ndarray  # W1 z + b1
    bn_name: str | None  # a BatchNorm between fc1 and delta, if the block has one
    delta_name: str  # the non-linearity delta (ReLU in the paper)
    hidden: np.ndarray  # delta(W1 z + b1), after the BatchNorm when there is one
    w2: np.ndarray  # (C, C/r)
    b2: np.ndarray
    pre_gate: np.ndarray  # W2 delta(.) + b2
    gate_name: str  # sigma (Sigmoid in the paper; Hardsigmoid in MobileNetV3)
    s: np.ndarray  # Eq. 3, (C,)
    scaled_maps: np.ndarray  # Eq. 4, s_c * u_c for the chosen channels, (k, H, W)
    network_z: np.ndarray
    network_s: np.ndarray
    checks: dict[str, float]  # max |recomputed - network| for z, s and s * U

    @property
    def reduction(self) -> float:
        return self.block.channels / self.block.hidden


def _matrix(layer: nn.Module) -> tuple[np.ndarray, np.ndarray]:
    w = layer.weight.detach().double().cpu().reshape(layer.weight.shape[0], -1).numpy()
    b = layer.bias.detach().double().cpu().numpy() if layer.bias is not None else np.zeros(w.shape[0])
    return w, b


def squeeze_kind(block: BlockInfo) -> str:
    """The squeeze the block computes: "avg" (Eq. 2), "max", or "avgmax" (timm's add_maxpool)."""
    module = block.module
    if block.adapter.squeeze == "max" or getattr(module, "squeeze_op", "avg") == "max":
        return "max"
    if getattr(module, "add_maxpool", False):
        return "avgmax"
    return "avg"


def _squeeze(block: BlockInfo, u: torch.Tensor) -> tuple[str, torch.Tensor]:
    kind = squeeze_kind(block)
    if kind == "max":
        return "max over H x W", u.amax(dim=(1, 2))
    if kind == "avgmax":
        return "0.5 mean + 0.5 max over H x W", 0.5 * u.mean(dim=(1, 2)) + 0.5 * u.amax(dim=(1, 2))
    return "mean over H x W (Eq. 2)", u.sum(dim=(1, 2)) / (u.shape[1] * u.shape[2])


def _batchnorm(bn: nn.Module, x: np.ndarray) -> np.ndarray:
    mean, var = bn.running_mean.double().cpu().numpy(), bn.running_var.double().cpu().numpy()
    w = bn.weight.detach().double().cpu().numpy() if bn.weight is not None else 1.0
    b = bn.bias.detach().double().cpu().numpy() if bn.bias is not None else 0.0
    return (x - mean) / np.sqrt(var + bn.eps) * w + b


def _apply(fn: nn.Module, x: np.ndarray) -> np.ndarray:
    # .clone(): timm's activations are in-place
    return fn(torch.from_numpy(x).clone()).numpy()


def walkthrough(model: LoadedModel, image, block_name: str, *, channels: list[int] | None = None, top: int = 3,
                cap: Capture | None = None) -> Walkthrough:
    """Eqs. 1-4 for picture ``image`` at block ``block_name``.

    ``cap``: a capture of this one picture with ``maps`` holding the block (the app passes its
    cached one, so the walk-through costs no second forward); made here when absent.

    ``channels``: the channels whose maps are shown; by default the ``top`` most and the
    ``top`` least excited ones.
    """
    block = model.block(block_name)
    if cap is None or block_name not in cap.inputs:
        cap = capture(model, image, maps=[block_name])
    u64 = torch.from_numpy(cap.inputs[block_name][0]).double()
    out = cap.outputs[block_name][0]
    squeeze_name, z_t = _squeeze(block, u64)
    z = z_t.numpy()
    w1, b1 = _matrix(block.part("fc1"))
    fc1_out = w1 @ z + b1
    bn = block.part("bn")
    after_bn = _batchnorm(bn, fc1_out) if isinstance(bn, nn.modules.batchnorm._BatchNorm) else fc1_out
    delta = block.part("act")
    hidden = _apply(delta, after_bn)
    w2, b2 = _matrix(block.part("fc2"))
    pre_gate = w2 @ hidden + b2
    gate = block.part("gate")
    s = _apply(gate, pre_gate)
    scaled = u64.numpy() * s[:, None, None]
    if channels is None:
        order = np.argsort(-s)
        channels = list(dict.fromkeys([*order[:top].tolist(), *order[-top:].tolist()]))
    net_z, net_s = cap.squeeze[block_name][0], cap.excitation[block_name][0]
    return Walkthrough(
        block=block,
        input_shape=tuple(model.input_size),
        u_shape=tuple(u64.shape),
        channels=channels,
        u_maps=u64.numpy()[channels],
        squeeze_name=squeeze_name,
        u_sum=u64.sum(dim=(1, 2)).numpy(),
        hw=int(u64.shape[1] * u64.shape[2]),
        z=z,
        w1=w1,
        b1=b1,
        fc1_out=fc1_out,
        bn_name=type(bn).__name__ if isinstance(bn, nn.modules.batchnorm._BatchNorm) else None,
        delta_name=type(delta).__name__,
        hidden=hidden,
        w2=w2,
        b2=b2,
        pre_gate=pre_gate,
        gate_name=type(gate).__name__,
        s=s,
        scaled_maps=scaled[channels],
        network_z=net_z,
        network_s=net_s,
        checks={
            "z": float(np.abs(z - net_z).max()),
            "s": float(np.abs(s - net_s).max()),
            "s*U": float(np.abs(scaled - out).max()),
        },
    )


@dataclass(frozen=True)
class UOrigin:
    """Where U, the SE block's input, comes from (Eq. 1's F_tr for this block)."""

    parent: str  # dotted path of the module that computes U and calls the SE block
    parent_type: str
    x_shape: tuple[int, ...]  # X, the input of that module, (C', H', W')
    text: str  # one paragraph for the Equations page


def _parent_inputs(model: LoadedModel) -> dict[str, tuple[int, ...]]:
    """Input shape (C, H, W) of each SE block's parent module, from one probe forward (once per model)."""
    shapes = getattr(model, "_parent_inputs", None)
    if shapes is not None:
        return shapes
    with model.lock:
        shapes = getattr(model, "_parent_inputs", None)
        if shapes is None:
            modules = dict(model.net.named_modules())
            shapes = {}

            def record(path: str):
                def hook(module, args) -> None:
                    shapes.setdefault(path, tuple(args[0].shape[1:]))
                return hook

            handles = [modules[b.path.rpartition(".")[0]].register_forward_pre_hook(record(b.path.rpartition(".")[0]))
                       for b in model.blocks]
            try:
                with torch.inference_mode():
                    model.net(torch.zeros((1, *model.input_size), device=model.device))
            finally:
                for h in handles:
                    h.remove()
            model._parent_inputs = shapes
    return shapes


def u_origin(model: LoadedModel, block_name: str) -> UOrigin:
    """What computes U for this block, said from the network's own modules: the paper's Eq. 1
    writes F_tr as one convolution of the picture X, but in a residual network U is the
    residual branch of the block, applied to that block's input (the previous block's output)."""
    from .models.cifar_resnet import BasicBlock

    block = model.block(block_name)
    parent_path = block.path.rpartition(".")[0]
    modules = dict(model.net.named_modules())
    parent = modules[parent_path]
    x_shape = _parent_inputs(model).get(parent_path, tuple(model.input_size))
    shape = "×".join(str(v) for v in x_shape)
    u_shape = f"{block.channels}×{block.resolution[0]}×{block.resolution[1]}"
    if isinstance(parent, BasicBlock):
        order = [p for p, m in model.net.named_modules() if isinstance(m, BasicBlock)]
        index = order.index(parent_path)
        source = (_("the stem's output (conv1, BatchNorm and ReLU of the 3×32×32 picture)") if index == 0
                  else _("the output of the previous residual block, {block}", block=order[index - 1]))
        stride = parent.conv1.stride[0]
        numbers = dict(block=parent_path, stride=stride, shape=shape, source=source, u=u_shape)
        if stride > 1:
            text = _("U = BN₂(conv₂(ReLU(BN₁(conv₁(X))))): the residual branch of block {block}, two 3×3 convolutions "
                     "(the first with stride {stride}, which halves H and W). X ({shape}) is {source}, not the picture. "
                     "U is {u}; after the scale, s·U is added to the block's shortcut and passed through a ReLU. Eq. 1's "
                     "single convolution stands for this branch.", **numbers)
        else:
            text = _("U = BN₂(conv₂(ReLU(BN₁(conv₁(X))))): the residual branch of block {block}, two 3×3 convolutions. "
                     "X ({shape}) is {source}, not the picture. U is {u}; after the scale, s·U is added to the block's "
                     "shortcut and passed through a ReLU. Eq. 1's single convolution stands for this branch.", **numbers)
    else:
        text = _("U is computed inside {block} ({kind}) from that module's input X ({shape}); in a residual network this "
                 "is the residual branch, whose input is the previous block's output. U is {u}. Eq. 1's single "
                 "convolution stands for this branch.", block=parent_path, kind=type(parent).__name__, shape=shape,
                 u=u_shape)
    return UOrigin(parent_path, type(parent).__name__, x_shape, text)

"""SE blocks recognised by what they do, for modules no adapter knows by type.

Hand-written SE blocks (tutorials, replication repositories) come in a few shapes: an
``nn.Sequential(Linear, ReLU, Linear, Sigmoid)`` after a global pool, or attributes
``fc1``/``relu``/``fc2``/``sigmoid`` that are 1x1 convolutions, with the pool a module or a
call in ``forward``. A module is taken for an SE block when both hold:

1. its layers are, in order, fc1 (Linear or 1x1 Conv2d, C -> h), an optional BatchNorm, an
   activation, fc2 (h -> C) and a sigmoid-like gate, besides pools, flattens and dropouts;
2. on a random U it returns U * s, with s recomputed from those layers on the average (or the
   max) of U over H x W: the module squeezes, excites and scales exactly as Eqs. 2-4 say.

Where a module and its wrapper both pass, the innermost is the SE block.
"""

from __future__ import annotations

import torch
from torch import nn

_SKIPPED = (nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d, nn.Flatten, nn.Unflatten, nn.Identity, nn.Dropout)
_ACTIVATIONS = (nn.ReLU, nn.ReLU6, nn.LeakyReLU, nn.PReLU, nn.ELU, nn.SiLU, nn.GELU, nn.Hardswish, nn.Mish)
_GATES = (nn.Sigmoid, nn.Hardsigmoid, nn.Tanh)
#: The float32 forward against the same layers applied by this module: rounding only.
_RTOL, _ATOL = 1e-4, 1e-5


def _is_fc(layer: nn.Module) -> bool:
    if isinstance(layer, nn.Linear):
        return True
    return isinstance(layer, nn.Conv2d) and layer.kernel_size == (1, 1) and layer.groups == 1 and layer.stride == (1, 1)


def _widths(layer: nn.Module) -> tuple[int, int]:
    if isinstance(layer, nn.Linear):
        return layer.in_features, layer.out_features
    return layer.in_channels, layer.out_channels


def _named_like(layer: nn.Module, words: tuple[str, ...]) -> bool:
    name = type(layer).__name__.lower()
    return any(w in name for w in words)


def _parts(module: nn.Module) -> dict[str, str | None] | None:
    """Paths of fc1, bn, act, fc2 and gate when the module's layers have the SE shape."""
    leaves = [(path, m) for path, m in module.named_modules() if path and not any(True for _ in m.children())]
    leaves = [(path, m) for path, m in leaves if not isinstance(m, _SKIPPED)]
    if len(leaves) == 5 and isinstance(leaves[1][1], nn.modules.batchnorm._BatchNorm):
        (fc1, f1), (bn, _), (act, a), (fc2, f2), (gate, g) = leaves
    elif len(leaves) == 4:
        (fc1, f1), (act, a), (fc2, f2), (gate, g) = leaves
        bn = None
    else:
        return None
    if not (_is_fc(f1) and _is_fc(f2) and type(f1) is type(f2)):
        return None
    if not (isinstance(a, _ACTIVATIONS) or _named_like(a, ("relu", "silu", "swish", "gelu"))):
        return None
    if not (isinstance(g, _GATES) or _named_like(g, ("sigmoid",))):
        return None
    (c_in, hidden), (h_in, c_out) = _widths(f1), _widths(f2)
    if c_in != c_out or hidden != h_in:
        return None
    return {"fc1": fc1, "bn": bn, "act": act, "fc2": fc2, "gate": gate}


@torch.inference_mode()
def _squeeze_kind(module: nn.Module, parts: dict[str, str | None]) -> str | None:
    """"avg" or "max" when ``module(U)`` equals U * s for s computed from its parts on that
    squeeze of a random U; None when it does something else (or fails on a 4-D input)."""
    fc1 = module.get_submodule(parts["fc1"])
    weight = fc1.weight
    channels = _widths(fc1)[0]
    g = torch.Generator().manual_seed(0)
    u = torch.randn(2, channels, 3, 5, generator=g).to(weight.device, weight.dtype)
    try:
        out = module(u.clone())
    except Exception:  # noqa: BLE001 - a module that is no SE block may fail in any way on U
        return None
    if not isinstance(out, torch.Tensor) or out.shape != u.shape:
        return None
    layers = [module.get_submodule(parts[r]) for r in ("fc1", "bn", "act", "fc2", "gate") if parts[r] is not None]
    for kind, z in (("avg", u.mean(dim=(2, 3))), ("max", u.amax(dim=(2, 3)))):
        h = z if isinstance(fc1, nn.Linear) else z[:, :, None, None]
        for layer in layers:
            if isinstance(layer, nn.modules.batchnorm._BatchNorm) and h.dim() == 2:
                h = layer(h[:, :, None, None])[:, :, 0, 0]
            else:
                h = layer(h.clone())
        s = h.reshape(2, channels, 1, 1)
        if torch.allclose(out, u * s, rtol=_RTOL, atol=_ATOL):
            return kind
    return None


def recognise(net: nn.Module, skip: set[str]) -> dict[str, dict[str, str | None]]:
    """Module path -> its parts (with ``squeeze``) for every hand-written SE block of ``net``;
    ``skip``: paths of blocks already known by type (they and their insides are left alone)."""
    found: dict[str, dict[str, str | None]] = {}
    for path, module in net.named_modules():
        if any(path == k or path.startswith(k + ".") or k.startswith(path + ".") for k in skip):
            continue
        parts = _parts(module)
        if parts is None:
            continue
        kind = _squeeze_kind(module, parts)
        if kind is not None:
            found[path] = {**parts, "squeeze": kind}
    # a wrapper around an SE block passes too: keep the innermost
    return {p: v for p, v in found.items() if not any(q.startswith(p + ".") for q in found if q != p)}

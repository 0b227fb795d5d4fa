"""Ablations at inference: change the s a block multiplies by, for one call, without touching
the shared model (the override acts through the capture hooks, per thread).

Modes: ``off`` (s := 1, the block becomes the identity), ``constant`` (s := value),
``class_mean`` (s := the mean excitation of a class, from the statistics), ``shuffle``
(s's channels permuted, a fixed seed per block).
"""

from __future__ import annotations

import zlib

import numpy as np
import torch

from .capture import Capture, Override, capture, record
from .data import LabelledPictures
from .errors import SenetVizError
from .models.registry import LoadedModel

MODES = ("off", "constant", "class_mean", "shuffle")


def make_override(mode: str, *, value: float = 0.5, mean: np.ndarray | None = None, seed: int = 0) -> Override:
    if mode == "off":
        return torch.ones_like
    if mode == "constant":
        return lambda s: torch.full_like(s, value)
    if mode == "class_mean":
        if mean is None:
            raise SenetVizError("the class-mean ablation needs statistics of the model")
        m = torch.as_tensor(mean, dtype=torch.float32)
        return lambda s: m.to(s.device, s.dtype).reshape(1, -1, *([1] * (s.dim() - 2))).expand_as(s).clone()
    if mode == "shuffle":
        def shuffle(s: torch.Tensor) -> torch.Tensor:
            g = torch.Generator().manual_seed(seed)
            return s[:, torch.randperm(s.shape[1], generator=g).to(s.device)]
        return shuffle
    raise SenetVizError(f"ablation mode is one of {', '.join(MODES)}, not {mode!r}")


def overrides(model: LoadedModel, blocks: list[str], mode: str, *, value: float = 0.5,
              class_means: dict[str, np.ndarray] | None = None) -> dict[str, Override]:
    return {
        b: make_override(mode, value=value, mean=(class_means or {}).get(b), seed=zlib.crc32(b.encode()))
        for b in blocks
    }


def ablate(model: LoadedModel, images, blocks: list[str], mode: str, **kw) -> Capture:
    """Capture ``images`` with ``blocks`` ablated."""
    return capture(model, images, override=overrides(model, blocks, mode, **kw))


@torch.inference_mode()
def stage_accuracy(model: LoadedModel, source: LabelledPictures, *, batch_size: int = 250, limit: int | None = None,
                   means: dict[str, np.ndarray] | None = None, on_batch=None) -> dict:
    """Top-1 accuracy with SE switched off in each stage, in all stages, and in none.

    Two ways of switching off: s := 1 (``off``: the block becomes the identity, which also
    changes the scale the network was trained with), and, given ``means`` (the all-class mean
    excitation per block), s := that mean (``mean``: the scale stays, only its dependence on
    the picture goes).
    """
    stages = sorted({b.stage for b in model.blocks})
    groups = {f"stage {s}": [b.name for b in model.blocks if b.stage == s] for s in stages}
    groups["all"] = [b.name for b in model.blocks]
    settings = {"none": ("off", [])} | {f"off: {k}": ("off", v) for k, v in groups.items()}
    if means is not None:
        settings |= {f"mean: {k}": ("class_mean", v) for k, v in groups.items()}
    n = len(source) if limit is None else min(limit, len(source))
    correct = dict.fromkeys(settings, 0)
    for start in range(0, n, batch_size):
        items = [source[i] for i in range(start, min(n, start + batch_size))]
        x = model.batch([img for img, _ in items])
        y = torch.tensor([label for _, label in items])
        for key, (mode, blocks) in settings.items():
            _, logits = record(model, x, batch_size=batch_size, override=overrides(model, blocks, mode, class_means=means))
            correct[key] += int((torch.cat(logits).argmax(1).cpu() == y).sum())
        if on_batch is not None:
            on_batch(min(n, start + batch_size), n)
    return {"n": n, "blocks": {k: v for k, (_, v) in settings.items()}, "top1": {k: c / max(1, n) for k, c in correct.items()}}

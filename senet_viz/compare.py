"""Comparisons: two pictures' excitations block by block, a picture against a class, SE against
its twin without SE on the same input.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .capture import Capture
from .models.registry import LoadedModel


@dataclass(frozen=True)
class BlockDivergence:
    name: str
    cosine_distance: float  # 1 - cos(s_a, s_b)
    mean_abs: float  # mean over channels of |s_a - s_b|


def divergence(a: Capture, b: Capture, index_a: int = 0, index_b: int = 0) -> list[BlockDivergence]:
    """Per block, how far two pictures' excitation vectors s lie apart."""
    out = []
    for name in a.block_names:
        sa = a.excitation[name][index_a].astype(np.float64)
        sb = b.excitation[name][index_b].astype(np.float64)
        norm = float(np.linalg.norm(sa) * np.linalg.norm(sb))
        cos = float(sa @ sb / norm) if norm > 0 else 1.0
        out.append(BlockDivergence(name, 1.0 - cos, float(np.abs(sa - sb).mean())))
    return out


def most_different(sa: np.ndarray, sb: np.ndarray, k: int = 5) -> list[int]:
    """The ``k`` channels where |s_a - s_b| is largest, largest first."""
    return [int(c) for c in np.argsort(-np.abs(sa - sb), kind="stable")[:k]]


def parting_block(div: list[BlockDivergence]) -> BlockDivergence:
    """The block where the two pictures' excitations lie furthest apart (mean |s_a - s_b|)."""
    return max(div, key=lambda d: d.mean_abs)


@dataclass(frozen=True)
class TwinResult:
    """One picture through a model and its twin without SE."""

    x: torch.Tensor  # the one preprocessed input both received, (1, 3, H, W)
    probs: np.ndarray  # (K,) of the SE model
    twin_probs: np.ndarray  # (K,) of the twin


def through_twin(model: LoadedModel, twin: LoadedModel, image) -> TwinResult:
    """``image`` preprocessed once (the SE model's preprocessing) and run through both networks."""
    if twin.class_names != model.class_names or twin.input_size != model.input_size:
        raise ValueError(f"{twin.name} is not a twin of {model.name}: other classes or input size")
    x = model.batch([image])
    with torch.inference_mode():
        p = torch.softmax(model.net(x).float(), 1)[0].cpu().numpy()
        q = torch.softmax(twin.net(x.to(twin.device)).float(), 1)[0].cpu().numpy()
    return TwinResult(x, p, q)


def top(probs: np.ndarray, class_names: list[str], k: int = 5) -> list[tuple[str, float]]:
    order = np.argsort(-probs)[:k]
    return [(class_names[i], float(probs[i])) for i in order]


def pair_csv(a: Capture, b: Capture, names: tuple[str, str]) -> bytes:
    """Both pictures' z and s in one CSV: picture,block,channel,z,s."""
    first, second = a.csv([names[0]]).decode().splitlines(), b.csv([names[1]]).decode().splitlines()
    return ("\n".join(first + second[1:]) + "\n").encode()


def against_class(excitation: dict[str, np.ndarray], stats, k: int) -> tuple[list[float], list[float]]:
    """Per block of ``stats``: the mean |s - class mean| of one picture's s (``excitation[block]``,
    (C,)) against class ``k``, and the class's own mean within-class std (the spread a typical
    picture of the class shows)."""
    dist = [float(np.abs(excitation[b] - stats.excitation_mean(b)[k]).mean()) for b in stats.blocks]
    within = [float(stats.excitation_std(b)[k].mean()) for b in stats.blocks]
    return dist, within


def per_class_half_width(per_class: dict[str, float], n: int) -> tuple[int, float]:
    """(pictures per class, the widest 95% normal interval half-width in points) of per-class
    accuracies measured on ``n`` pictures split evenly over the classes."""
    per_class_n = n // max(1, len(per_class))
    return per_class_n, max(100 * 1.96 * (v * (1 - v) / max(1, per_class_n)) ** 0.5 for v in per_class.values())

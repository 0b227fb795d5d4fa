"""Accuracy of a classifier on a labelled picture source: overall, per class, confusion matrix."""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from .data import LabelledPictures


@torch.inference_mode()
def evaluate(
    net: nn.Module,
    preprocess: Callable,
    source: LabelledPictures,
    device: torch.device | str = "cpu",
    *,
    batch_size: int = 250,
    limit: int | None = None,
    progress: bool = False,
) -> dict:
    """Top-1 accuracy through the model's own preprocessing, in fp32, in eval mode.

    Returns ``top1``, ``n``, ``correct``, ``per_class`` ({class: accuracy}), ``confusion``
    (rows: true class, columns: predicted class) and ``outcomes`` (``pack_outcomes``).
    """
    n = len(source) if limit is None else min(limit, len(source))
    k = len(source.class_names)
    confusion = np.zeros((k, k), dtype=np.int64)
    hits = np.zeros(n, dtype=bool)
    for start in tqdm(range(0, n, batch_size), disable=not progress, desc="evaluate"):
        items = [source[i] for i in range(start, min(n, start + batch_size))]
        x = torch.stack([preprocess(img) for img, _ in items]).to(device)
        pred = net(x).argmax(1).cpu().numpy()
        for j, ((_, y), p) in enumerate(zip(items, pred)):
            confusion[y, p] += 1
            hits[start + j] = p == y
    correct = int(np.trace(confusion))
    per_class = {name: float(confusion[i, i] / max(1, confusion[i].sum())) for i, name in enumerate(source.class_names)}
    return {"top1": correct / max(1, n), "n": n, "correct": correct, "per_class": per_class, "confusion": confusion.tolist(),
            "outcomes": pack_outcomes(hits)}


def pack_outcomes(hits: np.ndarray) -> str:
    """Which pictures were classified correctly, in the source's order, as base64 of packed bits
    (1,668 characters for 10,000 pictures): what pairs two models' results picture by picture."""
    return base64.b64encode(np.packbits(hits.astype(bool)).tobytes()).decode("ascii")


def unpack_outcomes(packed: str, n: int) -> np.ndarray:
    return np.unpackbits(np.frombuffer(base64.b64decode(packed), dtype=np.uint8))[:n].astype(bool)


@dataclass(frozen=True)
class PairedDifference:
    """Accuracy of model A minus model B on the same n pictures, with McNemar's discordant counts:
    ``a_only`` pictures only A classifies correctly, ``b_only`` only B. The 95% interval is the
    Wald interval of the paired difference, sqrt(((a_only + b_only) / n - d^2) / n) wide on each
    side times 1.96: pictures both get right or both get wrong do not add to it, which makes it
    much narrower than the interval for two independent samples."""

    n: int
    a_only: int
    b_only: int

    @property
    def difference(self) -> float:
        return (self.a_only - self.b_only) / self.n

    @property
    def interval(self) -> tuple[float, float]:
        d = self.difference
        half = Z95 * math.sqrt(max((self.a_only + self.b_only) / self.n - d * d, 0.0) / self.n)
        return d - half, d + half


Z95 = 1.959964


def paired_difference(a: np.ndarray, b: np.ndarray) -> PairedDifference:
    """``a``, ``b``: per-picture correctness of two models on the same pictures, in the same order."""
    if a.shape != b.shape:
        raise ValueError("the two results are not on the same pictures")
    return PairedDifference(len(a), int((a & ~b).sum()), int((~a & b).sum()))

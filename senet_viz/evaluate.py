"""Accuracy of a classifier on a labelled picture source: overall, per class, confusion matrix."""

from __future__ import annotations

from collections.abc import Callable

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

    Returns ``top1``, ``n``, ``correct``, ``per_class`` ({class: accuracy}) and ``confusion``
    (rows: true class, columns: predicted class).
    """
    n = len(source) if limit is None else min(limit, len(source))
    k = len(source.class_names)
    confusion = np.zeros((k, k), dtype=np.int64)
    for start in tqdm(range(0, n, batch_size), disable=not progress, desc="evaluate"):
        items = [source[i] for i in range(start, min(n, start + batch_size))]
        x = torch.stack([preprocess(img) for img, _ in items]).to(device)
        pred = net(x).argmax(1).cpu().numpy()
        for (_, y), p in zip(items, pred):
            confusion[y, p] += 1
    correct = int(np.trace(confusion))
    per_class = {name: float(confusion[i, i] / max(1, confusion[i].sum())) for i, name in enumerate(source.class_names)}
    return {"top1": correct / max(1, n), "n": n, "correct": correct, "per_class": per_class, "confusion": confusion.tolist()}

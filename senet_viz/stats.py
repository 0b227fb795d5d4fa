"""Per-class excitation statistics by block: streaming, mergeable, on the model's device.

For each block, class and channel the accumulator keeps the count and the float64 sums of
s, s^2, z and z^2; and per block and class a fixed-bin histogram of s over all channels
(50 bins on [0, 1]; values of other gates outside [0, 1] fall into the end bins); and per
block and hidden unit of Eq. 3 the number of pictures on which delta(W1 z + b1) > 0 and the sums
of that activation and its square, for the SE health (``senet_viz.health``). Memory
does not grow with the number of pictures, and ``merge`` is addition, so shards computed
apart (other processes, other machines) combine into exactly the one-pass result.

Derived, per block:
- class-specificity: the variance between the class-mean excitation vectors divided by the
  mean variance within the classes, both averaged over channels (a Fisher ratio; 0 when
  every class has the same mean excitation, large when the classes are far apart relative
  to their own spread);
- saturation: the share of s above 0.9 and the share below 0.1, over all pictures and channels;
- the class-similarity matrix: the Pearson correlation between class-mean excitation vectors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .errors import DataError
from .npzio import save_npz

BINS = 50
HIGH, LOW = 0.9, 0.1


class Accumulator:
    """Running sums on ``device``; ``add`` never synchronises with the host."""

    def __init__(self, channels: dict[str, int], num_classes: int, device: torch.device | str = "cpu", bins: int = BINS,
                 hidden: dict[str, int] | None = None):
        self.channels, self.k, self.bins, self.device = dict(channels), num_classes, bins, torch.device(device)

        def zeros(*shape):
            return torch.zeros(shape, dtype=torch.float64, device=self.device)

        self.count = zeros(num_classes)
        self.s_sum = {b: zeros(num_classes, c) for b, c in channels.items()}
        self.s_sq = {b: zeros(num_classes, c) for b, c in channels.items()}
        self.z_sum = {b: zeros(num_classes, c) for b, c in channels.items()}
        self.z_sq = {b: zeros(num_classes, c) for b, c in channels.items()}
        self.hist = {b: zeros(num_classes * bins) for b in channels}
        self.hidden = dict(hidden or {})
        self.h_pos = {b: zeros(w) for b, w in self.hidden.items()}
        self.h_sum = {b: zeros(w) for b, w in self.hidden.items()}
        self.h_sq = {b: zeros(w) for b, w in self.hidden.items()}

    def add_hidden(self, activations: dict[str, torch.Tensor]) -> None:
        """Add the hidden activations delta(W1 z + b1) of a batch, (N, C/r) per block."""
        for b, h in activations.items():
            h = h.to(self.device).double()
            self.h_pos[b] += (h > 0).sum(0)
            self.h_sum[b] += h.sum(0)
            self.h_sq[b] += (h * h).sum(0)

    def add(self, labels: torch.Tensor, squeeze: dict[str, torch.Tensor], excitation: dict[str, torch.Tensor]) -> None:
        """Add a batch: labels (N,), z and s per block as (N, C) tensors on the device."""
        labels = labels.to(self.device, non_blocking=True)
        self.count.index_add_(0, labels, torch.ones_like(labels, dtype=torch.float64))
        for b in self.channels:
            s = excitation[b].to(self.device).double()  # a chunk may have run on the CPU after an OOM
            z = squeeze[b].to(self.device).double()
            self.s_sum[b].index_add_(0, labels, s)
            self.s_sq[b].index_add_(0, labels, s * s)
            self.z_sum[b].index_add_(0, labels, z)
            self.z_sq[b].index_add_(0, labels, z * z)
            bin_index = (s * self.bins).floor().clamp_(0, self.bins - 1).long()
            flat = (labels[:, None] * self.bins + bin_index).reshape(-1)
            self.hist[b].index_add_(0, flat, torch.ones_like(flat, dtype=torch.float64))

    def all_reduce(self) -> None:
        """Sum every running total over a torch.distributed process group (in place)."""
        import torch.distributed as dist

        for t in self._tensors():
            dist.all_reduce(t)

    def _tensors(self) -> list[torch.Tensor]:
        out = [self.count]
        for b in self.channels:
            out += [self.s_sum[b], self.s_sq[b], self.z_sum[b], self.z_sq[b], self.hist[b]]
        for b in self.hidden:
            out += [self.h_pos[b], self.h_sum[b], self.h_sq[b]]
        return out

    def result(self, class_names: list[str], meta: dict | None = None) -> ExcitationStats:
        def host(d):
            return {b: v.cpu().numpy() for b, v in d.items()}

        return ExcitationStats(
            class_names=list(class_names),
            blocks=list(self.channels),
            count=self.count.cpu().numpy().round().astype(np.int64),
            s_sum=host(self.s_sum),
            s_sq=host(self.s_sq),
            z_sum=host(self.z_sum),
            z_sq=host(self.z_sq),
            hist={b: v.cpu().numpy().reshape(self.k, self.bins).round().astype(np.int64) for b, v in self.hist.items()},
            meta=dict(meta or {}),
            h_pos=host(self.h_pos),
            h_sum=host(self.h_sum),
            h_sq=host(self.h_sq),
        )


def _mean_std(total: np.ndarray, sq: np.ndarray, n: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.maximum(n, 1)[:, None].astype(np.float64)
    mean = total / n
    return mean, np.sqrt(np.maximum(sq / n - mean * mean, 0.0))


@dataclass
class ExcitationStats:
    """Sums per block (K classes x C channels) and the figures derived from them."""

    class_names: list[str]
    blocks: list[str]
    count: np.ndarray  # pictures per class, (K,)
    s_sum: dict[str, np.ndarray]
    s_sq: dict[str, np.ndarray]
    z_sum: dict[str, np.ndarray]
    z_sq: dict[str, np.ndarray]
    hist: dict[str, np.ndarray]  # (K, bins) counts of s over all channels
    meta: dict = field(default_factory=dict)
    # per block, (C/r,): pictures with delta(W1 z + b1) > 0, and the sums of it and its square;
    # empty for statistics made before these were kept
    h_pos: dict[str, np.ndarray] = field(default_factory=dict)
    h_sum: dict[str, np.ndarray] = field(default_factory=dict)
    h_sq: dict[str, np.ndarray] = field(default_factory=dict)

    @property
    def bins(self) -> int:
        return next(iter(self.hist.values())).shape[1]

    @property
    def total(self) -> int:
        return int(self.count.sum())

    def excitation_mean(self, block: str) -> np.ndarray:
        return _mean_std(self.s_sum[block], self.s_sq[block], self.count)[0]

    def excitation_std(self, block: str) -> np.ndarray:
        return _mean_std(self.s_sum[block], self.s_sq[block], self.count)[1]

    def squeeze_mean(self, block: str) -> np.ndarray:
        return _mean_std(self.z_sum[block], self.z_sq[block], self.count)[0]

    def squeeze_std(self, block: str) -> np.ndarray:
        return _mean_std(self.z_sum[block], self.z_sq[block], self.count)[1]

    def overall_mean(self, block: str) -> np.ndarray:
        """The all-classes mean excitation per channel (every picture weighs the same)."""
        return self.s_sum[block].sum(0) / max(1, self.total)

    def overall_std(self, block: str) -> np.ndarray:
        n = max(1, self.total)
        mean = self.overall_mean(block)
        return np.sqrt(np.maximum(self.s_sq[block].sum(0) / n - mean * mean, 0.0))

    def specificity(self, block: str) -> float:
        present = self.count > 0
        means = self.excitation_mean(block)[present]
        within = (self.excitation_std(block)[present] ** 2).mean(0)
        if means.shape[0] < 2:
            return 0.0
        between = means.var(axis=0)
        return float(between.mean() / max(within.mean(), 1e-12))

    def spreads(self, block: str) -> tuple[float, float]:
        """(std of the class means, mean std within a class), averaged over channels, in units of s.

        The specificity ratio reads these two against each other; they say whether there is
        any spread at all (a block whose s hardly moves has both near 0)."""
        present = self.count > 0
        means = self.excitation_mean(block)[present]
        return float(means.std(axis=0).mean()), float(self.excitation_std(block)[present].mean())

    def saturation(self, block: str) -> tuple[float, float]:
        """(share of s above 0.9, share below 0.1) over all classes, pictures and channels."""
        h = self.hist[block].sum(0)
        total = max(1, h.sum())
        hi, lo = int(round(HIGH * self.bins)), int(round(LOW * self.bins))
        return float(h[hi:].sum() / total), float(h[:lo].sum() / total)

    def health(self) -> list:
        """Per block, the SE health over every picture (``senet_viz.health.BlockHealth``);
        [] when these statistics hold no hidden-unit sums."""
        from .health import LIVE_SHARE, LIVE_STD, BlockHealth

        if set(self.h_pos) != set(self.blocks):
            return []
        n = max(1, self.total)
        out = []
        for b in self.blocks:
            mean = self.h_sum[b] / n
            std = np.sqrt(np.maximum(self.h_sq[b] / n - mean * mean, 0.0))
            live = int(np.sum((self.h_pos[b] / n >= LIVE_SHARE) & (std >= LIVE_STD)))
            out.append(BlockHealth(b, len(mean), live, float(self.overall_std(b).mean()), float(self.overall_mean(b).mean()), self.total))
        return out

    def similarity(self, block: str) -> np.ndarray:
        """Pearson correlation between the class-mean excitation vectors, (K, K)."""
        means = self.excitation_mean(block)
        if means.shape[1] < 2:
            return np.ones((means.shape[0], means.shape[0]))
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.atleast_2d(np.nan_to_num(np.corrcoef(means), nan=0.0))

    def merge(self, other: ExcitationStats) -> ExcitationStats:
        if other.class_names != self.class_names or other.blocks != self.blocks or other.bins != self.bins:
            raise DataError("statistics of different classes or blocks cannot be merged")

        def add(a, b):
            return {k: a[k] + b[k] for k in a if k in b}

        return ExcitationStats(
            self.class_names, self.blocks, self.count + other.count, add(self.s_sum, other.s_sum),
            add(self.s_sq, other.s_sq), add(self.z_sum, other.z_sum), add(self.z_sq, other.z_sq),
            add(self.hist, other.hist), {**self.meta, "merged": True},
            add(self.h_pos, other.h_pos), add(self.h_sum, other.h_sum), add(self.h_sq, other.h_sq),
        )

    def summary(self) -> list[dict]:
        """Per block: specificity and saturation, the figures of the closing table."""
        rows = []
        health = {h.name: h for h in self.health()}
        for b in self.blocks:
            hi, lo = self.saturation(b)
            between, within = self.spreads(b)
            rows.append({"block": b, "specificity": self.specificity(b), "saturated_high": hi, "saturated_low": lo,
                         "mean_s": float(self.overall_mean(b).mean()), "between_std": between, "within_std": within,
                         "s_std": float(self.overall_std(b).mean()),
                         "live_hidden": health[b].live if b in health else None,
                         "hidden": health[b].hidden if b in health else None})
        return rows

    def save(self, path: str | Path) -> Path:
        arrays: dict[str, np.ndarray] = {
            "class_names": np.array(self.class_names),
            "blocks": np.array(self.blocks),
            "count": self.count,
            "meta": np.array(__import__("json").dumps(self.meta)),
        }
        rows = self.summary()
        for key, column in (("specificity", "specificity"), ("saturation_high", "saturated_high"),
                            ("saturation_low", "saturated_low"), ("between_class_std", "between_std"),
                            ("within_class_std", "within_std")):
            arrays[key] = np.array([r[column] for r in rows])
        for b in self.blocks:
            arrays[f"excitation_mean/{b}"] = self.excitation_mean(b)
            arrays[f"excitation_std/{b}"] = self.excitation_std(b)
            arrays[f"squeeze_mean/{b}"] = self.squeeze_mean(b)
            arrays[f"squeeze_std/{b}"] = self.squeeze_std(b)
            arrays[f"excitation_hist/{b}"] = self.hist[b]
            arrays[f"similarity/{b}"] = self.similarity(b)
            for name, d in (("s_sum", self.s_sum), ("s_sq", self.s_sq), ("z_sum", self.z_sum), ("z_sq", self.z_sq),
                            ("h_pos", self.h_pos), ("h_sum", self.h_sum), ("h_sq", self.h_sq)):
                if b in d:
                    arrays[f"sums/{name}/{b}"] = d[b]
        return save_npz(path, arrays)


def load_stats(path: str | Path) -> ExcitationStats:
    """Read a statistics file written by ``ExcitationStats.save`` (``python -m senet_viz stats``)."""
    import json
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as f:
            blocks = [str(b) for b in f["blocks"]]

            def per_block(prefix):
                return {b: f[f"{prefix}/{b}"] for b in blocks}

            def optional(prefix):
                return {b: f[f"{prefix}/{b}"] for b in blocks if f"{prefix}/{b}" in f.files}

            return ExcitationStats(
                class_names=[str(c) for c in f["class_names"]],
                blocks=blocks,
                count=f["count"],
                s_sum=per_block("sums/s_sum"),
                s_sq=per_block("sums/s_sq"),
                z_sum=per_block("sums/z_sum"),
                z_sq=per_block("sums/z_sq"),
                hist=per_block("excitation_hist"),
                meta=json.loads(str(f["meta"])) if "meta" in f else {},
                h_pos=optional("sums/h_pos"),
                h_sum=optional("sums/h_sum"),
                h_sq=optional("sums/h_sq"),
            )
    except FileNotFoundError:
        raise DataError(f"{path}: no such statistics file") from None
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a statistics file of this tool ({type(exc).__name__})") from None

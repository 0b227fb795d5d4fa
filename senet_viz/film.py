"""A training run as a film of its excitations: per-class statistics of z and s on one fixed
probe of test pictures after every epoch, from the first epoch to the finished weights.

A frame is an ``ExcitationStats`` kept compactly: per block the class means and spreads of s
and z (float16; s lies in [0, 1], where float16 is exact to 5e-4), the histograms of s and the
hidden-unit counts (integers), and the hidden units' mean and spread (float16). Sums are made
back from them, so every figure of ``ExcitationStats`` works on a frame. Each frame says where
its weights came from: ``replayed`` (the run replayed from its definition), ``checkpoint``
(the run's own checkpoint), ``training`` (recorded while the run trained) or ``final`` (the
finished weights, averaged where the run averaged them).

A film is tied to the SHA-256 of the finished weights file, as statistics and ablations are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .errors import DataError
from .i18n import _
from .npzio import save_npz
from .stats import ExcitationStats

#: Test pictures per class in a film's probe, by default.
FILM_PROBE = 50
SOURCES = ("replayed", "checkpoint", "training", "final")


def probe_indices(labels: np.ndarray, per_class: int) -> np.ndarray:
    """The first ``per_class`` pictures of each class, in the source's order (the probe of a film)."""
    picked = [np.flatnonzero(labels == k)[:per_class] for k in np.unique(labels)]
    return np.sort(np.concatenate(picked)) if picked else np.zeros(0, dtype=np.int64)


@torch.no_grad()
def frame_stats(net: torch.nn.Module, x_norm: torch.Tensor, y: torch.Tensor, class_names: list[str],
                batch_size: int = 250) -> ExcitationStats:
    """Statistics of ``net`` (in eval mode, fp32, as the app uses it) on the normalised probe
    pictures; hooks live for this call only and the training mode is restored. Draws no random
    numbers and moves no BatchNorm statistics, so a run recording its film trains as without."""
    from .capture import lent
    from .collect import batch_stats

    with lent(net, tuple(x_norm.shape[1:]), x_norm.device, "film", class_names) as model:
        batches = [(x_norm[i:i + batch_size], y[i:i + batch_size]) for i in range(0, len(y), batch_size)]
        return batch_stats(model, batches, list(class_names))


def _pack(stats: ExcitationStats) -> dict[str, np.ndarray]:
    out = {"count": stats.count.astype(np.int32)}
    n = max(1, stats.total)
    for b in stats.blocks:
        out[f"s_mean/{b}"] = stats.excitation_mean(b).astype(np.float16)
        out[f"s_std/{b}"] = stats.excitation_std(b).astype(np.float16)
        out[f"z_mean/{b}"] = stats.squeeze_mean(b).astype(np.float16)
        out[f"z_std/{b}"] = stats.squeeze_std(b).astype(np.float16)
        # a bin counts at most pictures x channels of a class: uint16 while that fits
        fits = int(stats.count.max(initial=0)) * stats.excitation_mean(b).shape[1] < 2**16
        out[f"hist/{b}"] = stats.hist[b].astype(np.uint16 if fits else np.int64)
        if b in stats.h_pos:
            mean = stats.h_sum[b] / n
            out[f"h_pos/{b}"] = stats.h_pos[b].round().astype(np.int32)
            out[f"h_mean/{b}"] = mean.astype(np.float16)
            out[f"h_std/{b}"] = np.sqrt(np.maximum(stats.h_sq[b] / n - mean * mean, 0.0)).astype(np.float16)
    return out


def _unpack(arrays: dict[str, np.ndarray], class_names: list[str], blocks: list[str], meta: dict) -> ExcitationStats:
    count = arrays["count"].astype(np.int64)
    n_k = count.astype(np.float64)[:, None]
    n = float(max(1, count.sum()))

    def sums(prefix):
        mean = {b: arrays[f"{prefix}_mean/{b}"].astype(np.float64) for b in blocks}
        std = {b: arrays[f"{prefix}_std/{b}"].astype(np.float64) for b in blocks}
        return {b: mean[b] * n_k for b in blocks}, {b: (std[b] ** 2 + mean[b] ** 2) * n_k for b in blocks}

    s_sum, s_sq = sums("s")
    z_sum, z_sq = sums("z")
    hidden = [b for b in blocks if f"h_pos/{b}" in arrays]
    h_mean = {b: arrays[f"h_mean/{b}"].astype(np.float64) for b in hidden}
    h_std = {b: arrays[f"h_std/{b}"].astype(np.float64) for b in hidden}
    return ExcitationStats(
        class_names=list(class_names), blocks=list(blocks), count=count, s_sum=s_sum, s_sq=s_sq, z_sum=z_sum, z_sq=z_sq,
        hist={b: arrays[f"hist/{b}"].astype(np.int64) for b in blocks}, meta=dict(meta),
        h_pos={b: arrays[f"h_pos/{b}"].astype(np.float64) for b in hidden},
        h_sum={b: h_mean[b] * n for b in hidden},
        h_sq={b: (h_std[b] ** 2 + h_mean[b] ** 2) * n for b in hidden},
    )


@dataclass
class Film:
    """Frames by epoch of one run; ``stats(epoch)`` is a frame as ``ExcitationStats``."""

    model: str
    class_names: list[str]
    blocks: list[str]
    probe: dict  # what the probe is: source, its checksum, pictures per class, indices
    frames: dict[int, dict[str, np.ndarray]] = field(default_factory=dict)
    sources: dict[int, str] = field(default_factory=dict)  # epoch -> one of SOURCES
    losses: dict[int, float] = field(default_factory=dict)  # epoch -> training loss of that epoch, where known
    weights_sha256: str | None = None
    replay: dict = field(default_factory=dict)

    @property
    def epochs(self) -> list[int]:
        return sorted(self.frames)

    @property
    def final_epoch(self) -> int | None:
        finals = [e for e, s in self.sources.items() if s == "final"]
        return finals[0] if finals else None

    def add(self, epoch: int, stats: ExcitationStats, source: str, loss: float | None = None) -> None:
        if source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, not {source!r}")
        if stats.blocks != self.blocks or stats.class_names != self.class_names:
            raise DataError("a frame of other blocks or classes than the film's")
        self.frames[int(epoch)], self.sources[int(epoch)] = _pack(stats), source
        if loss is not None:
            self.losses[int(epoch)] = float(loss)

    def stats(self, epoch: int) -> ExcitationStats:
        if epoch not in self.frames:
            raise DataError(f"the film of {self.model} has no frame at epoch {epoch} (it has {_ranges(self.epochs)})")
        meta = {"model": self.model, "epoch": epoch, "source": self.sources[epoch], "probe": self.probe,
                "weights_sha256": self.weights_sha256 if self.sources[epoch] == "final" else None}
        return _unpack(self.frames[epoch], self.class_names, self.blocks, meta)

    def save(self, path: str | Path) -> Path:
        """One array per kind of number, stacked over the epochs (a zip entry per frame and block
        would cost more than the numbers)."""
        epochs = self.epochs
        arrays = {"epochs": np.array(epochs, dtype=np.int32), "meta": np.array(json.dumps({
            "model": self.model, "class_names": self.class_names, "blocks": self.blocks, "probe": self.probe,
            "sources": {str(e): s for e, s in self.sources.items()}, "losses": {str(e): v for e, v in self.losses.items()},
            "weights_sha256": self.weights_sha256, "replay": self.replay}))}
        for key in (self.frames[epochs[0]] if epochs else {}):
            arrays[key] = np.stack([self.frames[e][key] for e in epochs])
        return save_npz(path, arrays)


def load_film(path: str | Path) -> Film:
    import zipfile

    try:
        with np.load(path, allow_pickle=False) as f:
            meta = json.loads(str(f["meta"]))
            if "epochs" in f.files:
                epochs = [int(e) for e in f["epochs"]]
                stacked = {key: f[key] for key in f.files if key not in ("meta", "epochs")}
                frames = {e: {key: values[i] for key, values in stacked.items()} for i, e in enumerate(epochs)}
            else:  # the first layout, a zip entry per frame and key ("EPOCH/KEY")
                frames = {}
                for key in f.files:
                    if key != "meta":
                        epoch, rest = key.split("/", 1)
                        frames.setdefault(int(epoch), {})[rest] = f[key]
    except FileNotFoundError:
        raise DataError(f"{path}: no such film") from None
    except (KeyError, ValueError, OSError, zipfile.BadZipFile) as exc:
        raise DataError(f"{path}: not a film of this tool ({type(exc).__name__})") from None
    return Film(meta["model"], meta["class_names"], meta["blocks"], meta["probe"], frames,
                {int(e): s for e, s in meta["sources"].items()}, {int(e): v for e, v in meta["losses"].items()},
                meta.get("weights_sha256"), meta.get("replay", {}))


def _ranges(epochs: list[int]) -> str:
    """[1, 2, 3, 7, 9, 10] -> '1-3, 7, 9-10'."""
    parts, start = [], None
    for i, e in enumerate(epochs):
        if start is None:
            start = e
        if i + 1 == len(epochs) or epochs[i + 1] != e + 1:
            parts.append(f"{start}" if start == e else f"{start}-{e}")
            start = None
    return ", ".join(parts) or "none"


class FilmRecorder:
    """Records a film while a run trains: the probe is fixed at the start, a frame is added after
    every epoch, and the film so far is written beside the checkpoint (``path``) so that a resumed
    run goes on with it."""

    def __init__(self, path: Path, model: str, x_norm: torch.Tensor, y: torch.Tensor, class_names: list[str],
                 probe: dict, source: str = "training") -> None:
        self.path, self.x, self.y, self.source = path, x_norm, y, source
        self.film: Film | None = load_film(path) if path.is_file() else None
        self.model, self.class_names, self.probe = model, list(class_names), probe

    def record(self, net: torch.nn.Module, epoch: int, loss: float | None, source: str | None = None) -> None:
        stats = frame_stats(net, self.x, self.y, self.class_names)
        if self.film is None or self.film.probe != self.probe:
            self.film = Film(self.model, self.class_names, stats.blocks, self.probe)
        loss = self.film.losses.get(epoch) if loss is None else loss
        # a resumed run starts again after its checkpoint, so frames from there on are stale
        for e in [e for e in self.film.frames if e >= epoch]:
            self.film.frames.pop(e), self.film.sources.pop(e, None), self.film.losses.pop(e, None)
        self.film.add(epoch, stats, source or self.source, loss)
        self.film.save(self.path)

    def finish(self, net: torch.nn.Module, epoch: int, weights_sha256: str) -> Film:
        """The finished weights as the last frame (in place of the last epoch's training weights),
        and the film tied to their hash."""
        self.record(net, epoch, None, "final")
        self.film.weights_sha256 = weights_sha256
        self.film.save(self.path)
        return self.film


def stage_specificity_over_epochs(film: Film) -> dict[int, np.ndarray]:
    """Per stage, the mean class-specificity of its blocks at every epoch of the film (``epochs`` order)."""
    from .narrative import stage_specificity

    rows = [stage_specificity(film.stats(e)) for e in film.epochs]
    return {s: np.array([r[s] for r in rows]) for s in rows[0]} if rows else {}


def first_crossing(epochs: list[int], values: np.ndarray, level: float = 1.0) -> int | None:
    """The first epoch at which ``values`` exceed ``level``; None if they never do."""
    above = np.flatnonzero(np.asarray(values) > level)
    return epochs[int(above[0])] if above.size else None


def film_sentence(film: Film) -> str:
    """What the film shows, computed from it: which stage became class-specific and when, and
    whether the early stage stayed shared."""
    spec = stage_specificity_over_epochs(film)
    if len(spec) < 2:
        return ""
    epochs, stages = film.epochs, sorted(spec)
    first, last = stages[0], stages[-1]
    end = spec[last][-1]
    trail = ", ".join(_("stage {stage} {start:.2f} → {end:.2f}", stage=s, start=spec[s][0], end=spec[s][-1]) for s in stages)
    crossed = first_crossing(epochs, spec[last])
    numbers = dict(first_epoch=epochs[0], last_epoch=epochs[-1], trail=trail, stage=last, crossed=crossed)
    if crossed is not None:
        after = spec[last][epochs.index(crossed):]
        text = _("Over training (epoch {first_epoch} to {last_epoch}, class-specificity {trail}), stage {stage} became "
                 "class-specific: its ratio first exceeded 1 at epoch {crossed} and was above 1 in {above} of the {frames} "
                 "frames from there", above=int((after > 1).sum()), frames=len(after), **numbers)
    elif end > spec[last][0]:
        text = _("Over training (epoch {first_epoch} to {last_epoch}, class-specificity {trail}), stage {stage} rose but "
                 "does not stay above 1", **numbers)
    else:
        text = _("Over training (epoch {first_epoch} to {last_epoch}, class-specificity {trail}), stage {stage} did not "
                 "rise and does not stay above 1", **numbers)
    early_max = float(spec[first].max())
    if early_max < 1:
        return text + _(", while stage {stage} stayed shared (at most {value:.2f}).", stage=first, value=early_max)
    return text + _("; stage {stage} reached {value:.2f} too.", stage=first, value=early_max)


def film_csv(film: Film) -> bytes:
    """The film's numbers: per epoch, where its weights came from, the training loss, and the
    class-specificity of every stage and block."""
    import csv
    import io

    from .narrative import stage_specificity

    out = io.StringIO()
    rows = csv.writer(out)
    stages = None
    for e in film.epochs:
        stats = film.stats(e)
        by_stage = stage_specificity(stats)
        if stages is None:
            stages = list(by_stage)
            rows.writerow(["epoch", "weights", "training_loss", *(f"specificity_stage_{s}" for s in stages),
                           *(f"specificity_{b}" for b in film.blocks)])
        loss = film.losses.get(e)
        rows.writerow([e, film.sources[e], "" if loss is None else f"{loss:.5f}", *(f"{by_stage[s]:.4f}" for s in stages),
                       *(f"{stats.specificity(b):.4f}" for b in film.blocks)])
    return out.getvalue().encode()


def provenance(film: Film) -> str:
    """Where the frames come from, in one sentence, from the film's own record."""
    by_source: dict[str, list[int]] = {}
    for e in film.epochs:
        by_source.setdefault(film.sources[e], []).append(e)
    parts = []
    if "replayed" in by_source:
        gap = film.replay.get("max_loss_gap")
        epochs = _ranges(by_source["replayed"])
        if gap is None:
            parts.append(_("epochs {epochs} replayed from the run's recorded definition", epochs=epochs))
        elif gap < 5e-6:
            parts.append(_("epochs {epochs} replayed from the run's recorded definition (training loss equal to the run's "
                           "history at every epoch, to the 5 decimals it records)", epochs=epochs))
        else:
            parts.append(_("epochs {epochs} replayed from the run's recorded definition (training loss within {gap:.1e} of "
                           "the run's history at every epoch)", epochs=epochs, gap=gap))
    if "training" in by_source:
        parts.append(_("epochs {epochs} recorded while the run trained", epochs=_ranges(by_source["training"])))
    if "checkpoint" in by_source:
        parts.append(_("epochs {epochs} from the run's own checkpoints", epochs=_ranges(by_source["checkpoint"])))
    if "final" in by_source:
        parts.append(_("epoch {epoch} the finished weights (averaged where the run averaged)", epoch=by_source["final"][0]))
    probe = film.probe
    return _("Frames: {parts}. Every frame is measured on the same {pictures} test pictures ({which}).",
             parts="; ".join(parts), pictures=probe.get("pictures", "?"), which=_probe_words(probe))


def _probe_words(probe: dict) -> str:
    """Which pictures the probe holds, in words (the film records the count per class)."""
    if "per_class" in probe:
        return _("the first {n} pictures of each class, in the source's order", n=probe["per_class"])
    return str(probe.get("which", ""))

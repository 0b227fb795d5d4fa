"""A training run's definition, where each segment of it ran, and its checkpoint: what a run must
match to be resumed, and the resumable state in one file."""

from __future__ import annotations

import json
import os
from pathlib import Path

import torch
from torch import nn

from .data import LabelledPictures, sha256_file
from .errors import SenetVizError
from .machine import KERNEL_FLAGS, cpu_flags, cpu_name


class CheckpointMismatch(SenetVizError):
    """A checkpoint that belongs to another run definition than the command's."""


def run_definition(model_name: str, source: LabelledPictures, *, epochs: int, batch_size: int, lr: float,
                   weight_decay: float, decay_on: str, se_weight_decay: float, label_smoothing: float, seed: int,
                   init: str | Path | None, swa_epochs: int, swa_lr: float) -> dict:
    """What defines a run, and so must be the same for a checkpoint to be resumed: the model, the
    data, the schedule, averaging and seed. Where it runs (device, threads, precision) may change
    from one segment to the next."""
    return {"model": model_name, "train_data": source.checksum, "epochs": epochs, "swa_epochs": swa_epochs,
            "swa_lr": swa_lr, "lr": lr, "batch_size": batch_size, "weight_decay": weight_decay, "decay_on": decay_on,
            "se_weight_decay": se_weight_decay, "label_smoothing": label_smoothing, "seed": seed,
            "init": sha256_file(Path(init)) if init is not None else None}


def machine_record(dev: torch.device, bf16: bool) -> dict:
    """Where a segment of a run ran: processor (with the flags that choose its kernels), threads,
    precision and torch version."""
    if dev.type == "cuda":
        name, flags = torch.cuda.get_device_name(dev), []
    else:
        name, flags = cpu_name(), sorted(cpu_flags() & KERNEL_FLAGS)
    return {"device": dev.type, "processor": name, "flags": flags, "threads": torch.get_num_threads(),
            "precision": "bf16 autocast" if bf16 else "fp32", "torch": torch.__version__}


class Checkpoint:
    """The resumable state of a run in one file: weights, optimizer, schedule position, the averaged
    weights, the random generator, the history and the segments (one per start of the command).
    Written atomically after every epoch; removed when the run has finished."""

    def __init__(self, path: Path, definition: dict) -> None:
        self.path, self.definition = path, definition

    def load(self, net: nn.Module, opt: torch.optim.Optimizer, sched, swa, gen: torch.Generator, dev: torch.device) -> dict | None:
        if not self.path.is_file():
            return None
        ckpt = torch.load(self.path, map_location=dev, weights_only=True)
        stored = json.loads(ckpt.get("definition", "null"))
        if stored is not None and stored != self.definition:
            diff = ", ".join(f"{k} {stored.get(k)!r} there, {v!r} here" for k, v in self.definition.items() if stored.get(k) != v)
            raise CheckpointMismatch(f"{self.path.name} belongs to another run ({diff}); remove it or run the command that made it")
        net.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        if sched is not None:
            sched.load_state_dict(ckpt["scheduler"])
        if swa is not None:
            swa.load_state_dict(ckpt["swa"])
        gen.set_state(ckpt["generator"])
        return {"epoch": ckpt["epoch"], "elapsed": ckpt["elapsed"], "history": json.loads(ckpt["history"]),
                "segments": json.loads(ckpt.get("segments", "[]"))}

    def save(self, net: nn.Module, opt: torch.optim.Optimizer, sched, swa, gen: torch.Generator, progress: dict) -> None:
        state = {
            "model": net.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict() if sched else {},
            "swa": swa.state_dict() if swa else {}, "generator": gen.get_state(), "epoch": progress["epoch"],
            "elapsed": progress["elapsed"], "history": json.dumps(progress["history"]),
            "segments": json.dumps(progress["segments"]), "definition": json.dumps(self.definition),
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp")
        torch.save(state, tmp)
        os.replace(tmp, self.path)

    def remove(self) -> None:
        self.path.unlink(missing_ok=True)

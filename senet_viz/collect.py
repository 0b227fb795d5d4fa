"""Statistics over a labelled picture source: decode in DataLoader workers, forward with
capture, accumulate per-class sums on the device; optionally sharded over processes.

Under ``torchrun`` (WORLD_SIZE > 1) every process takes the pictures i with
i % world_size == rank (DistributedSampler's partition without its padding, which would
count some pictures twice), and the running sums are all-reduced at the end, so the result
equals the single-process one.
"""

from __future__ import annotations

import os
import sys
import time

import torch
from torch.utils.data import DataLoader, Dataset

from .capture import record
from .data import LabelledPictures
from .errors import DataError
from .health import hidden_tensor
from .models.registry import LoadedModel
from .stats import Accumulator, ExcitationStats


class _Preprocessed(Dataset):
    def __init__(self, source: LabelledPictures, preprocess, indices: list[int]) -> None:
        self.source, self.preprocess, self.indices = source, preprocess, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, i: int):
        img, label = self.source[self.indices[i]]
        return self.preprocess(img), label


def distributed_context() -> tuple[int, int]:
    """(rank, world_size), starting the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def compute_stats(
    model: LoadedModel,
    source: LabelledPictures,
    *,
    batch_size: int = 64,
    workers: int = 0,
    autocast: bool | None = None,
    progress: bool = False,
    on_batch=None,
) -> ExcitationStats:
    """Per-class statistics of z and s for every SE block of ``model`` over ``source``.

    ``autocast``: bf16 (default: on CUDA only). ``on_batch(done, total)`` reports progress
    (the app's progress bar); ``progress`` shows a terminal bar.
    """
    # Grouped by the source's classes, which need not be the model's (an ImageNet model on a
    # folder of goldfish, pug, plane and cliff pictures).
    if not source.class_names:
        raise DataError("the picture source has no classes")
    rank, world = distributed_context()
    indices = list(range(rank, len(source), world))
    cuda = model.device.type == "cuda"
    loader = DataLoader(
        _Preprocessed(source, model.preprocess, indices), batch_size=batch_size, num_workers=workers,
        pin_memory=cuda, persistent_workers=False, prefetch_factor=4 if workers else None,
    )
    acc = Accumulator({b.name: b.channels for b in model.blocks}, len(source.class_names), model.device,
                      hidden={b.name: b.hidden for b in model.blocks})
    use_bf16 = cuda if autocast is None else autocast
    start, done, notes = time.perf_counter(), 0, []
    bar = None
    if progress and rank == 0:
        from tqdm import tqdm

        bar = tqdm(total=len(indices), desc="statistics", unit="pic")
    for x, y in loader:
        x = x.to(model.device, non_blocking=True)
        if model.device.type != "cpu" or use_bf16:
            x = x.contiguous(memory_format=torch.channels_last)
        rec, _ = record(model, x, batch_size=x.shape[0], autocast=use_bf16)
        squeeze = rec.per_block("squeeze", model.device)
        acc.add(y, squeeze, rec.per_block("excitation", model.device))
        acc.add_hidden({b.name: hidden_tensor(b, squeeze[b.name]) for b in model.blocks})
        for note in rec.notes:
            notes.append(note)
            print(f"warning: {note}", file=sys.stderr)
        done += len(y)
        if bar is not None:
            bar.update(len(y))
        if on_batch is not None:
            on_batch(done, len(indices))
    if bar is not None:
        bar.close()
    if world > 1:
        acc.all_reduce()
    meta = {
        "model": model.name, "weights": model.weights, "weights_sha256": model.weights_sha256, "source": source.origin, "source_sha256": source.checksum,
        "pictures": len(source), "device": str(model.device), "bf16": use_bf16, "seconds": round(time.perf_counter() - start, 2),
        "processes": world, "notes": notes,
    }
    return acc.result(source.class_names, meta)

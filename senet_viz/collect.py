"""Statistics over a labelled picture source: read and decode in DataLoader workers (JPEGs in
batches, on the GPU where there is one: ``senet_viz.batching``), forward with capture,
accumulate per-class sums on the device; optionally sharded over processes.

Under ``torchrun`` (WORLD_SIZE > 1) every process takes the pictures i with
i % world_size == rank (DistributedSampler's partition without its padding, which would
count some pictures twice), and the running sums are all-reduced at the end, so the result
equals the single-process one.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable

import torch
from torch.utils.data import DataLoader, Dataset

from .batching import Collate, EncodedPictures, InputPlan, model_plan, to_device_batch
from .capture import record
from .data import LabelledPictures
from .errors import DataError
from .health import hidden_tensor
from .machine import cores
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


def _sum_over_processes(n: int, device: torch.device) -> int:
    import torch.distributed as dist

    t = torch.tensor([n], dtype=torch.int64, device=device)
    dist.all_reduce(t)
    return int(t.item())


def distributed_context() -> tuple[int, int]:
    """(rank, world_size), starting the process group when launched by torchrun."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return 0, 1
    import torch.distributed as dist

    if not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return dist.get_rank(), dist.get_world_size()


def default_workers() -> int:
    """Loader processes by default: one per core this process may use, shared among the
    processes torchrun starts on this machine (``LOCAL_WORLD_SIZE``); at least one."""
    return max(1, cores() // max(1, int(os.environ.get("LOCAL_WORLD_SIZE", "1"))))


def _loader(model: LoadedModel, source: LabelledPictures, indices: list[int], batch_size: int, workers: int,
            decode: str) -> tuple[DataLoader, InputPlan | None, bool]:
    """Batched decoding where the model's preprocessing splits (``batching.model_plan``), else
    the picture-by-picture loader. ``decode``: 'auto' (on the GPU when the model is there),
    'device' or 'cpu'."""
    if decode not in ("auto", "device", "cpu"):
        raise ValueError(f"decode must be 'auto', 'device' or 'cpu', not {decode!r}")
    cuda = model.device.type == "cuda"
    plan = model_plan(model)
    options = {"batch_size": batch_size, "num_workers": workers, "pin_memory": cuda, "persistent_workers": False,
               "prefetch_factor": 4 if workers else None}
    if plan is None:
        return DataLoader(_Preprocessed(source, model.preprocess, indices), **options), None, False
    on_device = plan.device_geometry is not None and (decode == "device" or (decode == "auto" and cuda))
    dataset = EncodedPictures(source, indices)
    return DataLoader(dataset, collate_fn=Collate(source, plan, on_device), **options), plan, on_device


def _accumulate(model: LoadedModel, acc: Accumulator, x: torch.Tensor, y: torch.Tensor, bf16: bool) -> list[str]:
    """One batch's z, s and hidden units into ``acc``; the capture's notes (an out-of-memory retry)."""
    if model.device.type != "cpu" or bf16:
        x = x.contiguous(memory_format=torch.channels_last)
    rec, _ = record(model, x, batch_size=x.shape[0], autocast=bf16)
    squeeze = rec.per_block("squeeze", model.device)
    acc.add(y, squeeze, rec.per_block("excitation", model.device))
    acc.add_hidden({b.name: hidden_tensor(b, squeeze[b.name]) for b in model.blocks})
    return rec.notes


def _new_accumulator(model: LoadedModel, classes: int) -> Accumulator:
    return Accumulator({b.name: b.channels for b in model.blocks}, classes, model.device,
                       hidden={b.name: b.hidden for b in model.blocks})


def batch_stats(model: LoadedModel, batches: Iterable, class_names: list[str], *, autocast: bool = False
                ) -> ExcitationStats:
    """Per-class statistics of z and s over ``batches``: (x, y) pairs of preprocessed pictures
    [N, 3, H, W] and integer labels into ``class_names``, as a ``DataLoader`` yields them."""
    if not class_names:
        raise DataError("no class names for the labels")
    acc, start, total, notes = _new_accumulator(model, len(class_names)), time.perf_counter(), 0, []
    for batch in batches:
        if not (isinstance(batch, tuple | list) and len(batch) >= 2):
            raise DataError("each batch must be a pair (pictures [N, 3, H, W], labels [N])")
        x, y = torch.as_tensor(batch[0]).to(model.device), torch.as_tensor(batch[1]).long()
        if y.numel() and (int(y.min()) < 0 or int(y.max()) >= len(class_names)):
            raise DataError(f"a label outside 0..{len(class_names) - 1} (the {len(class_names)} class names)")
        notes += _accumulate(model, acc, x, y, autocast)
        total += len(y)
    meta = {"model": model.name, "weights": model.weights, "weights_sha256": model.weights_sha256, "source": "batches",
            "source_sha256": "", "pictures": total, "device": str(model.device), "bf16": autocast,
            "seconds": round(time.perf_counter() - start, 2), "processes": 1, "notes": notes}
    return acc.result(list(class_names), meta)


def compute_stats(
    model: LoadedModel,
    source: LabelledPictures,
    *,
    batch_size: int = 64,
    workers: int | None = None,
    autocast: bool | None = None,
    progress: bool = False,
    on_batch=None,
    decode: str = "auto",
) -> ExcitationStats:
    """Per-class statistics of z and s for every SE block of ``model`` over ``source``.

    ``workers``: loader processes (default: one per core; 0 reads in this process).
    ``autocast``: bf16 (default: on CUDA only). ``on_batch(done, total)`` reports progress
    (the app's progress bar); ``progress`` shows a terminal bar. ``decode``: where JPEGs are
    decoded, see ``_loader``. The meta data say how many pictures were decoded in batches and
    how many went through the one picture loader.
    """
    # Grouped by the source's classes, which need not be the model's (an ImageNet model on a
    # folder of goldfish, pug, plane and cliff pictures).
    if not source.class_names:
        raise DataError("the picture source has no classes")
    rank, world = distributed_context()
    indices = list(range(rank, len(source), world))
    cuda = model.device.type == "cuda"
    workers = default_workers() if workers is None else workers
    loader, plan, on_device = _loader(model, source, indices, batch_size, workers, decode)
    acc = _new_accumulator(model, len(source.class_names))
    use_bf16 = cuda if autocast is None else autocast
    start, done, notes, one_by_one = time.perf_counter(), 0, [], 0
    bar = None
    if progress and rank == 0:
        from tqdm import tqdm

        bar = tqdm(total=len(indices), desc="statistics", unit="pic")
    for batch in loader:
        if plan is None:
            x, y = batch
            x = x.to(model.device, non_blocking=True)
            one_by_one += len(y)
        else:
            x, fell_back = to_device_batch(batch, plan, source, model.device)
            y = batch.labels
            one_by_one += fell_back
        for note in _accumulate(model, acc, x, y, use_bf16):
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
        one_by_one = _sum_over_processes(one_by_one, model.device)
    if plan is not None and one_by_one:
        note = (f"{one_by_one:,} of {len(source):,} pictures went through the one picture loader "
                "(not a plain JPEG, or refused by the batch decoder)")
        notes.append(note)
        if progress and rank == 0:
            print(note, file=sys.stderr)
    meta = {
        "model": model.name, "weights": model.weights, "weights_sha256": model.weights_sha256, "source": source.origin, "source_sha256": source.checksum,
        "pictures": len(source), "device": str(model.device), "bf16": use_bf16, "seconds": round(time.perf_counter() - start, 2),
        "processes": world, "notes": notes,
        "decoding": {"batched_on": None if plan is None else str(model.device) if on_device else "cpu",
                     "one_by_one": one_by_one, "batched": len(source) - one_by_one, "workers": workers},
    }
    return acc.result(source.class_names, meta)

"""Training of the project's CIFAR models: the standard recipe, resumable, on CPU or CUDA.

Recipe: random crop with 4-pixel zero padding and horizontal flip; SGD with Nesterov
momentum 0.9, weight decay 5e-4 on the convolution and classifier weights only (``decay_on``:
``"all"`` puts it on every parameter, the recipe of the models shipped before), a one-cycle
learning-rate schedule, label smoothing 0.1;
optionally stochastic weight averaging after it, or from given weights; bf16 autocast where
the processor computes bf16 natively (CUDA, CPUs with AVX-512 BF16 or AMX; elsewhere fp32, since
emulated bf16 made an AVX2 CPU's step 9 times slower); channels_last; on CUDA the forward and
backward run as CUDA graphs; a fixed seed. The data is decoded once and held on the device, an epoch's random
numbers are drawn at once. After every epoch a health line says, per SE block, how many hidden
units are live and how much s varies over a fixed probe batch (``senet_viz.health``). A
checkpoint is written after every epoch next to the output, so a run that is stopped resumes
where it was with the same command.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from safetensors.torch import save_file
from torch import nn
from tqdm import tqdm

from .checkpoint import Checkpoint, machine_record, run_definition
from .data import LabelledPictures, cache_root, open_source, sha256_file
from .evaluate import evaluate
from .health import BlockHealth, health, health_line
from .machine import cpu_flags
from .models.blocks import adapter_for, discover
from .models.project import CIFAR_MEAN, CIFAR_STD, PROJECT_MODELS, cifar_preprocess
from .models.weights import read_state_dict

#: ``decay_on`` choices: what weight decay applies to.
DECAY_ON = {
    "weights": "convolution and classifier weights (not biases, BatchNorm or the SE layers)",
    "all": "every parameter (biases, BatchNorm and SE layers included)",
}
#: Pictures of the training set the health line is measured on (a fixed, evenly spaced subset).
PROBE_PICTURES = 500


def decoded_arrays(source: LabelledPictures) -> tuple[np.ndarray, np.ndarray]:
    """All pictures as uint8 (N, 32, 32, 3); cached on disk by the source's checksum."""
    cache = cache_root() / "decoded" / f"{source.checksum}.npz" if source.checksum else None
    if cache is not None and cache.is_file():
        with np.load(cache) as f:
            return f["x"], f["y"]
    x, y = source.arrays(size=32)
    if cache is not None:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp.npz")
        np.savez(tmp, x=x, y=y)
        os.replace(tmp, cache)
    return x, y


def normalise(x_uint8: torch.Tensor) -> torch.Tensor:
    """uint8 (N, H, W, 3) -> float (N, 3, H, W), as ToTensor + Normalize do."""
    mean = torch.tensor(CIFAR_MEAN, device=x_uint8.device).view(1, 3, 1, 1)
    std = torch.tensor(CIFAR_STD, device=x_uint8.device).view(1, 3, 1, 1)
    return (x_uint8.permute(0, 3, 1, 2).float().div(255.0) - mean) / std


def epoch_draws(
    n: int, steps: int, batch_size: int, generator: torch.Generator, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """An epoch's random numbers, drawn at once on the CPU (so the sequence does not depend on
    the device) and moved in one copy each: the order of the ``n`` pictures, crop offsets
    (2, steps, batch) in 0..8, and horizontal flips (steps, batch). Drawing per step would put
    host-to-device copies, and so waits for the GPU, into every step."""
    order = torch.randperm(n, generator=generator)
    shifts = torch.randint(0, 9, (2, steps, batch_size), generator=generator)
    flips = torch.rand(steps, batch_size, generator=generator) < 0.5
    return order.to(device), shifts.to(device), flips.to(device)


def augment(x: torch.Tensor, dx: torch.Tensor, dy: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Random 32x32 crop of the 4-pixel zero-padded picture at offsets (``dy``, ``dx``), then a
    horizontal flip where ``flip``; one gather on the pictures' device."""
    n, c, h, w = x.shape
    padded = F.pad(x, (4, 4, 4, 4))
    rows = (dy[:, None] + torch.arange(h, device=x.device))[:, None, :, None]
    cols = torch.arange(w, device=x.device).expand(n, w)
    cols = (dx[:, None] + torch.where(flip[:, None], w - 1 - cols, cols))[:, None, None, :]
    return padded[torch.arange(n, device=x.device)[:, None, None, None], torch.arange(c, device=x.device)[None, :, None, None], rows, cols]


def batch(x_norm: torch.Tensor, idx: torch.Tensor, shifts: torch.Tensor, flips: torch.Tensor, step: int) -> torch.Tensor:
    """The training input of step ``step``: pictures ``idx`` (normalised), augmented, channels_last."""
    return augment(x_norm[idx], shifts[0, step], shifts[1, step], flips[step]).contiguous(memory_format=torch.channels_last)


class Stepper:
    """One SGD step: forward and loss (under bf16 autocast where ``bf16_native``), backward, optimizer step.

    With ``graphs`` (CUDA only) the network's forward and backward run as CUDA graphs
    (``torch.cuda.make_graphed_callables``): a CIFAR ResNet at batch 128 is hundreds of small
    kernels, and replaying them as one graph removes the launch overhead that otherwise bounds
    a step on a large GPU. The arithmetic is the same; the graphed forward is compared with the
    eager one on the first batch, and any failure falls back to eager with one line on stderr.
    """

    def __init__(self, net: nn.Module, opt: torch.optim.Optimizer, label_smoothing: float, device: torch.device) -> None:
        self.net, self.opt, self.label_smoothing, self.device = net, opt, label_smoothing, device
        self.graphed = False
        self.bf16 = bf16_native(device)

    def _autocast(self):
        return torch.autocast(self.device.type, dtype=torch.bfloat16, cache_enabled=False, enabled=self.bf16)

    def use_graphs(self, sample: torch.Tensor) -> bool:
        """Graph the forward and backward for batches shaped like ``sample``; False if that fails."""
        buffers = {k: v.clone() for k, v in self.net.named_buffers()}  # the passes below move BN statistics
        try:
            with self._autocast():
                with torch.no_grad():
                    eager = self.net(sample).float()
                torch.cuda.make_graphed_callables(self.net, (sample,))  # replaces net.forward in place
                with torch.no_grad():
                    replayed = self.net(sample).float()
            err = float((eager - replayed).abs().max() / eager.abs().max().clamp_min(1e-6))
            if not err < 1e-2:
                raise RuntimeError(f"graphed forward differs from the eager one by {err:.2e}")
            self.graphed = True
        except Exception as exc:  # noqa: BLE001 - any failure here only costs speed
            print(f"CUDA graphs not used ({type(exc).__name__}: {exc}); training eagerly", file=sys.stderr, flush=True)
            self.net.__dict__.pop("forward", None)
        with torch.no_grad():
            for k, v in self.net.named_buffers():
                v.copy_(buffers[k])
        return self.graphed

    def __call__(self, xb: torch.Tensor, yb: torch.Tensor) -> torch.Tensor:
        with self._autocast():
            loss = F.cross_entropy(self.net(xb).float(), yb, label_smoothing=self.label_smoothing)
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        self.opt.step()
        return loss.detach()


def bf16_native(device: torch.device) -> bool:
    """Whether bf16 autocast speeds ``device`` up: CUDA, or a CPU with AVX-512 BF16 or AMX."""
    return device.type == "cuda" or bool(cpu_flags() & {"avx512_bf16", "amx_bf16"})


def _device(device: str) -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def param_groups(net: nn.Module, weight_decay: float, decay_on: str = "weights", se_weight_decay: float = 0.0) -> list[dict]:
    """SGD parameter groups. ``"all"``: one group, decay on everything. ``"weights"``: decay on
    convolution and classifier weights; none on biases and BatchNorm; ``se_weight_decay`` on the
    SE layers' weights (W1, W2), whose hidden units weight decay can otherwise shrink to zero."""
    if decay_on not in DECAY_ON:
        raise ValueError(f"decay_on must be one of {tuple(DECAY_ON)}, not {decay_on!r}")
    if decay_on == "all":
        return [{"params": list(net.parameters()), "weight_decay": weight_decay, "name": "all"}]
    se_paths = tuple(f"{path}." for path, m in net.named_modules() if adapter_for(m) is not None)
    groups = {"decayed": [], "se": [], "none": []}
    for mod_path, m in net.named_modules():
        for p_name, p in m.named_parameters(recurse=False):
            full = f"{mod_path}.{p_name}"
            if p_name == "bias" or isinstance(m, nn.modules.batchnorm._BatchNorm):
                groups["none"].append(p)
            elif full.startswith(se_paths):
                groups["se"].append(p)
            else:
                groups["decayed"].append(p)
    decay = {"decayed": weight_decay, "se": se_weight_decay, "none": 0.0}
    return [{"params": ps, "weight_decay": decay[k], "name": k} for k, ps in groups.items() if ps]


def _sgd(net: nn.Module, lr: float, weight_decay: float, decay_on: str = "weights", se_weight_decay: float = 0.0) -> torch.optim.Optimizer:
    groups = param_groups(net, weight_decay, decay_on, se_weight_decay)
    return torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True)


def probe_health(net: nn.Module, x_probe: torch.Tensor) -> list[BlockHealth]:
    """SE health of ``net`` (in eval mode, as it will be used) on the probe batch; the hooks
    live for this call only and the training mode is restored."""
    from .capture import capture, lent

    with lent(net, tuple(x_probe.shape[1:]), x_probe.device) as model:
        if model is None:
            return []
        cap = capture(model, x_probe, batch_size=len(x_probe))
        return health(model.blocks, cap.squeeze, cap.excitation)


def seconds_per_epoch(
    model_name: str, *, batch_size: int = 128, pictures: int = 50_000, device: str = "auto",
    graphs: bool | None = None, steps: int = 40,
) -> float:
    """Time ``steps`` training steps on random pictures (after a warm-up) and scale to an epoch."""
    dev = _device(device)
    net = PROJECT_MODELS[model_name].build().to(dev, memory_format=torch.channels_last)
    net.train()
    step = Stepper(net, _sgd(net, 0.01, 5e-4), 0.1, dev)
    x_norm = normalise(torch.randint(0, 256, (4 * batch_size, 32, 32, 3), dtype=torch.uint8, device=dev))
    y_all = torch.randint(0, 10, (4 * batch_size,), device=dev)
    order, shifts, flips = epoch_draws(len(y_all), 4, batch_size, torch.Generator().manual_seed(0), dev)
    if (dev.type == "cuda") if graphs is None else graphs:
        step.use_graphs(batch(x_norm, order[:batch_size], shifts, flips, 0))

    def one(k: int) -> None:
        idx = order[k * batch_size : (k + 1) * batch_size]
        step(batch(x_norm, idx, shifts, flips, k), y_all[idx])

    def sync() -> None:
        if dev.type == "cuda":
            torch.cuda.synchronize(dev)

    for i in range(5):
        one(i % 4)
    sync()
    t = time.perf_counter()
    for i in range(steps):
        one(i % 4)
    sync()
    return (time.perf_counter() - t) / steps * (pictures // batch_size)


@torch.no_grad()
def estimate_batchnorm(net: nn.Module, x_norm: torch.Tensor, batch_size: int, generator: torch.Generator) -> None:
    """BatchNorm running statistics of ``net`` set to the averages over one augmented pass, in fp32."""
    norms = [m for m in net.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # a cumulative average over the pass
    net.train()
    steps = len(x_norm) // batch_size
    order, shifts, flips = epoch_draws(len(x_norm), steps, batch_size, generator, x_norm.device)
    for step in range(steps):
        net(batch(x_norm, order[step * batch_size : (step + 1) * batch_size], shifts, flips, step))
    for m, momentum in zip(norms, momenta):
        m.momentum = momentum


def _init_record(init: str | Path) -> dict:
    """Which weights a run started from: the file's checksum and what its own card says."""
    path = Path(init)
    record = {"file": path.name, "sha256": sha256_file(path)}
    card = path.with_suffix(".json")
    if card.is_file():
        before = json.loads(card.read_text())
        record["card"] = {k: before.get(k) for k in ("epochs", "recipe", "seed", "device", "torch", "training_seconds", "swa", "init")}
        record["card"]["test_top1"] = before.get("test", {}).get("top1")
    return record




def train_epoch(stepper: Stepper, sched, x_norm: torch.Tensor, y_all: torch.Tensor, batch_size: int,
                gen: torch.Generator, *, averaging: bool, desc: str, progress: bool, max_steps: int | None) -> tuple[float, int]:
    """One epoch of SGD steps (the schedule stepped after each unless ``averaging``); the mean
    loss and the number of steps taken."""
    steps = len(y_all) // batch_size
    if max_steps is not None:
        steps = min(steps, max_steps)
    order, shifts, flips = epoch_draws(len(y_all), len(y_all) // batch_size, batch_size, gen, x_norm.device)
    bar = tqdm(range(steps), desc=desc, disable=not progress, leave=False)
    running = torch.zeros((), device=x_norm.device)
    for step in bar:
        idx = order[step * batch_size : (step + 1) * batch_size]
        running += stepper(batch(x_norm, idx, shifts, flips, step), y_all[idx])
        if not averaging:
            sched.step()
        if progress and step % 50 == 0:  # a host sync, so only now and then
            bar.set_postfix(loss=f"{float(running) / (step + 1):.3f}")
    return float(running) / max(steps, 1), steps


def train(
    model_name: str,
    train_source: str,
    test_source: str | None,
    out: Path,
    *,
    epochs: int = 40,
    batch_size: int = 128,
    lr: float = 0.2,
    weight_decay: float = 5e-4,
    decay_on: str = "weights",
    se_weight_decay: float = 0.0,
    label_smoothing: float = 0.1,
    seed: int = 0,
    device: str = "auto",
    graphs: bool | None = None,
    init: str | Path | None = None,
    swa_epochs: int = 0,
    swa_lr: float = 0.05,
    checkpoint: Path | None = None,
    max_steps: int | None = None,
    stop_after: int | None = None,
    progress: bool = True,
    film_probe: int = 0,
) -> dict | None:
    """Train ``model_name`` and write ``out`` (.safetensors) and its model card (.json).

    ``epochs`` of the one-cycle schedule, then ``swa_epochs`` of stochastic weight averaging
    (Izmailov et al., 2018): SGD at the constant ``swa_lr``, the weights averaged after each
    epoch, and BatchNorm statistics re-estimated for the average over one augmented pass.
    ``init``: start from these weights (a model trained before) instead of a random init.
    ``checkpoint`` (default: beside ``out`` as .ckpt.pt) is resumed when present, if it belongs
    to the same run definition, and removed once the weights are written.

    ``max_steps`` ends a short trial run early; ``stop_after`` stops after that many epochs of
    this run with the checkpoint written (and returns None), as an interruption would.

    ``film_probe``: record the run's film (``senet_viz.film``): statistics of z and s on the first
    ``film_probe`` pictures of each class of ``test_source`` after every epoch, and of the finished
    weights, written beside ``out`` as .film.npz (kept there as the run goes, so it resumes too).
    """
    dev = _device(device)
    torch.manual_seed(seed)
    spec = PROJECT_MODELS[model_name]
    net = spec.build()
    if init is not None:
        net.load_state_dict(read_state_dict(init))
    net = net.to(dev, memory_format=torch.channels_last)
    source = open_source(train_source)
    x_all, y_all = decoded_arrays(source)
    x_norm = normalise(torch.from_numpy(x_all).to(dev))  # once: no per-step constants to copy
    y_all = torch.from_numpy(y_all).to(dev)
    opt = _sgd(net, lr, weight_decay, decay_on, se_weight_decay)
    x_probe = x_norm[torch.linspace(0, len(x_norm) - 1, min(PROBE_PICTURES, len(x_norm))).long()]
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, epochs=epochs, steps_per_epoch=len(y_all) // batch_size) if epochs else None
    swa = torch.optim.swa_utils.AveragedModel(net) if swa_epochs else None  # a copy made before any graphing
    gen = torch.Generator().manual_seed(seed)
    definition = run_definition(model_name, source, epochs=epochs, batch_size=batch_size, lr=lr, weight_decay=weight_decay,
                                decay_on=decay_on, se_weight_decay=se_weight_decay, label_smoothing=label_smoothing,
                                seed=seed, init=init, swa_epochs=swa_epochs, swa_lr=swa_lr)
    ckpt = Checkpoint(checkpoint or out.with_suffix(".ckpt.pt"), definition)
    state = ckpt.load(net, opt, sched, swa, gen, dev) or {"epoch": 0, "elapsed": 0.0, "history": [], "segments": []}
    if state["epoch"]:
        print(f"resuming {model_name} after epoch {state['epoch']} from {ckpt.path}")
    film = _film_recorder(out, model_name, test_source, film_probe, dev) if film_probe and spec.se and test_source else None
    stepper = Stepper(net, opt, label_smoothing, dev)
    if (dev.type == "cuda") if graphs is None else graphs:
        # a sample batch to graph with, from its own generator: the run's random sequence stays as without graphs
        order, shifts, flips = epoch_draws(len(y_all), 1, batch_size, torch.Generator().manual_seed(seed), dev)
        stepper.use_graphs(batch(x_norm, order[:batch_size], shifts, flips, 0))
    segment = {**machine_record(dev, stepper.bf16), "epochs": [state["epoch"], state["epoch"]], "seconds": 0.0}
    state["segments"].append(segment)
    total, start_epoch, steps_done = epochs + swa_epochs, state["epoch"], 0
    for epoch in range(start_epoch, total):
        averaging = epoch >= epochs
        if averaging:
            for group in opt.param_groups:
                group["lr"] = swa_lr
        net.train()
        t0, c0 = time.perf_counter(), time.process_time()
        loss, steps = train_epoch(stepper, sched, x_norm, y_all, batch_size, gen, averaging=averaging, desc=f"epoch {epoch + 1}/{total}",
                                  progress=progress, max_steps=None if max_steps is None else max_steps - steps_done)
        steps_done += steps
        if averaging:
            swa.update_parameters(net)
        seconds = time.perf_counter() - t0
        state["elapsed"] += seconds
        segment["seconds"] = round(segment["seconds"] + seconds, 1)  # wall clock, pauses (SIGSTOP) included
        segment["cpu_seconds"] = round(segment.get("cpu_seconds", 0.0) + time.process_time() - c0, 1)  # all threads
        segment["epochs"][1] = state["epoch"] = epoch + 1
        report = probe_health(net, x_probe)
        state["history"].append({"epoch": epoch + 1, "loss": round(loss, 5), "seconds": round(state["elapsed"], 1),
                                 "se_health": {h.name: [h.live, round(h.s_std, 4)] for h in report}})
        print(f"epoch {epoch + 1}/{total} loss {loss:.4f} elapsed {state['elapsed']:.0f}s", flush=True)
        if report:
            print(health_line(report), flush=True)
        if film is not None:
            film.record(net, epoch + 1, round(loss, 5))
        if max_steps is not None and steps_done >= max_steps:
            break
        ckpt.save(net, opt, sched, swa, gen, state)
        if stop_after is not None and epoch + 1 - start_epoch >= stop_after and epoch + 1 < total:
            return None

    if swa is not None:
        net = swa.module
        t0 = time.perf_counter()
        estimate_batchnorm(net, x_norm, batch_size, gen)
        state["elapsed"] += time.perf_counter() - t0
    net.eval()
    card = model_card(model_name, spec, net, source, dev, stepper, state, definition, init=init, x_probe=x_probe)
    if test_source is not None:
        test = open_source(test_source)
        card["test"] = evaluate(net, cifar_preprocess, test, dev)
        card["test"]["origin"], card["test"]["sha256"] = test.origin, test.checksum
    out.parent.mkdir(parents=True, exist_ok=True)
    tensors = {k: v.detach().to("cpu").contiguous() for k, v in net.state_dict().items()}
    save_file(tensors, str(out), metadata={"name": model_name})
    card["weights_sha256"] = sha256_file(out)
    out.with_suffix(".json").write_text(json.dumps(card, indent=1) + "\n")
    if film is not None:
        film.finish(net, total, card["weights_sha256"])
    ckpt.remove()
    return card


def _film_recorder(out: Path, model_name: str, test_source: str, per_class: int, dev: torch.device):
    """The recorder of a run's film on the first ``per_class`` pictures of each class of ``test_source``."""
    from .film import FilmRecorder, probe_indices

    test = open_source(test_source)
    x, y = decoded_arrays(test)
    idx = probe_indices(y, per_class)
    probe = {"source": test.origin, "sha256": test.checksum, "per_class": per_class, "pictures": len(idx),
             "which": f"the first {per_class} pictures of each class, in the source's order"}
    x_norm = normalise(torch.from_numpy(x[idx]).to(dev))
    return FilmRecorder(out.with_suffix(".film.npz"), model_name, x_norm, torch.from_numpy(y[idx]).long(), test.class_names, probe)


def model_card(model_name: str, spec, net: nn.Module, source: LabelledPictures, dev: torch.device, stepper: Stepper, state: dict,
               definition: dict, *, init: str | Path | None, x_probe: torch.Tensor) -> dict:
    """The model card of a finished run: architecture, recipe, where each segment ran, history, SE health."""
    d = definition
    precisions = sorted({seg["precision"] for seg in state["segments"] if seg["epochs"][1] > seg["epochs"][0]} or {"fp32"})
    devices = []
    for seg in state["segments"]:
        label = seg["processor"] if seg["device"] == "cuda" else f"CPU ({seg['processor']}, {seg['threads']} threads)"
        if seg["epochs"][1] > seg["epochs"][0] and label not in devices:
            devices.append(label)
    card = {
        "name": model_name,
        "architecture": f"CIFAR ResNet-{spec.depth}" + (" with SE blocks" if spec.se else " (no SE)"),
        "depth": spec.depth,
        "se": spec.se,
        "reduction": 16 if spec.se else None,
        "se_hidden": {b.name: b.hidden for b in discover(net, (3, 32, 32), dev)} if spec.se else None,
        "class_names": source.class_names,
        "recipe": {
            "optimizer": "SGD, Nesterov momentum 0.9", "weight_decay": d["weight_decay"], "batch_size": d["batch_size"],
            "weight_decay_on": DECAY_ON[d["decay_on"]],
            "se_weight_decay": d["se_weight_decay"] if d["decay_on"] == "weights" else d["weight_decay"],
            "schedule": f"one-cycle, max lr {d['lr']}" if d["epochs"] else "none (weight averaging only)",
            "label_smoothing": d["label_smoothing"],
            "augmentation": "random crop 32 with 4-pixel zero padding, horizontal flip",
            "precision": " / ".join(precisions) + ", channels_last" + (", forward and backward as CUDA graphs" if stepper.graphed else ""),
        },
        "epochs": d["epochs"],
        "swa": {"epochs": d["swa_epochs"], "lr": d["swa_lr"], "averaged": "the weights after each epoch",
                "batchnorm": "statistics re-estimated over one augmented pass"} if d["swa_epochs"] else None,
        "init": _init_record(init) if init is not None else None,
        "seed": d["seed"],
        "train_data": {"origin": source.origin, "sha256": source.checksum, "pictures": len(source)},
        "training_seconds": round(state["elapsed"], 1),
        "device": " and ".join(devices),
        "segments": state["segments"],
        "torch": torch.__version__,
        "history": state["history"],
    }
    if spec.se:
        card["se_health"] = {"probe": f"{len(x_probe)} evenly spaced training pictures, unaugmented",
                             "blocks": [h.as_dict() for h in probe_health(net, x_probe)]}
    return card

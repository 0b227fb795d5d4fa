"""Capture of the squeeze descriptors z and the excitation vectors s of every SE block.

Hooks are installed once per loaded model and are inert outside a capture: each one looks up
the capture active in its own thread (a ``ContextVar``) and returns at once when there is
none. The project's own ``SEBlock`` gets an observer function instead of its two hooks: the
same work, without the cost of module hook dispatch. Streamlit runs each session in its own thread, so many sessions can capture through
one shared model at the same time without seeing each other's numbers, and the model is
never switched out of eval mode.

Inside the forward the hooks only keep references to the tensors the SE block computes:
z (the input of W1) and s (the output of the gate) are fresh tensors that no later op of any
supported SE module writes to, so no copy is needed; the block's output, which a residual
``+=`` writes to, is cloned when asked for (``maps=``). After the forward z, s and the logits
of every block are gathered on the device into one buffer and copied to the host in one
transfer (pinned and asynchronous on CUDA), then split into per-block views.
"""

from __future__ import annotations

import contextlib
import contextvars
import threading
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .errors import BlockNotFound, SenetVizError
from .models.registry import LoadedModel
from .models.se_block import SEBlock

_ACTIVE: contextvars.ContextVar[_Recorder | None] = contextvars.ContextVar("senet_viz_capture", default=None)
DEFAULT_BATCH = 64
#: Bytes that the U and s * U maps of one capture may hold (``maps=``); beyond it, a clear error.
MAPS_BUDGET = 1024**3


Override = Callable[[torch.Tensor], torch.Tensor]


@dataclass
class _Recorder:
    maps: frozenset[str]
    override: dict[str, Override] = field(default_factory=dict)
    squeeze: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    excitation: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    inputs: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    outputs: dict[str, list[torch.Tensor]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    moved_to_cpu: bool = False  # some chunk ran on the CPU copy of the network

    def rollback(self, chunks: int) -> None:
        """Forget what a failed forward recorded: every hook appends one tensor per chunk, so
        after ``chunks`` whole chunks every list holds ``chunks`` entries."""
        for d in (self.squeeze, self.excitation, self.inputs, self.outputs):
            for v in d.values():
                del v[chunks:]

    def per_block(self, kind: str, device: torch.device) -> dict[str, torch.Tensor]:
        """z or s of every block as one (N, C) tensor on ``device`` (chunks of an out-of-memory
        retry joined)."""
        out = {}
        for name, chunks in getattr(self, kind).items():
            flat = [t if t.dim() == 2 else t.reshape(t.shape[0], -1) for t in chunks]  # (N, C, 1, 1) from a conv SE
            out[name] = flat[0] if len(flat) == 1 else torch.cat([t.to(device) for t in flat])
        return out


class _Hooks:
    """The hooks of one model, installed once; ``remove()`` takes every one of them off.

    Two per block (the input of W1, the output of the gate) for every capture; the two that
    keep U and s * U are added the first time a capture asks for maps, so a model that never
    shows maps does not pay for their calls in every forward."""

    def __init__(self, model: LoadedModel) -> None:
        self.handles = []
        self.observed: list[SEBlock] = []
        self.blocks = model.blocks
        self.with_maps = False
        for b in model.blocks:
            if isinstance(b.module, SEBlock):  # the project's block calls an observer between Eqs. 3 and 4
                b.module.observer = _observer(b.name)
                self.observed.append(b.module)
                continue
            self.handles += [
                b.part("fc1").register_forward_pre_hook(_squeeze_hook(b.name)),
                b.part("gate").register_forward_hook(_gate_hook(b.name)),
            ]

    def add_maps(self) -> None:
        for b in self.blocks:
            self.handles += [
                b.module.register_forward_pre_hook(lambda m, args, n=b.name: _map("inputs", n, args[0])),
                b.module.register_forward_hook(lambda m, args, out, n=b.name: _map("outputs", n, out)),
            ]
        self.with_maps = True

    def remove(self) -> None:
        for h in self.handles:
            h.remove()
        self.handles.clear()
        for module in self.observed:
            module.observer = None
        self.observed.clear()


def _squeeze_hook(name: str):
    def hook(module, args) -> None:
        rec = _ACTIVE.get()
        if rec is not None:
            rec.squeeze.setdefault(name, []).append(args[0])
    return hook


def _gate_hook(name: str):
    def hook(module, args, s: torch.Tensor) -> torch.Tensor | None:
        rec = _ACTIVE.get()
        if rec is None:
            return None
        replace = rec.override.get(name)
        if replace is not None:  # an ablation: the block multiplies by this s instead
            s = replace(s)
        rec.excitation.setdefault(name, []).append(s)
        return s if replace is not None else None
    return hook


def _observer(name: str):
    """``SEBlock.observer``: both hooks above in one call."""
    def observe(z: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        rec = _ACTIVE.get()
        if rec is None:
            return s
        rec.squeeze.setdefault(name, []).append(z)
        replace = rec.override.get(name)
        if replace is not None:
            s = replace(s)
        rec.excitation.setdefault(name, []).append(s)
        return s
    return observe


def _map(kind: str, name: str, value: torch.Tensor) -> None:
    rec = _ACTIVE.get()
    if rec is not None and name in rec.maps:
        getattr(rec, kind).setdefault(name, []).append(value.detach().clone())


def install(model: LoadedModel, *, maps: bool = False) -> _Hooks:
    """The model's capture hooks, installed on first use (thread-safe, exactly once); with
    ``maps``, the hooks keeping U and s * U too. Adding hooks while another thread runs a
    forward is safe: a module reads its hook dictionaries in one step under the GIL."""
    hooks = getattr(model, "_capture_hooks", None)
    if hooks is None or (maps and not hooks.with_maps):
        with model.lock:
            hooks = getattr(model, "_capture_hooks", None)
            if hooks is None:
                hooks = _Hooks(model)
            if maps and not hooks.with_maps:
                hooks.add_maps()
            model._capture_hooks = hooks
    return hooks


def uninstall(model: LoadedModel) -> None:
    with model.lock:
        hooks = getattr(model, "_capture_hooks", None)
        if hooks is not None:
            hooks.remove()
            model._capture_hooks = None


@dataclass
class Capture:
    """What every SE block computed for N pictures (float32 numpy on the host)."""

    block_names: list[str]
    class_names: list[str]
    squeeze: dict[str, np.ndarray]  # z, (N, C)
    excitation: dict[str, np.ndarray]  # s, (N, C)
    logits: np.ndarray  # (N, K)
    inputs: dict[str, np.ndarray]  # U, (N, C, H, W), for the blocks asked for with maps=
    outputs: dict[str, np.ndarray]  # s * U, (N, C, H, W)
    notes: list[str] = field(default_factory=list)  # e.g. an out-of-memory retry

    @property
    def probs(self) -> np.ndarray:
        e = np.exp(self.logits - self.logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def __len__(self) -> int:
        return self.logits.shape[0]

    def top(self, k: int = 5) -> list[list[tuple[str, float]]]:
        """Per picture, the k most probable classes with their probabilities."""
        p = self.probs
        order = np.argsort(-p, axis=1)[:, :k]
        return [[(self.class_names[j], float(p[i, j])) for j in row] for i, row in enumerate(order)]

    def predicted(self) -> np.ndarray:
        return self.logits.argmax(axis=1)

    def csv(self, pictures: list[str] | None = None) -> bytes:
        """z and s of every picture, block and channel: ``picture,block,channel,z,s`` rows."""
        pictures = pictures or [str(i) for i in range(len(self))]
        lines = ["picture,block,channel,z,s"]
        for i, pic in enumerate(pictures):
            cell = '"' + pic.replace('"', '""') + '"'
            for name in self.block_names:
                z, s = self.squeeze[name][i], self.excitation[name][i]
                lines += [f"{cell},{name},{c},{z[c]:.8g},{s[c]:.8g}" for c in range(len(s))]
        return ("\n".join(lines) + "\n").encode()

    def arrays(self, pictures: list[str] | None = None) -> dict[str, np.ndarray]:
        """The NPZ layout: logits, class_names, pictures, squeeze/<block>, excitation/<block>."""
        out = {"logits": self.logits, "class_names": np.array(self.class_names),
               "pictures": np.array(pictures or [str(i) for i in range(len(self))])}
        for name in self.block_names:
            out[f"squeeze/{name}"] = self.squeeze[name]
            out[f"excitation/{name}"] = self.excitation[name]
        return out

    def npz(self, pictures: list[str] | None = None) -> bytes:
        import io

        buf = io.BytesIO()
        np.savez_compressed(buf, **self.arrays(pictures))
        return buf.getvalue()

    def fingerprint(self) -> np.ndarray:
        """s of picture 0, blocks by channels, padded with NaN to the widest block."""
        width = max(v.shape[1] for v in self.excitation.values())
        out = np.full((len(self.block_names), width), np.nan, dtype=np.float32)
        for i, name in enumerate(self.block_names):
            out[i, : self.excitation[name].shape[1]] = self.excitation[name][0]
        return out


def _as_batch(model: LoadedModel, images) -> torch.Tensor:
    if isinstance(images, torch.Tensor):
        x = images if images.dim() == 4 else images.unsqueeze(0)
        return x.to(model.device)
    if isinstance(images, Image.Image):
        images = [images]
    with torch.inference_mode():
        return model.batch(list(images))


def _host(chunks: dict[str, list[torch.Tensor]]) -> dict[str, np.ndarray]:
    return {k: torch.cat([t.float().cpu() for t in v]).numpy() for k, v in chunks.items()}


def _to_host(flat: torch.Tensor) -> np.ndarray:
    """One device-to-host copy: into pinned memory without blocking, then one wait (CUDA);
    the pinned block comes from torch's caching host allocator, so it is not allocated anew
    each time, and the returned array keeps it alive."""
    if flat.device.type != "cuda":
        return flat.numpy()
    host = torch.empty(flat.shape, dtype=flat.dtype, pin_memory=True)
    host.copy_(flat, non_blocking=True)
    torch.cuda.current_stream(flat.device).synchronize()
    return host.numpy()


def gather(rec: _Recorder, logits: list[torch.Tensor], names: list[str], *, one_copy: bool | None = None
           ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], np.ndarray]:
    """z and s of every block and the logits, as float32 (N, C) arrays on the host.

    From a GPU (``one_copy``, the default there): everything is laid out block after block in
    one flat tensor on the device (one ``cat``), copied once, and split into views of that one
    host buffer. On the CPU the arrays are views of the tensors the network computed (no copy
    at all; a copy only to join the chunks of an out-of-memory retry or to leave bf16)."""
    n = sum(t.shape[0] for t in logits)
    stores = (rec.squeeze, rec.excitation)
    if one_copy is None:
        one_copy = logits[0].device.type != "cpu" or rec.moved_to_cpu
    if not one_copy:
        def host(t: torch.Tensor) -> np.ndarray:
            return (t if t.dtype == torch.float32 else t.float()).numpy()

        cpu = torch.device("cpu")
        z, s = rec.per_block("squeeze", cpu), rec.per_block("excitation", cpu)
        return ({name: host(z[name]) for name in names}, {name: host(s[name]) for name in names},
                host(logits[0] if len(logits) == 1 else torch.cat(logits)))
    pieces: list[torch.Tensor] = []
    widths: list[int] = []
    for store in stores:
        for name in names:
            chunks = store[name]
            widths.append(chunks[0].numel() // chunks[0].shape[0])
            pieces += [t.reshape(-1) for t in chunks]
    pieces += [t.reshape(-1) for t in logits]
    if rec.moved_to_cpu:  # part of it ran on the CPU copy after an out-of-memory
        pieces = [t.cpu() for t in pieces]
    flat = _to_host(torch.cat(pieces).float())
    out: tuple[dict[str, np.ndarray], dict[str, np.ndarray]] = ({}, {})
    at, i = 0, 0
    for kind in range(len(stores)):
        for name in names:
            out[kind][name] = flat[at : at + n * widths[i]].reshape(n, widths[i])
            at += n * widths[i]
            i += 1
    return out[0], out[1], flat[at:].reshape(n, -1)


def record(
    model: LoadedModel,
    x_all: torch.Tensor,
    *,
    maps: frozenset[str] = frozenset(),
    batch_size: int = DEFAULT_BATCH,
    autocast: bool = False,
    override: dict[str, Override] | None = None,
) -> tuple[_Recorder, list[torch.Tensor]]:
    """Forward a preprocessed batch in chunks with capture on; everything stays on the device.

    ``override``: block name -> function of s giving the s that block multiplies by instead
    (ablations); it acts in this call only, other threads' forwards are untouched.
    """
    install(model, maps=bool(maps))
    rec = _Recorder(maps, dict(override or {}))
    logits: list[torch.Tensor] = []
    token = _ACTIVE.set(rec)
    try:
        with torch.inference_mode(), exact_fp32(model.device):
            _forward(model, x_all, batch_size, autocast, rec, logits)
    finally:
        _ACTIVE.reset(token)
    return rec, logits


_TF32_LOCK = threading.Lock()
_TF32 = {"users": 0, "saved": None}


@contextlib.contextmanager
def exact_fp32(device: torch.device):
    """TF32 off on CUDA while captures run, as it was before once the last one ends. fp32 means
    fp32: with TF32 (cuDNN's default) the 1x1-convolution FCs of timm's and torchvision's SE
    modules compute s to about 1e-4 (seen on an H200), and s * U no longer follows from the
    block's weights at float32 precision. bf16 runs ask for autocast. Counted, so concurrent
    captures in other threads keep it off until all of them are done."""
    if device.type != "cuda":
        yield
        return
    with _TF32_LOCK:
        if _TF32["users"] == 0:
            _TF32["saved"] = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
            torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
        _TF32["users"] += 1
    try:
        yield
    finally:
        with _TF32_LOCK:
            _TF32["users"] -= 1
            if _TF32["users"] == 0:
                torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = _TF32["saved"]


OutOfMemory = getattr(torch, "OutOfMemoryError", torch.cuda.OutOfMemoryError)


def _forward(model: LoadedModel, x_all: torch.Tensor, batch_size: int, autocast: bool, rec: _Recorder,
             logits: list[torch.Tensor]) -> None:
    """Chunks of ``batch_size``; on device out-of-memory the chunk is retried at half the size,
    and below one picture on a CPU copy of the model, with a note saying so."""
    net, device, start = model.net, model.device, 0
    while start < x_all.shape[0]:
        x = x_all if start == 0 and batch_size >= x_all.shape[0] else x_all[start : start + batch_size]
        if net is not model.net:
            x = x.to("cpu")
        try:
            with torch.autocast(device.type, dtype=torch.bfloat16) if autocast else contextlib.nullcontext():
                logits.append(net(x))
            start += x.shape[0]
        except OutOfMemory:
            rec.rollback(len(logits))
            if device.type == "cuda":
                torch.cuda.empty_cache()
            if batch_size > 1:
                batch_size = max(1, batch_size // 2)
                rec.notes.append(f"out of memory on {device}: retried with batches of {batch_size}")
            elif device.type != "cpu":
                net, device = cpu_twin(model), torch.device("cpu")
                rec.moved_to_cpu = True
                rec.notes.append("out of memory even for one picture: ran on the CPU instead")
            else:
                raise SenetVizError("out of memory even for one picture on the CPU") from None


def cpu_twin(model: LoadedModel) -> torch.nn.Module:
    """A CPU copy of the model's network (made once, on the first device out-of-memory); it
    shares the capture hooks, which are plain functions."""
    twin = getattr(model, "_cpu_twin", None)
    if twin is None:
        install(model, maps=True)  # the copy takes the hooks there are now, so all of them
        with model.lock:
            twin = getattr(model, "_cpu_twin", None)
            if twin is None:
                import copy

                twin = copy.deepcopy(model.net).to("cpu")
                model._cpu_twin = twin
    return twin


def capture(
    model: LoadedModel,
    images,
    *,
    maps: list[str] | None = None,
    batch_size: int = DEFAULT_BATCH,
    autocast: bool = False,
    override: dict[str, Override] | None = None,
) -> Capture:
    """Run ``images`` (PIL pictures or a preprocessed batch [N, 3, H, W]) and capture every SE block.

    ``maps``: block names whose U and s * U are kept too (for the reweighting view).
    Batches larger than ``batch_size`` run in chunks, so memory stays bounded.
    ``autocast``: bf16 autocast (on CUDA it doubles throughput; numbers then are bf16-exact).
    ``override``: see ``record``; the captured s is then the one the block multiplied by.
    """
    wanted = frozenset(maps or ())
    if wanted or override:
        known = {b.name for b in model.blocks}
        for name in (wanted | set(override or ())) - known:
            raise BlockNotFound(f"{model.name} has no block {name!r}")
    x_all = _as_batch(model, images)
    if wanted:
        per_picture = sum(2 * 4 * b.channels * b.resolution[0] * b.resolution[1] for b in model.blocks if b.name in wanted)
        if per_picture * x_all.shape[0] > MAPS_BUDGET:
            raise SenetVizError(f"feature maps of {x_all.shape[0]} pictures would need "
                                f"{per_picture * x_all.shape[0] / 1024**2:,.0f} MiB; ask for fewer pictures or blocks")
    rec, logits = record(model, x_all, maps=wanted, batch_size=batch_size, autocast=autocast, override=override)
    names = [b.name for b in model.blocks]
    squeeze, excitation, logit_array = gather(rec, logits, names)
    return Capture(names, model.class_names, squeeze, excitation, logit_array, _host(rec.inputs), _host(rec.outputs),
                   rec.notes)


@contextlib.contextmanager
def lent(net: torch.nn.Module, input_size: tuple[int, int, int], device: torch.device, name: str = "training",
         class_names: list[str] | None = None):
    """A network that is training, lent to the capture as a ``LoadedModel`` (None when it has no SE
    block): in eval mode inside, its hooks removed and its training mode restored on the way out."""
    from .models.blocks import discover
    from .models.project import cifar_preprocess

    was_training = net.training
    net.eval()
    model = None
    try:
        blocks = discover(net, input_size, device)
        if blocks:
            model = LoadedModel(name, "project", net, list(class_names or []), cifar_preprocess, device, blocks,
                                input_size, name)
        yield model
    finally:
        if model is not None:
            uninstall(model)
        net.train(was_training)

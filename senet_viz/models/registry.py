"""The model registry: names -> networks with their weights, preprocessing, classes and SE blocks.

Three families, tried in this order:
- ``project``: the CIFAR ResNets this project trains and ships (``assets/weights``);
- ``torchvision``: networks with ``SqueezeExcitation`` (MobileNetV3, EfficientNet, RegNetY);
- ``timm``: any timm name, with or without a pretrained tag (``seresnet50``,
  ``seresnet50.a1_in1k``, ``legacy_seresnet50.in1k``, ...). A timm network must contain SE
  modules, except the plain ResNets kept for cost comparison.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from ..data import sha256_file
from ..errors import BlockNotFound, SenetVizError, UnknownModel, WeightsUnavailable
from .blocks import BlockInfo, discover
from .project import PROJECT_MODELS, card_file, cifar_preprocess, weights_file
from .weights import load_into

DEFAULT_MODEL = "se_resnet20_cifar10"
RANDOM = "random"

#: Names shown by ``list_models``; any other timm SE name loads too.
TIMM_MODELS = (
    "seresnet50.a1_in1k",
    "legacy_seresnet50.in1k",
    "seresnext50_32x4d.racm_in1k",
    "senet154.gluon_in1k",
    "legacy_senet154.in1k",
    "resnet50.a1_in1k",
)
TORCHVISION_MODELS = ("mobilenet_v3_large", "mobilenet_v3_small", "efficientnet_b0", "regnet_y_400mf")
#: Networks without SE that load anyway, as the baseline of a cost comparison.
PLAIN_BASELINES = ("resnet50", "resnet20_cifar10", "resnet56_cifar10")


@dataclass(frozen=True)
class ModelEntry:
    name: str
    family: str
    description: str


@dataclass(eq=False)
class LoadedModel:
    """A network ready for capture. ``net`` is in eval mode and is never switched out of it."""

    name: str
    family: str
    net: nn.Module
    class_names: list[str]
    preprocess: Callable[[Image.Image], torch.Tensor]
    device: torch.device
    blocks: list[BlockInfo]
    input_size: tuple[int, int, int]
    weights: str  # where the weights came from, shown wherever the model is
    card: dict | None = None
    #: SHA-256 of the weights file loaded (shipped or local); None for random or library weights.
    #: Artefacts made from weights (statistics, ablations, cards) carry it, and are shown only
    #: for the weights they were made with.
    weights_sha256: str | None = None
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def random_weights(self) -> bool:
        return self.weights == RANDOM

    @property
    def label(self) -> str:
        return f"{self.name} (random weights)" if self.random_weights else self.name

    def block(self, name: str) -> BlockInfo:
        for b in self.blocks:
            if b.name == name:
                return b
        raise BlockNotFound(f"{self.name} has no block {name!r} (it has {', '.join(b.name for b in self.blocks)})")

    def batch(self, images: list[Image.Image]) -> torch.Tensor:
        return torch.stack([self.preprocess(img) for img in images]).to(self.device)


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise SenetVizError(f"unknown device {device!r} (use auto, cpu or cuda)") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise SenetVizError("device cuda was asked for, but no CUDA GPU is available here")
    return dev


def family_of(name: str) -> str:
    if name in PROJECT_MODELS:
        return "project"
    if name.split(".")[0] in TORCHVISION_MODELS or _is_torchvision_se(name):
        return "torchvision"
    try:
        import timm
    except ImportError:
        timm = None
    if timm is not None and timm.is_model(name):
        return "timm"
    raise UnknownModel(f"unknown model {name!r}; `python -m senet_viz models` lists the known ones")


def _is_torchvision_se(name: str) -> bool:
    prefixes = ("mobilenet_v3", "efficientnet", "regnet_y")
    import torchvision

    return name.startswith(prefixes) and name in torchvision.models.list_models()


def list_models() -> list[ModelEntry]:
    entries = [
        ModelEntry(n, "project", f"CIFAR ResNet-{s.depth}{' with SE' if s.se else ', no SE'}, trained by this project")
        for n, s in PROJECT_MODELS.items()
    ]
    entries += [ModelEntry(n, "timm", "ImageNet, timm") for n in TIMM_MODELS]
    entries += [ModelEntry(n, "torchvision", "ImageNet, torchvision") for n in TORCHVISION_MODELS]
    return entries


def weights_available(name: str) -> bool:
    """Whether ``load_model(name)`` would find its default weights here without a download."""
    family = family_of(name)
    if family == "project":
        return weights_file(name).is_file()
    if family == "timm":
        return _timm_cached(name)
    return _torchvision_cached(name)


def load_model(name: str = DEFAULT_MODEL, *, weights: str | Path | None = None, device: str = "auto") -> LoadedModel:
    """Load a model by name.

    ``weights``: None for the model's default (the shipped file, or the library's pretrained
    weights, downloaded when online and read from the local cache offline); ``"random"`` for
    random initialisation; a path for a local .safetensors / .pth / .pt file.
    """
    dev = resolve_device(device)
    if dev.type == "cuda":
        # fp32 means fp32: with TF32 (cuDNN's default) the 1x1-convolution FCs of timm's and
        # torchvision's SE modules compute s to about 1e-4 (seen on an H200), and s * U no longer
        # follows from the block's weights at float32 precision. bf16 runs ask for autocast.
        torch.backends.cudnn.allow_tf32 = False
        torch.backends.cuda.matmul.allow_tf32 = False
    family = family_of(name)
    loader = {"project": _load_project, "timm": _load_timm, "torchvision": _load_torchvision}[family]
    net, class_names, preprocess, input_size, source, card = loader(name, weights)
    net = net.to(dev).eval().requires_grad_(False)
    blocks = discover(net, input_size, dev)
    if not blocks and name.split(".")[0] not in PLAIN_BASELINES:
        raise UnknownModel(f"{name} has no SE blocks; choose a network with Squeeze-and-Excitation")
    digest = None
    if weights is None and family == "project":
        digest = sha256_file(weights_file(name))
    elif weights is not None and str(weights) != RANDOM:
        digest = sha256_file(Path(weights))
    return LoadedModel(name, family, net, class_names, preprocess, dev, blocks, input_size, source, card, weights_sha256=digest)


def _local_or_random(net: nn.Module, name: str, weights: str | Path) -> str:
    if str(weights) == RANDOM:
        return RANDOM
    load_into(net, weights, name)
    return str(weights)


def _load_project(name: str, weights):
    spec = PROJECT_MODELS[name]
    torch.manual_seed(0)  # random weights are the same on every load
    net = spec.build()
    card = None
    if weights is None:
        path = weights_file(name)
        if not path.is_file():
            raise WeightsUnavailable(
                f"{name}: not trained yet (no {path.name} in assets/weights); train it with the project's train "
                "command, load a weights file of your own, or use random weights"
            )
        load_into(net, path, name)
        source = f"shipped ({path.name})"
        if card_file(name).is_file():
            card = json.loads(card_file(name).read_text())
    else:
        source = _local_or_random(net, name, weights)
    from ..data import CIFAR10_CLASSES

    return net, list(CIFAR10_CLASSES), cifar_preprocess, (3, 32, 32), source, card


def _imagenet_names(num_classes: int) -> list[str]:
    if num_classes == 1000:
        try:
            from timm.data import ImageNetInfo

            return [d.split(",")[0] for d in ImageNetInfo().label_descriptions()]
        except ImportError:
            pass
    return [f"class {i}" for i in range(num_classes)]


def _timm_cached(name: str) -> bool:
    import timm

    try:
        from huggingface_hub import try_to_load_from_cache

        cfg = timm.models.get_pretrained_cfg(name)
        repo = getattr(cfg, "hf_hub_id", None) if cfg is not None else None
        if not repo:
            return False
        return any(
            isinstance(try_to_load_from_cache(repo, f), str) for f in ("model.safetensors", "pytorch_model.bin")
        )
    except Exception:  # noqa: BLE001 - a probe: any failure means "not here"
        return False


def hub_reachable(host: str, timeout: float = 3.0) -> bool:
    """A quick probe, so that an offline user gets one line now rather than minutes of retries."""
    import os
    import socket

    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false") and "huggingface" in host:
        return False
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _load_timm(name: str, weights):
    import timm

    if weights is None:
        if not _timm_cached(name) and not hub_reachable("huggingface.co"):
            raise WeightsUnavailable(
                f"{name}: pretrained weights are not in the local cache and huggingface.co cannot be reached: "
                "connect to the internet once so timm can download them, load a local weights file, or use random weights"
            )
        try:
            net = timm.create_model(name, pretrained=True)
        except Exception as exc:  # noqa: BLE001 - hub errors come in many types
            raise WeightsUnavailable(
                f"{name}: pretrained weights could not be had ({type(exc).__name__}): connect to the internet once "
                "so timm can download them into its cache, load a local weights file, or use random weights"
            ) from None
        source = "pretrained (timm)"
    else:
        net = timm.create_model(name, pretrained=False)
        source = _local_or_random(net, name, weights)
    cfg = timm.data.resolve_data_config({}, model=net)
    preprocess = timm.data.create_transform(**cfg)
    return net, _imagenet_names(net.num_classes), preprocess, tuple(cfg["input_size"]), source, None


def _torchvision_cached(name: str) -> bool:
    import torchvision

    try:
        w = torchvision.models.get_model_weights(name).DEFAULT
        return (Path(torch.hub.get_dir()) / "checkpoints" / Path(w.url).name).is_file()
    except Exception:  # noqa: BLE001 - a probe
        return False


def _load_torchvision(name: str, weights):
    import torchvision

    default = torchvision.models.get_model_weights(name).DEFAULT
    if weights is None:
        try:
            net = torchvision.models.get_model(name, weights="DEFAULT")
        except Exception as exc:  # noqa: BLE001 - urllib and hash errors
            raise WeightsUnavailable(
                f"{name}: pretrained weights could not be had ({type(exc).__name__}): connect to the internet once "
                "so torchvision can download them into its cache, load a local weights file, or use random weights"
            ) from None
        source = "pretrained (torchvision)"
    else:
        net = torchvision.models.get_model(name, weights=None)
        source = _local_or_random(net, name, weights)
    preprocess = default.transforms()
    size = preprocess.crop_size[0]
    return net, list(default.meta["categories"]), preprocess, (3, size, size), source, None

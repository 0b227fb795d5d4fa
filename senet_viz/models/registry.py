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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from ..data import sha256_file
from ..errors import BlockNotFound, SenetVizError, UnknownModel, WeightsUnavailable
from ..i18n import _
from .blocks import BlockInfo, discover
from .budget import check_classes, check_parameters, parameter_count
from .classes import class_names
from .classes import generic as generic_names
from .code import is_code_name, load_code, preprocessing
from .project import PROJECT_MODELS, card_file, cifar_preprocess, weights_file
from .weights import classes_in, classifier_width, clean, load_into, load_state, read_state_dict

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
    if is_code_name(name):
        return "code"
    if name.split(".")[0] in TORCHVISION_MODELS or _is_torchvision_se(name):
        return "torchvision"
    try:
        import timm
    except ImportError:
        timm = None
    if timm is not None and timm.is_model(name):
        return "timm"
    raise UnknownModel(_("unknown model {name!r}; `python -m senet_viz models` lists the known ones", name=name))


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


def load_model(name: str = DEFAULT_MODEL, *, weights: str | Path | None = None, device: str = "auto",
               classes: str | Path | Sequence[str] | None = None, max_params: int | None = None) -> LoadedModel:
    """Load a model by name.

    ``name``: a project, timm or torchvision name, or ``package.module:function`` for a network
    built by one's own code (the function returns an ``nn.Module``; it is called with
    ``num_classes=`` when it takes that argument and the weights say how many).
    ``weights``: None for the model's default (the shipped file, or the library's pretrained
    weights, downloaded when online and read from the local cache offline); ``"random"`` for
    random initialisation; a path for a local .safetensors / .pth / .pt file, whose classifier
    shape sets the class count.
    ``classes``: class names (a list, "a,b,c", or a .txt / .json file); by default those the
    weights file carries (``senet_viz.models.classes``), else the family's own.
    ``max_params``: refuse (``OverBudget``) a network with more parameters, counted before it is
    built (``senet_viz.models.budget``); the app passes its budget for what a browser names.
    """
    dev = resolve_device(device)
    family = family_of(name)
    local = weights is not None and str(weights) != RANDOM
    state = clean(read_state_dict(weights)) if local else None
    if max_params is not None and family != "code":  # code is refused to strangers before this
        check_parameters(name, parameter_count(lambda: _sized(_random_builder(family, name), state, Path(str(weights)).name)),
                         max_params)
    loader = {"project": _load_project, "timm": _load_timm, "torchvision": _load_torchvision, "code": _load_code}[family]
    with torch.random.fork_rng(devices=[]):  # initialisation draws from a copy: the caller's generator is untouched
        built = loader(name, weights, state)
    if state is not None:
        load_state(built.net, state, Path(weights).name, name)
    net = built.net.to(dev).eval().requires_grad_(False)
    blocks = _discover(net, name, built.input_size, dev)
    if not blocks and name.split(".")[0] not in PLAIN_BASELINES:
        raise UnknownModel(no_se_message(name))
    names = class_names(output_classes(net, built.input_size), given=classes, weights=weights if local else None,
                        default=built.default_names)
    digest = None
    if weights is None and family == "project":
        digest = sha256_file(weights_file(name))
    elif local:
        digest = sha256_file(Path(weights))
    source = str(weights) if local else RANDOM if weights is not None else built.source
    return LoadedModel(name, family, net, names, built.preprocess, dev, blocks, built.input_size, source, built.card,
                       weights_sha256=digest)


def wrap(net: nn.Module, *, name: str = "custom", class_names: Sequence[str] | None = None,
         input_size: tuple[int, int, int] | None = None, mean: Sequence[float] | None = None,
         std: Sequence[float] | None = None, device: str = "auto") -> LoadedModel:
    """An ``nn.Module`` of one's own, ready for capture (put in eval mode, gradients off).

    The preprocessing reads ``input_size``, ``mean`` and ``std`` from the arguments, else from
    the network's ``pretrained_cfg`` (timm's convention), else 224 x 224 with ImageNet's."""
    if not isinstance(net, nn.Module):
        raise UnknownModel(f"{name}: wrap needs a torch nn.Module, got {type(net).__name__}")
    preprocess, size = preprocessing(net, input_size, mean, std)
    dev = resolve_device(device)
    net = net.to(dev).eval().requires_grad_(False)
    blocks = _discover(net, name, size, dev)
    if not blocks:
        raise UnknownModel(no_se_message(name))
    count = output_classes(net, size)
    names = generic_names(count) if class_names is None else _names_given(class_names, count)
    return LoadedModel(name, "module", net, names, preprocess, dev, blocks, size, "given module")


def _discover(net: nn.Module, name: str, input_size: tuple[int, int, int], device: torch.device) -> list[BlockInfo]:
    """``discover``, with a network that fails on a blank picture of its input size one line."""
    try:
        return discover(net, input_size, device)
    except Exception as exc:  # noqa: BLE001 - a network of one's own may fail in any way
        raise UnknownModel(f"{name} fails on a blank {input_size[1]} x {input_size[2]} picture ({type(exc).__name__}: "
                           f"{exc}); give it its input size in pretrained_cfg['input_size']") from None


def _names_given(names: Sequence[str], count: int) -> list[str]:
    return class_names(count, given=list(names), weights=None)


def no_se_message(name: str) -> str:
    return _("{name}: found no SE blocks (looked for known SE module types and for modules that pool, excite through "
             "fc -> activation -> fc -> sigmoid and multiply their input); register your SE module like this: "
             "senet_viz.register_se_module(MySE, fc1='fc1', act='relu', fc2='fc2', gate='sigmoid')", name=name)


@dataclass
class _Built:
    """What a family's loader makes before the common steps (weights, classes, discovery)."""

    net: nn.Module
    preprocess: Callable[[Image.Image], torch.Tensor]
    input_size: tuple[int, int, int]
    default_names: Callable[[int], list[str]]
    source: str = ""
    card: dict | None = None


def _sized(build: Callable[[int | None], nn.Module], state: dict | None, file_name: str = "weights") -> nn.Module:
    """``build(None)``, built again with the class count of the weights where theirs differs (at
    most ``budget.MAX_CLASSES``, checked before that build)."""
    net = build(None)
    count = classes_in(state, net) if state is not None else None
    check_classes(count, file_name)
    if count is not None and count != classifier_width(net):
        net = build(count)
    return net


def _random_builder(family: str, name: str) -> Callable[[int | None], nn.Module]:
    """The family's randomly initialised network for ``name``, with ``k`` classes (None: its own)."""
    if family == "project":
        return PROJECT_MODELS[name].build
    if family == "timm":
        import timm

        return lambda k: timm.create_model(name, pretrained=False, **({} if k is None else {"num_classes": k}))
    import torchvision

    return lambda k: torchvision.models.get_model(name, weights=None, **({} if k is None else {"num_classes": k}))


def output_classes(net: nn.Module, input_size: tuple[int, int, int]) -> int:
    """The number of logits: the width of the last ``nn.Linear`` (the classifier), or, for a
    network without one, one forward of a blank picture."""
    width = classifier_width(net)
    if width is not None:
        return width
    anything = next(iter([*net.parameters(), *net.buffers()]), None)
    with torch.inference_mode():
        out = net.eval()(torch.zeros((1, *input_size), device=anything.device if anything is not None else "cpu"))
    if not isinstance(out, torch.Tensor) or out.dim() != 2:
        raise UnknownModel(f"the network's output is not a batch of class scores (got {type(out).__name__} "
                           f"{tuple(getattr(out, 'shape', ()))})")
    return int(out.shape[1])


def _load_project(name: str, weights, state) -> _Built:
    spec = PROJECT_MODELS[name]
    torch.manual_seed(0)  # random weights are the same on every load (inside load_model's fork_rng)
    net = _sized(spec.build, state, Path(str(weights)).name)
    built = _Built(net, cifar_preprocess, (3, 32, 32), _cifar_names)
    if weights is None:
        path = weights_file(name)
        if not path.is_file():
            raise WeightsUnavailable(
                f"{name}: not trained yet (no {path.name} in assets/weights); train it with the project's train "
                "command, load a weights file of your own, or use random weights"
            )
        load_into(net, path, name)
        built.source = f"shipped ({path.name})"
        if card_file(name).is_file():
            built.card = json.loads(card_file(name).read_text())
    return built


def _cifar_names(count: int) -> list[str]:
    from ..data import CIFAR10_CLASSES

    return list(CIFAR10_CLASSES) if count == len(CIFAR10_CLASSES) else generic_names(count)


def _imagenet_names(num_classes: int) -> list[str]:
    if num_classes == 1000:
        try:
            from timm.data import ImageNetInfo

            return [d.split(",")[0] for d in ImageNetInfo().label_descriptions()]
        except ImportError:
            pass
    return generic_names(num_classes)


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


def _load_timm(name: str, weights, state) -> _Built:
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
        net = _sized(_random_builder("timm", name), state, Path(str(weights)).name)
        source = ""
    cfg = timm.data.resolve_data_config({}, model=net)
    preprocess = timm.data.create_transform(**cfg)
    return _Built(net, preprocess, tuple(cfg["input_size"]), _imagenet_names, source)


def _torchvision_cached(name: str) -> bool:
    import torchvision

    try:
        w = torchvision.models.get_model_weights(name).DEFAULT
        return (Path(torch.hub.get_dir()) / "checkpoints" / Path(w.url).name).is_file()
    except Exception:  # noqa: BLE001 - a probe
        return False


def _load_torchvision(name: str, weights, state) -> _Built:
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
        net = _sized(_random_builder("torchvision", name), state, Path(str(weights)).name)
        source = ""
    preprocess = default.transforms()
    size = preprocess.crop_size[0]
    categories = list(default.meta["categories"])
    return _Built(net, preprocess, (3, size, size),
                  lambda k: categories if k == len(categories) else generic_names(k), source)


def _load_code(name: str, weights, state) -> _Built:
    """``package.module:function``: the network the user's own code builds (it runs here)."""
    net = _sized(lambda k: load_code(name, num_classes=k), state, Path(str(weights)).name)
    preprocess, size = preprocessing(net)
    names = getattr(net, "class_names", None)

    def default(count: int) -> list[str]:
        return [str(n) for n in names] if isinstance(names, list | tuple) and len(names) == count else generic_names(count)

    return _Built(net, preprocess, size, default, f"as built by {name}")

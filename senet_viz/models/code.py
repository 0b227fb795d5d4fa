"""Networks built by the user's own code: ``package.module:function`` (CLI ``--model``, the app's
sidebar where the operator allows it, ``senet_viz.load_model``).

The function is imported and called here, in this process: only a person who may run code on
this machine should name one. The module is looked up on ``sys.path`` and in the working folder.
"""

from __future__ import annotations

import importlib
import inspect
import os
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from ..errors import UnknownModel

#: The app builds networks from code only where the operator sets this to 1.
ALLOW_ENV = "SENET_VIZ_ALLOW_CODE_MODELS"
_NAME = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_]\w*$")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def is_code_name(name: str) -> bool:
    """``package.module:function``: the form of a network built by code."""
    return ":" in name


def code_models_allowed() -> bool:
    return os.environ.get(ALLOW_ENV, "").strip() == "1"


def refuse_code_unless_allowed(name: str) -> None:
    """For the app: a network from code is one line unless the operator allows them."""
    if is_code_name(name) and not code_models_allowed():
        raise UnknownModel(f"{name}: networks built by code are off on this server (their code would run in it); "
                           f"the operator allows them with {ALLOW_ENV}=1")


def _function(name: str) -> Callable[..., object]:
    if not _NAME.match(name):
        raise UnknownModel(f"{name!r}: a network from code is named package.module:function, e.g. mymodels:build")
    module_name, func_name = name.split(":")
    cwd = str(Path.cwd())
    added = cwd not in sys.path
    if added:  # looked up in the working folder too, for this import only
        sys.path.append(cwd)
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise UnknownModel(f"{name}: no module named {exc.name!r} (looked on the Python path and in {cwd})") from None
    except Exception as exc:  # noqa: BLE001 - the user's module may fail on import in any way
        raise UnknownModel(f"{name}: importing {module_name} failed: {type(exc).__name__}: {exc}") from None
    finally:
        if added and cwd in sys.path:
            sys.path.remove(cwd)
    func = getattr(module, func_name, None)
    if not callable(func):
        raise UnknownModel(f"{name}: {module_name} has no function {func_name!r}")
    return func


def load_code(name: str, *, num_classes: int | None = None) -> nn.Module:
    """Call the function ``name`` names; with ``num_classes`` where it accepts that argument."""
    func = _function(name)
    kwargs = {}
    if num_classes is not None:
        try:
            params = inspect.signature(func).parameters
        except (TypeError, ValueError):
            params = {}
        if "num_classes" in params or any(p.kind is p.VAR_KEYWORD for p in params.values()):
            kwargs["num_classes"] = num_classes
    try:
        net = func(**kwargs)
    except Exception as exc:  # noqa: BLE001 - the user's function may fail in any way
        raise UnknownModel(f"{name}: calling it failed: {type(exc).__name__}: {exc}") from None
    if not isinstance(net, nn.Module):
        raise UnknownModel(f"{name} returned {type(net).__name__}, not a torch nn.Module")
    return net


def preprocessing(net: nn.Module, input_size: tuple[int, int, int] | None = None, mean: Sequence[float] | None = None,
                  std: Sequence[float] | None = None) -> tuple[Callable[[Image.Image], torch.Tensor], tuple[int, int, int]]:
    """The picture -> tensor transform of a network of one's own: ``input_size``, ``mean`` and
    ``std`` as given, else from its ``pretrained_cfg`` or ``default_cfg`` (timm's convention),
    else 224 x 224 with ImageNet's mean and std. Shorter side scaled to size / crop_pct, centre
    crop (crop_pct 0.875 from 128 pixels up, 1 below: a 32 x 32 CIFAR picture is used whole)."""
    from timm.data import create_transform

    cfg = getattr(net, "pretrained_cfg", None) or getattr(net, "default_cfg", None) or {}
    cfg = cfg if isinstance(cfg, dict) else {}
    size = tuple(int(v) for v in (input_size or cfg.get("input_size") or (3, 224, 224)))
    if len(size) != 3 or size[0] != 3 or min(size) < 1:
        raise UnknownModel(f"input size {size}: expected (3, H, W)")
    crop_pct = float(cfg.get("crop_pct") or (0.875 if min(size[1:]) >= 128 else 1.0))
    transform = create_transform(input_size=size, mean=tuple(mean or cfg.get("mean") or IMAGENET_MEAN),
                                 std=tuple(std or cfg.get("std") or IMAGENET_STD), crop_pct=crop_pct,
                                 interpolation="bilinear")
    return transform, size

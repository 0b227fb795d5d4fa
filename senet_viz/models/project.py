"""The project's own CIFAR-10 models: names, constructors and shipped weight files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch
from PIL import Image
from torch import nn

from ..data import CIFAR10_CLASSES
from ..i18n import _
from ..resources import assets
from .cifar_resnet import CifarResNet

ASSETS = assets()
CIFAR_MEAN = (0.4914, 0.4822, 0.4465)
CIFAR_STD = (0.2470, 0.2435, 0.2616)


@dataclass(frozen=True)
class ProjectModel:
    depth: int
    se: bool
    options: dict = field(default_factory=dict)

    def build(self, num_classes: int | None = None) -> nn.Module:
        return CifarResNet(self.depth, num_classes or len(CIFAR10_CLASSES), se=self.se, **self.options)


PROJECT_MODELS: dict[str, ProjectModel] = {
    "se_resnet20_cifar10": ProjectModel(20, True),
    "resnet20_cifar10": ProjectModel(20, False),
    "se_resnet56_cifar10": ProjectModel(56, True),
    "resnet56_cifar10": ProjectModel(56, False),
}


def weights_file(name: str) -> Path:
    return ASSETS / "weights" / f"{name}.safetensors"


def card_file(name: str) -> Path:
    return ASSETS / "weights" / f"{name}.json"


def _cifar_size(w: int, h: int) -> tuple[int, int]:
    scale = 32 / min(w, h)
    return max(32, round(w * scale)), max(32, round(h * scale))


def cifar_geometry(img: Image.Image) -> Image.Image:
    """Shorter side to 32 (bilinear), centre crop to 32 x 32; a 32 x 32 picture stays as it is."""
    if img.size != (32, 32):
        img = img.resize(_cifar_size(*img.size), Image.BILINEAR, reducing_gap=3.0)
        left, top = (img.width - 32) // 2, (img.height - 32) // 2
        img = img.crop((left, top, left + 32, top + 32))
    return img


def cifar_geometry_tensor(x: torch.Tensor) -> torch.Tensor:
    """``cifar_geometry`` on a uint8 (..., 3, H, W) tensor on any device (antialiased bilinear,
    so close to Pillow's pixels, not equal)."""
    h, w = x.shape[-2:]
    if (h, w) == (32, 32):
        return x
    import torchvision.transforms.v2.functional as F

    nw, nh = _cifar_size(w, h)
    x = F.resize(x, [nh, nw], interpolation=F.InterpolationMode.BILINEAR, antialias=True)
    top, left = (nh - 32) // 2, (nw - 32) // 2
    return x[..., top : top + 32, left : left + 32]


def cifar_preprocess(img: Image.Image) -> torch.Tensor:
    """PIL RGB -> normalised tensor [3, 32, 32]: shorter side to 32, centre crop, ToTensor, Normalize."""
    img = cifar_geometry(img)
    x = torch.frombuffer(bytearray(img.tobytes()), dtype=torch.uint8).view(32, 32, 3)
    x = x.permute(2, 0, 1).float().div(255.0)
    mean = torch.tensor(CIFAR_MEAN).view(3, 1, 1)
    std = torch.tensor(CIFAR_STD).view(3, 1, 1)
    return (x - mean) / std


cifar_preprocess.mean, cifar_preprocess.std = CIFAR_MEAN, CIFAR_STD  # read by images.model_view


def training_summary(card: dict) -> str:
    """How a project model was trained, in one line, following ``init`` back to the first run:
    "144 one-cycle epochs (peak lr 0.4, batch 256) on NVIDIA H200 (3 min), then 20 epochs of
    weight averaging (lr 0.05) on CPU (...) (45 min)"."""
    parts = []
    init = card.get("init") or {}
    if init.get("card"):
        parts.append(training_summary(init["card"]))
    done = []
    if card.get("epochs"):
        recipe = card.get("recipe") or {}
        peak = str(recipe.get("schedule", "")).removeprefix("one-cycle, max lr ")
        done.append(_("{n} one-cycle epochs (peak lr {peak}, batch {batch})", n=card["epochs"], peak=peak,
                      batch=recipe.get("batch_size")))
    if card.get("swa"):
        done.append(_("{n} epochs of weight averaging (lr {lr})", n=card["swa"]["epochs"], lr=card["swa"]["lr"]))
    if done:
        parts.append(_("{what} on {device} ({minutes:.0f} min)", what=_(" and ").join(done), device=card.get("device"),
                       minutes=card.get("training_seconds", 0) / 60))
    return _(", then ").join(parts)


def architecture(card: dict) -> str:
    """A project model's architecture in words, from its card's depth and SE flag."""
    if "depth" not in card:
        return str(card.get("architecture", ""))
    if card.get("se"):
        return _("CIFAR ResNet-{depth} with SE blocks", depth=card["depth"])
    return _("CIFAR ResNet-{depth} (no SE)", depth=card["depth"])

"""Shared fixtures: tiny seeded models and pictures, and an isolated cache folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]
CIFAR = ROOT.parent / "shared" / "datasets" / "cifar10"

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # tests never wait on a hub
#: Where the model fixtures run: the CPU by default; ``SENET_VIZ_TEST_DEVICE=cuda`` runs the
#: exactness and thread tests of the capture on a GPU.
DEVICE = os.environ.get("SENET_VIZ_TEST_DEVICE", "cpu")
# Two threads for every test, also after an AppTest has loaded a model (the app sets its threads
# from SENET_VIZ_THREADS): the test order must not change the numbers' kernels.
os.environ["SENET_VIZ_THREADS"] = "2"
torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("SENET_VIZ_CACHE", str(tmp_path_factory.getbasetemp() / "cache"))


def randomise_batchnorm(net: torch.nn.Module, seed: int = 0) -> torch.nn.Module:
    """timm zero-initialises the last BatchNorm of each residual block, so a random-weight
    timm ResNet has U = 0 in every SE block; random BN statistics and affine parameters make
    U (and so z and s) non-trivial, which is what an exactness test needs."""
    g = torch.Generator().manual_seed(seed)
    for m in net.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            if m.weight is not None:
                m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
                m.bias.data.copy_(torch.randn(n, generator=g) * 0.1)
    return net


def random_picture(seed: int, size: tuple[int, int] = (48, 40)) -> Image.Image:
    rng = np.random.default_rng(seed)
    return Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8), "RGB")


@pytest.fixture(scope="session")
def se20():
    from senet_viz.models import load_model

    return load_model("se_resnet20_cifar10", weights="random", device=DEVICE)


@pytest.fixture(scope="session")
def seresnet50():
    from senet_viz.models import load_model

    m = load_model("seresnet50", weights="random", device=DEVICE)
    randomise_batchnorm(m.net)
    return m


@pytest.fixture(scope="session")
def legacy_seresnet50():
    from senet_viz.models import load_model

    m = load_model("legacy_seresnet50", weights="random", device=DEVICE)
    randomise_batchnorm(m.net)
    return m


@pytest.fixture(scope="session")
def mobilenet():
    from senet_viz.models import load_model

    return load_model("mobilenet_v3_large", weights="random", device=DEVICE)


def _handwritten(builder: str):
    from senet_viz.models import load_model

    return load_model(f"handwritten_se:{builder}", weights="random", device=DEVICE)


@pytest.fixture(scope="session")
def handwritten_selayer():
    return _handwritten("build_selayer")


@pytest.fixture(scope="session")
def handwritten_semodule():
    return _handwritten("build_semodule")


@pytest.fixture(scope="session")
def handwritten_squeeze_excite():
    return _handwritten("build_squeeze_excite")


def make_image_folder(root: Path, classes=("cat", "dog"), per_class: int = 3, size=(32, 32)) -> Path:
    for k, name in enumerate(classes):
        (root / name).mkdir(parents=True, exist_ok=True)
        for i in range(per_class):
            random_picture(100 * k + i, size).save(root / name / f"{i:04d}.png")
    return root

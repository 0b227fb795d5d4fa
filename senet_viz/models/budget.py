"""How large a network a request may make this process build, counted before anything is allocated.

``parameter_count`` builds the network with its parameters on PyTorch's ``meta`` device (shapes
without storage): a 1.3-billion-parameter RegNetY is counted in a tenth of a second and a few
megabytes. ``check`` refuses, in one line, a network over ``max_params`` parameters
(``SENET_VIZ_MAX_PARAMS``, default 200 million: SENet-154 passes, 115 million with 1,000 classes and 158 million with 21,843) and a weights file
whose classifier has more than ``MAX_CLASSES`` rows (``SENET_VIZ_MAX_CLASSES``, default 25,000:
ImageNet-21k's 21,843 classes pass), before the network is built at that size.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import torch
from torch import nn

from ..errors import SenetVizError
from ..i18n import _

MAX_PARAMS = int(os.environ.get("SENET_VIZ_MAX_PARAMS", 200_000_000))
MAX_CLASSES = int(os.environ.get("SENET_VIZ_MAX_CLASSES", 25_000))


class OverBudget(SenetVizError):
    """A network or a weights file larger than this server builds for a request."""


@contextmanager
def _parameters_on_meta() -> Iterator[None]:
    """Every parameter registered inside is moved to ``meta`` as it is registered (for builders
    that compute with real tensors, such as torchvision's RegNet widths, which fail under
    ``torch.device('meta')``). A layer's ``torch.empty`` is released before its pages are touched."""
    original = nn.Module.register_parameter

    def register(module: nn.Module, name: str, param: nn.Parameter | None) -> None:
        if param is not None and param.device.type != "meta":
            param = nn.Parameter(param.to("meta"), requires_grad=param.requires_grad)
        original(module, name, param)

    nn.Module.register_parameter = register
    try:
        yield
    finally:
        nn.Module.register_parameter = original


def parameter_count(build: Callable[[], nn.Module]) -> int:
    """Parameters of the network ``build()`` makes, counted without their storage."""
    try:
        with torch.device("meta"):
            net = build()
    except SenetVizError:
        raise
    except Exception:  # noqa: BLE001 - a builder that computes with real tensors fails on meta in its own way
        with _parameters_on_meta():
            net = build()
    return sum(p.numel() for p in net.parameters())


def check_classes(count: int | None, file_name: str) -> None:
    if count is not None and count > MAX_CLASSES:
        raise OverBudget(_("{file}: its classifier has {n:,} classes; this server builds at most {limit:,} "
                           "(SENET_VIZ_MAX_CLASSES)", file=file_name, n=count, limit=MAX_CLASSES))


def check_parameters(name: str, count: int, limit: int | None = None) -> None:
    limit = MAX_PARAMS if limit is None else limit
    if count > limit:
        raise OverBudget(_("{name} has {n:,.0f} million parameters; this server builds networks of at most {limit:,.0f} "
                           "million for a browser (SENET_VIZ_MAX_PARAMS)", name=name, n=count / 1e6, limit=limit / 1e6))

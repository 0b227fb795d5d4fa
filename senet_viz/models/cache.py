"""Loaded models shared by every session of a process, bounded by count and by parameters.

A classroom asks for a handful of networks; a stranger's browser may ask for many. ``ModelCache``
keeps the most recently used models while they number at most ``max_models`` and hold at most
``max_params`` parameters and buffers together (the one just loaded always stays), and builds
one model at a time: thirty browsers naming thirty networks queue, rather than thirty builds
running at once. A lookup of a model already held never waits for a build.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable

from .registry import LoadedModel

MAX_MODELS = int(os.environ.get("SENET_VIZ_MODEL_CACHE", 4))
MAX_CACHED_PARAMS = int(os.environ.get("SENET_VIZ_MODEL_CACHE_PARAMS", 300_000_000))


def size(model: LoadedModel) -> int:
    """Parameters and buffers of the model's network (what it holds in memory, in elements)."""
    return sum(t.numel() for t in (*model.net.parameters(), *model.net.buffers()))


class ModelCache:
    def __init__(self, max_models: int = MAX_MODELS, max_params: int = MAX_CACHED_PARAMS) -> None:
        self.max_models, self.max_params = max_models, max_params
        self._models: OrderedDict[Hashable, tuple[LoadedModel, int]] = OrderedDict()
        self._lock = threading.Lock()  # the dictionary
        self._building = threading.Lock()  # one build at a time

    def _held(self, key: Hashable) -> LoadedModel | None:
        with self._lock:
            if key in self._models:
                self._models.move_to_end(key)
                return self._models[key][0]
        return None

    def get(self, key: Hashable, build: Callable[[], LoadedModel]) -> LoadedModel:
        """The model held for ``key``, else ``build()`` (one build at a time per process); a build
        that raises leaves nothing held."""
        model = self._held(key)
        if model is not None:
            return model
        with self._building:
            model = self._held(key)  # built while this one waited
            if model is not None:
                return model
            model = build()
            with self._lock:
                self._models[key] = (model, size(model))
                while len(self._models) > 1 and (len(self._models) > self.max_models or self.total() > self.max_params):
                    self._models.popitem(last=False)
            return model

    def total(self) -> int:
        return sum(n for _, n in self._models.values())

    def keys(self) -> list[Hashable]:
        with self._lock:
            return list(self._models)

    def clear(self) -> None:
        with self._lock:
            self._models.clear()

"""Models: the SE block, the project's CIFAR ResNets and the registry of every loadable network."""

from .registry import DEFAULT_MODEL, RANDOM, LoadedModel, ModelEntry, list_models, load_model, weights_available

__all__ = ["DEFAULT_MODEL", "RANDOM", "LoadedModel", "ModelEntry", "list_models", "load_model", "weights_available"]

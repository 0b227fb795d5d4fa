"""Reading local weight files safely: .safetensors, or .pth/.pt through torch.load(weights_only=True).

Nothing in a weight file is ever executed: safetensors holds only tensors, and
``weights_only=True`` refuses any pickle that would build an object other than tensors and
plain containers.
"""

from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from ..errors import WeightsUnavailable

SUFFIXES = (".safetensors", ".pth", ".pt", ".bin")


def read_state_dict(path: str | Path) -> dict[str, torch.Tensor]:
    path = Path(path)
    if not path.is_file():
        raise WeightsUnavailable(f"{path}: no such weights file")
    if path.suffix not in SUFFIXES:
        raise WeightsUnavailable(f"{path.name}: weights must be {', '.join(SUFFIXES)}")
    if path.suffix == ".safetensors":
        from safetensors import SafetensorError
        from safetensors.torch import load_file

        try:
            return load_file(str(path))
        except (SafetensorError, OSError, ValueError) as exc:
            raise WeightsUnavailable(f"{path.name}: not a readable safetensors file ({exc})") from None
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as exc:
        if "unsupported global" in str(exc).lower():  # a class or function to import: code
            raise WeightsUnavailable(
                f"{path.name}: refused: the file holds Python objects, not only tensors (it could run code)"
            ) from None
        raise WeightsUnavailable(f"{path.name}: not a readable PyTorch weights file (its pickle is damaged)") from None
    except Exception:  # noqa: BLE001 - zip, EOF and format errors of every kind
        raise WeightsUnavailable(
            f"{path.name}: not a PyTorch weights file (neither torch.save's zip archive nor a pickle of tensors)"
        ) from None
    for key in ("state_dict", "model", "model_state_dict"):  # common checkpoint wrappers
        if isinstance(obj, dict) and isinstance(obj.get(key), dict):
            obj = obj[key]
    if not isinstance(obj, dict) or not all(isinstance(v, torch.Tensor) for v in obj.values()):
        raise WeightsUnavailable(f"{path.name}: does not hold a state dict of tensors")
    return obj


def clean(state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Keys without the prefixes of DataParallel (``module.``) and torch.compile (``_orig_mod.``)."""
    return {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in state.items()}


def classifier_path(net: nn.Module) -> str | None:
    """The module path of the network's classifier: its last ``nn.Linear`` (timm's and
    torchvision's heads, and most hand-written ones)."""
    last = None
    for path, m in net.named_modules():
        if isinstance(m, nn.Linear):
            last = path
    return last


def classifier_width(net: nn.Module) -> int | None:
    """The network's class count as its classifier says it (the last ``nn.Linear``'s outputs);
    None for a network without one (``registry.output_classes`` then runs a blank picture)."""
    path = classifier_path(net)
    return net.get_submodule(path).out_features if path is not None else None


def classes_in(state: dict[str, torch.Tensor], net: nn.Module) -> int | None:
    """The class count the weights were made for, read from the classifier's weight shape;
    None where the file has no tensor for ``net``'s classifier."""
    path = classifier_path(net)
    weight = state.get(f"{path}.weight") if path is not None else None
    return int(weight.shape[0]) if weight is not None and weight.dim() >= 1 else None


def _shape(t: torch.Tensor) -> str:
    return "(" + ", ".join(str(d) for d in t.shape) + ")"


def load_state(net: nn.Module, state: dict[str, torch.Tensor], file_name: str, model_name: str) -> None:
    """``state`` into ``net``; a file made for another network is one line naming the first
    layer that does not fit (a shape, a missing or an unexpected tensor)."""
    own = net.state_dict()
    for key, tensor in own.items():
        if key in state and state[key].shape != tensor.shape:
            raise WeightsUnavailable(f"{file_name}: does not fit {model_name}: {key} is {_shape(state[key])} in the file, "
                                     f"{_shape(tensor)} in the network")
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    if missing or unexpected:
        first = f"first missing: {missing[0]}" if missing else f"first unexpected: {unexpected[0]}"
        raise WeightsUnavailable(f"{file_name}: does not fit {model_name} ({len(missing)} missing and "
                                 f"{len(unexpected)} unexpected tensors; {first})")
    net.load_state_dict(state, strict=True)


def load_into(net: nn.Module, path: str | Path, model_name: str) -> None:
    """Load a local file into ``net``; a file made for another architecture is one clear error."""
    load_state(net, clean(read_state_dict(path)), Path(path).name, model_name)

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


def load_into(net: nn.Module, path: str | Path, model_name: str) -> None:
    """Load a local file into ``net``; a file made for another architecture is one clear error."""
    state = read_state_dict(path)
    state = {k.removeprefix("module.").removeprefix("_orig_mod."): v for k, v in state.items()}
    result = net.load_state_dict(state, strict=False)
    if result.missing_keys or result.unexpected_keys:
        missing, unexpected = len(result.missing_keys), len(result.unexpected_keys)
        raise WeightsUnavailable(
            f"{Path(path).name}: does not fit {model_name} ({missing} missing and {unexpected} unexpected tensors)"
        )

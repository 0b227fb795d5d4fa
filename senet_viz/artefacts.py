"""The shipped artefacts and the rule that ties them to weights.

Files under ``assets/``: weights and model cards (``weights/NAME.safetensors``, ``NAME.json``),
statistics of the CIFAR-10 test split (``stats/NAME-cifar10-test.npz``) and stage ablations
(``ablation/NAME-cifar10-test.json``). Each artefact made from weights records the SHA-256 of
the weights file it was made with (``weights_sha256``), and is handed out only for a model
whose loaded weights have that hash: a figure of one weights file is never shown for another.
Uploaded weights files are stored here too, so pages and the command line ask one place.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path

from .i18n import T, Text
from .models.project import ASSETS, PROJECT_MODELS, card_file, weights_file
from .models.registry import LoadedModel
from .stats import ExcitationStats, load_stats

SPLIT = "cifar10-test"
#: Uploaded weights files kept on disk; older ones are removed.
WEIGHT_FILES_KEPT = 8


def stats_file(name: str) -> Path:
    return ASSETS / "stats" / f"{name}-{SPLIT}.npz"


def ablation_file(name: str) -> Path:
    return ASSETS / "ablation" / f"{name}-{SPLIT}.json"


def film_file(name: str) -> Path:
    """The film of the model's training run (``senet_viz.film``), probed on the CIFAR-10 test split."""
    return ASSETS / "films" / f"{name}-{SPLIT}.npz"


def twin_name(name: str) -> str | None:
    """The project model without SE that was trained with the same recipe: se_resnet20_cifar10 ->
    resnet20_cifar10; None where there is none."""
    twin = name.removeprefix("se_")
    return twin if name.startswith("se_") and twin in PROJECT_MODELS else None


def read_card(name: str) -> dict | None:
    path = card_file(name)
    return json.loads(path.read_text()) if path.is_file() else None


@dataclass(frozen=True)
class Artefact:
    """A shipped artefact as it applies to a loaded model: ``value`` when its hash matches,
    else None with ``reason`` saying why in one line."""

    value: object | None
    reason: Text | str = ""  # rendered in the language of whoever reads it (artefacts are shared by sessions)


def _matches(model: LoadedModel, recorded: str | None, what: Text) -> Text | str:
    """'' when the artefact was made with the model's weights, else the reason it is not shown."""
    if model.random_weights:
        return T("the shipped {what} belong to trained weights, not to random ones", what=what)
    if model.weights_sha256 is None:
        return T("no {what} are shipped for {model}", what=what, model=model.name)
    if recorded is None:
        return T("the shipped {what} do not say which weights made them", what=what)
    if recorded != model.weights_sha256:
        return T("the shipped {what} were made with other weights than the ones loaded ({weights})", what=what,
                 weights=Path(model.weights).name)
    return ""


def shipped_stats(model: LoadedModel) -> Artefact:
    path = stats_file(model.name)
    if not path.is_file():
        return Artefact(None, T("no {what} are shipped for {model}", what=T("statistics"), model=model.name))
    stats = load_stats(path)
    reason = _matches(model, stats.meta.get("weights_sha256"), T("statistics"))
    return Artefact(None if reason else stats, reason)


def shipped_ablation(model: LoadedModel) -> Artefact:
    path = ablation_file(model.name)
    if not path.is_file():
        return Artefact(None, T("no {what} are shipped for {model}", what=T("ablation results"), model=model.name))
    result = json.loads(path.read_text())
    reason = _matches(model, result.get("weights_sha256"), T("ablation results"))
    return Artefact(None if reason else result, reason)


def shipped_film(model: LoadedModel) -> Artefact:
    """The film of the model's training run, when the loaded weights are the ones it ends with."""
    from .film import load_film

    path = film_file(model.name)
    if not path.is_file():
        return Artefact(None, T("no {what} are shipped for {model}", what=T("film frames"), model=model.name))
    film = load_film(path)
    reason = _matches(model, film.weights_sha256, T("film frames"))
    return Artefact(None if reason else film, reason)


def model_card(model: LoadedModel) -> dict | None:
    """The card of the loaded weights (the shipped card only when its hash matches)."""
    card = model.card
    if card is None or model.weights_sha256 is None or card.get("weights_sha256") != model.weights_sha256:
        return None
    return card


def twin_card(model: LoadedModel) -> dict | None:
    """The card of the shipped twin without SE, when the model itself runs its shipped weights."""
    twin = twin_name(model.name)
    if twin is None or model_card(model) is None:
        return None
    card = read_card(twin)
    if card is None or card.get("weights_sha256") is None or not weights_file(twin).is_file():
        return None
    return card


def stats_matches(stats: ExcitationStats, model: LoadedModel) -> bool:
    """Statistics computed here for a model (no file): they record the weights hash too."""
    return stats.meta.get("weights_sha256") == model.weights_sha256 and stats.blocks == [b.name for b in model.blocks]


_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def store_weights(data: bytes, name: str, folder: Path) -> Path:
    """An uploaded weights file on disk under ``folder``/<sha256 prefix>/<its own name>, so
    messages name the file the user chose; written once per content, the most recent kept."""
    digest = hashlib.sha256(data).hexdigest()[:32]
    safe = _SAFE.sub("_", Path(name).name).strip("._") or "weights"
    path = folder / digest / safe
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".part")
        tmp.write_bytes(data)
        tmp.replace(path)
    kept = sorted((d for d in folder.iterdir() if d.is_dir()), key=lambda d: d.stat().st_mtime)
    path.parent.touch()
    for old in kept[:-WEIGHT_FILES_KEPT]:
        if old != path.parent:
            for f in old.iterdir():
                f.unlink(missing_ok=True)
            old.rmdir()
    return path

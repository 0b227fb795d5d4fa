"""SENet Explorer's Python interface: SE networks, their squeeze descriptors z and excitations s.

    import senet_viz

    model = senet_viz.load_model()                           # the shipped SE-ResNet-20 (CIFAR-10)
    cap = senet_viz.capture(model, [picture])                # z and s of every SE block
    cap.squeeze["SE_4_3"], cap.excitation["SE_4_3"]          # (N, C) arrays
    stats = senet_viz.class_statistics(model, "pictures/")   # per class, over a folder or a DataLoader
    senet_viz.excitation_figure(stats)                       # the paper's excitation figure
    film = senet_viz.training_film()                          # how SE learned, epoch by epoch
    film.stats(10).specificity("SE_4_3")

Networks of one's own: ``load_model("seresnet18", weights="ft.safetensors", classes=[...])``,
``load_model("mymodels:build")`` (code that builds the network), or ``wrap(net)`` for a module
in hand. SE blocks are found by type (the project's, timm's, torchvision's), by what they do
(hand-written forms), or after ``register_se_module``. ``docs/walkthrough.py`` shows it all.
"""

from __future__ import annotations

__version__ = "0.2.0"

from collections.abc import Iterable, Sequence
from pathlib import Path

from .capture import Capture, capture
from .errors import SenetVizError
from .film import Film
from .models import DEFAULT_MODEL, LoadedModel, list_models, load_model
from .models.blocks import register_se_module
from .models.registry import wrap
from .stats import ExcitationStats, load_stats

__all__ = [
    "DEFAULT_MODEL", "Capture", "ExcitationStats", "LoadedModel", "SenetVizError", "capture", "class_statistics",
    "excitation_figure", "Film", "list_models", "load_model", "load_stats", "register_se_module", "training_film", "wrap",
]


def training_film(name: str = DEFAULT_MODEL) -> Film:
    """The film of a shipped model's training run: ``epochs`` (sorted), ``stats(epoch)`` (an
    ``ExcitationStats`` on the film's fixed probe of test pictures), ``sources[epoch]`` (replayed,
    checkpoint, training or final), ``weights_sha256`` (the finished weights it belongs to) and
    ``replay`` (how it was made: ``max_loss_gap`` against the run's history, the replayed epochs).
    A model without a film is one ``SenetVizError``."""
    from .artefacts import film_file
    from .film import load_film

    path = film_file(name)
    if not path.is_file():
        raise SenetVizError(f"{name} has no training film (no {path.name} in assets/films); the project's train command "
                            "records one for every run it makes (--film-probe)")
    return load_film(path)


def class_statistics(model: LoadedModel, pictures: str | Path | Iterable, *, class_names: Sequence[str] | None = None,
                     limit_per_class: int | None = None, batch_size: int = 64) -> ExcitationStats:
    """Per-class statistics of z and s for every SE block (means, spreads, histograms of s).

    ``pictures``: a folder with one sub-folder per class, an archive of one, ``"cifar10:test"``,
    or (x, y) batches of preprocessed pictures and labels such as a ``DataLoader`` yields; for
    batches the class names come from ``class_names`` or the loader's ``dataset.classes``.
    Folders are read in this process (no loader workers), as a notebook expects.
    """
    from .collect import batch_stats, compute_stats
    from .data import open_source

    if isinstance(pictures, str | Path):
        source = open_source(pictures).limit_per_class(limit_per_class)
        return compute_stats(model, source, batch_size=batch_size, workers=0)
    names = class_names if class_names is not None else getattr(getattr(pictures, "dataset", None), "classes", None)
    if names is None:
        raise SenetVizError("batches of pictures need their class names: pass class_names=[...]")
    return batch_stats(model, pictures, list(names))


def excitation_figure(stats: ExcitationStats, blocks: list[str] | None = None, classes: list[str] | None = None, *,
                      subset: str = "sample", n: int = 50):
    """The paper's excitation figure (Fig. 6 of the TPAMI version) as a matplotlib ``Figure``:
    class-mean s per channel for each block (by default one block per stage), with the all-class
    mean dashed. ``classes``: by default the first four; ``subset``: "sample" shows ``n``
    channels evenly spread, "all" every channel."""
    from .plots import excitation_matplotlib

    return excitation_matplotlib(stats, blocks, classes, subset=subset, n=n)

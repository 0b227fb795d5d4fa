"""The offline gallery: four scikit-image photos and the first 10 CIFAR-10 test pictures of each
class, shipped in assets/gallery/ (made by scripts/make_gallery.py), so every machine has them.

Keys name a picture in links: a photo's name ("cat", "coffee", ...) or "cifar-<class>-<k>"
(k = 0..9, the k-th test picture of that class in file order); "cifar-<class>" is k = 0.
"""

from __future__ import annotations

import io
from functools import lru_cache

from .i18n import _
from .models.project import ASSETS

CIFAR_DIR = ASSETS / "gallery" / "cifar10"
#: scikit-image photos by gallery key, and the CIFAR-10 class of those that have one.
PHOTOS = {"cat": "chelsea", "coffee": "coffee", "rocket": "rocket", "astronaut": "astronaut"}
PHOTO_CLASSES = {"cat": "cat"}
PHOTOS_GROUP = "photos"


@lru_cache(maxsize=1)
def _cifar_files() -> dict[str, list[str]]:
    """{class: [file name, ...]} of the shipped CIFAR-10 pictures, in file order."""
    if not CIFAR_DIR.is_dir():
        return {}
    return {d.name: sorted(p.name for p in d.glob("*.jpg")) for d in sorted(CIFAR_DIR.iterdir()) if d.is_dir()}


def cifar_classes() -> list[str]:
    return list(_cifar_files())


def keys() -> list[str]:
    """Every gallery key: the photos, then each class's CIFAR-10 pictures."""
    return list(PHOTOS) + [f"cifar-{c}-{k}" for c, names in _cifar_files().items() for k in range(len(names))]


def resolve(key: str | None) -> str | None:
    """The gallery key ``key`` names (``cifar-<class>`` is its first picture), or None."""
    if key in PHOTOS:
        return key
    if key and key.startswith("cifar-"):
        cls, _dash, k = key.removeprefix("cifar-").rpartition("-")
        if not cls or not k.isdigit():
            cls, k = key.removeprefix("cifar-"), "0"
        names = _cifar_files().get(cls, [])
        if int(k) < len(names):
            return f"cifar-{cls}-{int(k)}"
    return None


def group(key: str) -> str:
    """'photos' or the CIFAR-10 class of a (resolved) key."""
    return PHOTOS_GROUP if key in PHOTOS else key.removeprefix("cifar-").rpartition("-")[0]


def groups() -> list[str]:
    return [PHOTOS_GROUP, *cifar_classes()]


def in_group(name: str) -> list[str]:
    return [k for k in keys() if group(k) == name]


def true_class(key: str) -> str | None:
    """The CIFAR-10 class the picture shows, where it has one."""
    return PHOTO_CLASSES.get(key) if key in PHOTOS else group(key)


def caption(key: str, cifar_model: bool) -> str:
    """A gallery entry's label; for a CIFAR model, whether a photo has a CIFAR class at all."""
    if key not in PHOTOS:
        cls, _dash, k = key.removeprefix("cifar-").rpartition("-")
        return f"{cls} #{k}"
    if not cifar_model:
        return key
    if key in PHOTO_CLASSES:
        return _("{key} (CIFAR class: {cls})", key=key, cls=PHOTO_CLASSES[key])
    return _("{key} (no CIFAR class)", key=key)


def picture_bytes(key: str) -> bytes:
    """The encoded picture of a resolved key: the CIFAR JPEG as shipped, a photo as PNG."""
    if key not in PHOTOS:
        cls, _dash, k = key.removeprefix("cifar-").rpartition("-")
        return (CIFAR_DIR / cls / _cifar_files()[cls][int(k)]).read_bytes()
    import skimage.data
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(getattr(skimage.data, PHOTOS[key])()).save(buf, "PNG")
    return buf.getvalue()

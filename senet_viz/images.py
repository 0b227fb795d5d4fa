"""The one picture loader used by the CLI, the app and the data sources.

Every picture enters through ``load_image``: a byte limit, a pixel limit checked from the
header before any decoding (decompression bombs), an allow-list of formats, truncated and
corrupt files refused, EXIF orientation applied, the first frame of an animation, and every
mode (RGBA, P, LA, L, I;16, I, F, CMYK, ...) converted to 8-bit RGB.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import BinaryIO

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageError
from .i18n import _

MAX_BYTES = 25 * 1024 * 1024
MAX_PIXELS = 40_000_000
FORMATS = frozenset({"JPEG", "PNG", "GIF", "BMP", "TIFF", "WEBP", "PPM", "MPO"})
#: File suffixes the data sources treat as pictures.
SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"})


def _read(source: str | Path | bytes | BinaryIO, max_bytes: int) -> tuple[bytes, str]:
    if isinstance(source, (bytes, bytearray, memoryview)):
        data, label = bytes(source), "picture"
    elif isinstance(source, (str, Path)):
        path = Path(source)
        label = path.name
        try:
            if path.stat().st_size > max_bytes:
                raise ImageError(_("{name}: larger than {mib} MiB", name=label, mib=max_bytes // (1024 * 1024)))
            data = path.read_bytes()
        except FileNotFoundError:
            raise ImageError(_("{name}: no such file", name=label)) from None
        except IsADirectoryError:
            raise ImageError(_("{name}: is a folder, not a picture", name=label)) from None
        except OSError as exc:
            raise ImageError(_("{name}: cannot be read ({reason})", name=label, reason=exc.strerror or exc)) from None
    else:
        label = getattr(source, "name", "picture")
        data = source.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise ImageError(_("{name}: larger than {mib} MiB", name=label, mib=max_bytes // (1024 * 1024)))
    if not data:
        raise ImageError(_("{name}: empty file", name=label))
    return data, str(label)


def read_picture(source: str | Path | bytes, *, max_bytes: int = MAX_BYTES) -> bytes:
    """A picture's bytes, undecoded, under the same byte limit and read errors as ``load_image``."""
    return _read(source, max_bytes)[0]


def _to_rgb(img: Image.Image) -> Image.Image:
    if img.mode in ("I;16", "I;16B", "I;16L", "I", "F"):
        a = np.asarray(img, dtype=np.float64)
        lo, hi = float(a.min()), float(a.max())
        a = np.zeros_like(a) if hi <= lo else (a - lo) / (hi - lo) * 255.0
        img = Image.fromarray(a.round().astype(np.uint8), "L")
    if img.mode == "P":
        img = img.convert("RGBA" if "transparency" in img.info else "RGB")
    if img.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, rgba)
    return img.convert("RGB") if img.mode != "RGB" else img


def load_image(
    source: str | Path | bytes | BinaryIO, *, max_bytes: int = MAX_BYTES, max_pixels: int = MAX_PIXELS
) -> Image.Image:
    """Decode one picture into an RGB ``PIL.Image``, or raise ``ImageError`` with one clear line."""
    data, label = _read(source, max_bytes)
    try:
        img = Image.open(io.BytesIO(data))
    except UnidentifiedImageError:
        raise ImageError(_("{name}: not a picture (or a format that is not supported)", name=label)) from None
    except Exception as exc:  # noqa: BLE001 - a hostile header can raise nearly anything
        raise ImageError(_("{name}: not a readable picture ({error})", name=label, error=type(exc).__name__)) from None
    if img.format not in FORMATS:
        raise ImageError(_("{name}: format {format} is not accepted ({accepted})", name=label, format=img.format,
                           accepted=", ".join(sorted(FORMATS))))
    width, height = img.size
    if width < 1 or height < 1:
        raise ImageError(_("{name}: has no pixels", name=label))
    if width * height > max_pixels:
        raise ImageError(_("{name}: {width}x{height} pixels is over the limit of {limit:,}", name=label, width=width,
                           height=height, limit=max_pixels))
    try:
        img.seek(0)
        img.load()
        img = ImageOps.exif_transpose(img) or img
        return _to_rgb(img)
    except Image.DecompressionBombError:
        raise ImageError(_("{name}: too many pixels (decompression bomb)", name=label)) from None
    except Exception as exc:  # noqa: BLE001 - truncated or corrupt data
        raise ImageError(_("{name}: truncated or corrupt picture ({error})", name=label, error=exc)) from None


def _normalisation(preprocess) -> tuple[tuple[float, ...], tuple[float, ...]] | None:
    """The (mean, std) a preprocessing normalises with, read from its ``mean`` and ``std``
    attributes (the project's CIFAR preprocess, a torchvision weights transform) or those of a
    Normalize inside a Compose (timm); None if none is found."""
    for t in [preprocess, *getattr(preprocess, "transforms", [])]:
        if hasattr(t, "mean") and hasattr(t, "std"):
            return tuple(float(v) for v in t.mean), tuple(float(v) for v in t.std)
    return None


def model_view(preprocess, img: Image.Image) -> Image.Image:
    """The picture as the network receives it: ``preprocess`` applied (resize, crop), then its
    normalisation undone so the tensor shows as colours. Without a known normalisation the
    tensor is stretched to [0, 255]."""
    import numpy as np

    x = preprocess(img).detach().float().cpu().numpy()  # (3, H, W)
    norm = _normalisation(preprocess)
    if norm is not None:
        mean, std = (np.array(v, dtype=np.float32)[:, None, None] for v in norm)
        x = x * std + mean
    else:
        x = (x - x.min()) / max(float(x.max() - x.min()), 1e-12)
    return Image.fromarray((np.clip(x, 0, 1) * 255).round().astype(np.uint8).transpose(1, 2, 0), "RGB")

"""Pictures into the network in batches: decode many JPEGs in one call, preprocess a batch at once.

The statistics read thousands of pictures; going picture by picture through ``load_image``
and the model's preprocessing costs more than the forward of a small network. Here:

- A model's preprocessing is split into its geometry (resize, crop: a picture in, a picture
  out) and its tensor step (to float in [0, 1], then normalise by mean and std). The split is
  accepted only when, on a probe picture, geometry then tensor step reproduces the model's
  own preprocessing bit for bit; otherwise every picture goes the one-picture way.
- A JPEG whose header passes the same checks as ``load_image`` (size, pixel limit, 8-bit, gray
  or colour, an EXIF orientation read from the header) is decoded with
  ``torchvision.io.decode_jpeg`` over the whole batch: on the CPU in the loader workers (the
  pixels are the same as Pillow's, both being libjpeg-turbo; the tests check it), on CUDA on
  the GPU, where resize and crop then run on the device too.
- Every other picture (PNG, CMYK JPEG, a JPEG with XMP, anything odd) and every JPEG the batch
  decoder refuses goes through ``load_image``, with its checks and its one-line errors, and is
  counted: nothing is skipped silently.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from PIL import Image

from .data import LabelledPictures
from .errors import ImageError
from .images import MAX_PIXELS

# Pillow's ImageOps.exif_transpose, by EXIF orientation
_TRANSPOSE = {2: Image.Transpose.FLIP_LEFT_RIGHT, 3: Image.Transpose.ROTATE_180, 4: Image.Transpose.FLIP_TOP_BOTTOM,
              5: Image.Transpose.TRANSPOSE, 6: Image.Transpose.ROTATE_270, 7: Image.Transpose.TRANSVERSE,
              8: Image.Transpose.ROTATE_90}
_SOF_DECODED = {0xC0, 0xC1, 0xC2}  # baseline, extended and progressive Huffman
_SOF_OTHER = {0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF}
_XMP = b"http://ns.adobe.com/xap/1.0/"


@dataclass(frozen=True)
class JpegHeader:
    width: int
    height: int
    components: int
    orientation: int  # EXIF orientation, 1 when there is none


def _orientation(tiff: bytes) -> int | None:
    """The orientation tag (0x0112) of IFD0 in an EXIF TIFF block; 1 without one; None when the
    block is malformed (the one loader then decides)."""
    if len(tiff) < 8 or tiff[:2] not in (b"II", b"MM"):
        return None
    order = "little" if tiff[:2] == b"II" else "big"
    at = int.from_bytes(tiff[4:8], order)
    if at + 2 > len(tiff):
        return None
    for k in range(int.from_bytes(tiff[at : at + 2], order)):
        entry = tiff[at + 2 + 12 * k : at + 14 + 12 * k]
        if len(entry) < 12:
            return None
        if int.from_bytes(entry[:2], order) == 0x0112:
            return int.from_bytes(entry[8:10], order) if int.from_bytes(entry[2:4], order) == 3 else None
    return 1


def jpeg_header(data: bytes) -> JpegHeader | None:
    """Size, components and orientation of a JPEG the batch decoder may take, read from its
    markers; None for anything else (not a JPEG, no end marker, 12-bit, CMYK, lossless or
    arithmetic coding, XMP metadata that may carry an orientation, malformed EXIF)."""
    if data[:2] != b"\xff\xd8" or data[-2:] != b"\xff\xd9":
        return None
    i, n, orientation, frame = 2, len(data), 1, None
    seen_exif = False
    while i + 4 <= n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
            continue
        if marker == 0x01 or 0xD0 <= marker <= 0xD8:  # markers without a length
            i += 2
            continue
        length = int.from_bytes(data[i + 2 : i + 4], "big")
        segment = data[i + 4 : i + 2 + length]
        if length < 2 or len(segment) != length - 2:
            return None
        if marker == 0xE1 and segment.startswith(b"Exif\0\0") and not seen_exif:  # Pillow reads the first
            seen_exif = True
            orientation = _orientation(segment[6:])
            if orientation is None:
                return None
        elif marker == 0xE1 and segment.startswith(_XMP):
            return None
        elif marker in _SOF_DECODED:
            if len(segment) < 6 or segment[0] != 8 or segment[5] not in (1, 3):
                return None
            frame = (int.from_bytes(segment[3:5], "big"), int.from_bytes(segment[1:3], "big"), segment[5])
        elif marker in _SOF_OTHER:
            return None
        elif marker == 0xDA:  # start of scan: the header is over
            break
        i += 2 + length
    if frame is None:
        return None
    return JpegHeader(frame[0], frame[1], frame[2], orientation)


def _orient_tensor(x: torch.Tensor, orientation: int) -> torch.Tensor:
    """EXIF orientation on a (C, H, W) tensor, the same pixel moves as Pillow's transposes."""
    if orientation in (2, 4):
        return x.flip(-1 if orientation == 2 else -2)
    if orientation == 3:
        return x.flip(-1, -2)
    if orientation in (5, 6, 7, 8):
        t = x.transpose(-1, -2)  # 5: TRANSPOSE
        if orientation == 6:  # ROTATE_270 (clockwise 90)
            t = t.flip(-1)
        elif orientation == 7:  # TRANSVERSE
            t = t.flip(-1, -2)
        elif orientation == 8:  # ROTATE_90 (counter-clockwise)
            t = t.flip(-2)
        return t
    return x


# ---------------------------------------------------------------------------------------
# The model's preprocessing, split


@dataclass
class InputPlan:
    """A preprocessing split into geometry and a tensor step: ``preprocess(img)`` equals
    ``normalise(geometry(img))`` (checked on a probe).

    geometry: PIL picture -> PIL picture of the network's input size.
    device_geometry: the same resize and crop on a uint8 (C, H, W) tensor on any device (pixel
        values close to Pillow's, not equal), or None where it is not known.
    identity: the geometry leaves a picture of the input size as it is.
    """

    size: tuple[int, int]  # (H, W)
    mean: tuple[float, ...]
    std: tuple[float, ...]
    geometry: Callable[[Image.Image], Image.Image]
    device_geometry: Callable[[torch.Tensor], torch.Tensor] | None
    identity: bool = False

    def normalise(self, pixels: torch.Tensor) -> torch.Tensor:
        """uint8 (N, H, W, 3) -> float (N, 3, H, W): x / 255, then (x - mean) / std, the same
        float32 operations as ToTensor and Normalize, so the same numbers."""
        mean = torch.tensor(self.mean, device=pixels.device).view(1, -1, 1, 1)
        std = torch.tensor(self.std, device=pixels.device).view(1, -1, 1, 1)
        x = pixels.permute(0, 3, 1, 2).float().div(255.0)
        return ((x - mean) / std).contiguous()


def _cifar_parts():
    from .models.project import CIFAR_MEAN, CIFAR_STD, cifar_geometry, cifar_geometry_tensor

    return (32, 32), CIFAR_MEAN, CIFAR_STD, cifar_geometry, cifar_geometry_tensor


def _compose_parts(preprocess):
    """timm's and torchvision's ``Compose([Resize, CenterCrop, (Maybe)ToTensor, Normalize])``."""
    from torchvision import transforms

    steps = list(preprocess.transforms)
    to_tensor = next((k for k, t in enumerate(steps) if "ToTensor" in type(t).__name__), None)
    if to_tensor is None or len(steps) != to_tensor + 2 or not hasattr(steps[-1], "mean"):
        return None
    geometric = steps[:to_tensor]
    if not all(isinstance(t, (transforms.Resize, transforms.CenterCrop)) for t in geometric):
        return None
    crop = next((t.size for t in geometric if isinstance(t, transforms.CenterCrop)), None)
    if crop is None:
        return None
    size = tuple(crop) if len(crop) == 2 else (crop[0], crop[0])
    geometry = transforms.Compose(geometric)  # Resize and CenterCrop take PIL pictures and tensors alike
    return size, tuple(float(v) for v in steps[-1].mean), tuple(float(v) for v in steps[-1].std), geometry, geometry


def _classification_parts(preprocess):
    """torchvision's weights transforms (``ImageClassification``)."""
    import torchvision.transforms.functional as F

    def geometry(img):
        img = F.resize(img, preprocess.resize_size, interpolation=preprocess.interpolation, antialias=preprocess.antialias)
        return F.center_crop(img, preprocess.crop_size)

    crop = preprocess.crop_size[0]
    return (crop, crop), tuple(preprocess.mean), tuple(preprocess.std), geometry, geometry


def _probe(size: tuple[int, int]) -> Image.Image:
    rng = np.random.default_rng(0)
    return Image.fromarray(rng.integers(0, 256, (size[0], size[1], 3), dtype=np.uint8), "RGB")


def plan_for(preprocess, input_size: tuple[int, int, int]) -> InputPlan | None:
    """The split of ``preprocess``, verified bit for bit on probe pictures; None when this
    preprocessing is not one we can split (then pictures go one by one)."""
    from .models.project import cifar_preprocess

    if preprocess is cifar_preprocess:
        parts = _cifar_parts()
    elif type(preprocess).__name__ == "ImageClassification":
        parts = _classification_parts(preprocess)
    elif hasattr(preprocess, "transforms"):
        parts = _compose_parts(preprocess)
    else:
        parts = None
    if parts is None:
        return None
    size, mean, std, geometry, device_geometry = parts
    if tuple(input_size[1:]) != tuple(size):
        return None
    plan = InputPlan(tuple(size), tuple(mean), tuple(std), geometry, device_geometry)
    for probe in (_probe((45, 61)), _probe((61, 45)), _probe(size)):
        expected = preprocess(probe)
        got = plan.normalise(torch.from_numpy(np.asarray(geometry(probe)).copy())[None])[0]
        if got.shape != expected.shape or not torch.equal(got, expected):
            return None
    square = _probe(size)
    plan.identity = np.array_equal(np.asarray(geometry(square)), np.asarray(square))
    return plan


def model_plan(model) -> InputPlan | None:
    """``plan_for`` the model's preprocessing, worked out once per loaded model."""
    if not hasattr(model, "_input_plan"):
        model._input_plan = plan_for(model.preprocess, model.input_size)
    return model._input_plan


# ---------------------------------------------------------------------------------------
# Reading (in DataLoader workers) and decoding


@dataclass
class Batch:
    """One batch from the loader. ``pixels`` (N, H, W, 3) uint8 when decoded on the CPU;
    otherwise ``encoded`` JPEGs (position, bytes, orientation) to decode on the device and
    ``decoded`` pictures (position, (H, W, 3) uint8) that went through the one loader."""

    labels: torch.Tensor
    indices: list[int]
    pixels: torch.Tensor | None = None
    encoded: list[tuple[int, torch.Tensor, int]] = field(default_factory=list)
    decoded: list[tuple[int, np.ndarray]] = field(default_factory=list)
    one_by_one: int = 0  # pictures that went through the one picture loader
    error: str | None = None  # a picture's one-line error, carried out of the worker as it is

    def pin_memory(self) -> Batch:
        """Called by the DataLoader's pinning thread (``pin_memory=True``)."""
        if self.pixels is not None:
            self.pixels = self.pixels.pin_memory()
        self.encoded = [(k, data.pin_memory(), o) for k, data, o in self.encoded]
        return self


class EncodedPictures(torch.utils.data.Dataset):
    """Item i: (index, label, JPEG bytes or None, orientation). Reading only: decoding happens
    per batch in ``Collate``."""

    def __init__(self, source: LabelledPictures, indices: list[int]) -> None:
        self.source, self.indices = source, indices

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, k: int):
        i = self.indices[k]
        data = self.source.read(i)
        header = jpeg_header(data) if data is not None else None
        if header is None or header.width < 1 or header.height < 1 or header.width * header.height > MAX_PIXELS:
            return i, self.source.labels[i], None, 1
        return i, self.source.labels[i], torch.frombuffer(bytearray(data), dtype=torch.uint8), header.orientation


def _one_picture(source: LabelledPictures, plan: InputPlan, i: int) -> np.ndarray:
    return np.array(plan.geometry(source.load(i)))  # a writable copy


def _decode(encoded: list[torch.Tensor], device: torch.device | str = "cpu") -> list[torch.Tensor | None]:
    """decode_jpeg over the list on ``device``; when the batch call fails, picture by picture,
    None for each one the decoder refuses."""
    from torchvision.io import ImageReadMode, decode_jpeg

    if not encoded:
        return []
    try:
        return decode_jpeg(encoded, mode=ImageReadMode.RGB, device=device)
    except RuntimeError:
        out = []
        for data in encoded:
            try:
                out.append(decode_jpeg(data, mode=ImageReadMode.RGB, device=device))
            except RuntimeError:
                out.append(None)
        return out


class Collate:
    """Builds a ``Batch`` in the loader worker: on the CPU the JPEGs are decoded here in one
    call and every picture is brought to the input size; for a device decode the bytes pass
    through and only the one-loader pictures are decoded here."""

    def __init__(self, source: LabelledPictures, plan: InputPlan, decode_on_device: bool) -> None:
        self.source, self.plan, self.on_device = source, plan, decode_on_device

    def __call__(self, items) -> Batch:
        try:
            return self._collate(items)
        except ImageError as exc:  # raised again in the main process with its own line, not a worker traceback
            return Batch(torch.zeros(0, dtype=torch.long), [], error=str(exc))

    def _collate(self, items) -> Batch:
        indices = [i for i, _, _, _ in items]
        batch = Batch(torch.tensor([y for _, y, _, _ in items]), indices)
        jpeg = [(k, data, o) for k, (_, _, data, o) in enumerate(items) if data is not None]
        batch.decoded = [(k, _one_picture(self.source, self.plan, i)) for k, (i, _, data, _) in enumerate(items)
                         if data is None]
        batch.one_by_one = len(batch.decoded)
        if self.on_device:
            batch.encoded = jpeg
            return batch
        rows: list[np.ndarray | None] = [None] * len(items)
        for k, a in batch.decoded:
            rows[k] = a
        for (k, _, orientation), x in zip(jpeg, _decode([data for _, data, _ in jpeg])):
            rows[k] = self._fit(x, orientation) if x is not None else _one_picture(self.source, self.plan, indices[k])
            batch.one_by_one += x is None
        batch.pixels, batch.decoded = torch.from_numpy(np.stack(rows)), []
        return batch

    def _fit(self, x: torch.Tensor, orientation: int) -> np.ndarray:
        hwc = x.permute(1, 2, 0).numpy()
        if self.plan.identity and orientation == 1 and hwc.shape[:2] == self.plan.size:
            return hwc
        img = Image.fromarray(hwc, "RGB")
        if orientation in _TRANSPOSE:
            img = img.transpose(_TRANSPOSE[orientation])
        return np.asarray(self.plan.geometry(img))


def to_device_batch(batch: Batch, plan: InputPlan, source: LabelledPictures, device: torch.device) -> tuple[torch.Tensor, int]:
    """The normalised (N, 3, H, W) batch on ``device`` and how many pictures went through the
    one loader. JPEGs of a device-decode batch are decoded there in one call; a picture the
    device decoder refuses goes through the one loader on the host."""
    if batch.error is not None:
        raise ImageError(batch.error)
    if batch.pixels is not None:
        return plan.normalise(batch.pixels.to(device, non_blocking=True)), batch.one_by_one
    n, (h, w) = len(batch.indices), plan.size
    pixels = torch.empty((n, h, w, 3), dtype=torch.uint8, device=device)
    one_by_one = batch.one_by_one
    for k, a in batch.decoded:
        pixels[k] = torch.from_numpy(a).to(device, non_blocking=True)
    decoded = _decode([data for _, data, _ in batch.encoded], device)
    same_size: dict[tuple[int, ...], list[tuple[int, torch.Tensor]]] = {}
    for (k, _, orientation), x in zip(batch.encoded, decoded):
        if x is None:
            pixels[k] = torch.from_numpy(_one_picture(source, plan, batch.indices[k])).to(device)
            one_by_one += 1
        else:
            x = _orient_tensor(x, orientation)
            same_size.setdefault(tuple(x.shape), []).append((k, x))
    for group in same_size.values():  # one resize and crop per picture size
        ks = [k for k, _ in group]
        pixels[ks] = plan.device_geometry(torch.stack([x for _, x in group])).permute(0, 2, 3, 1)
    return plan.normalise(pixels), one_by_one

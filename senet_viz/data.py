"""Labelled picture sources behind one interface.

``open_source(spec)`` takes
- a folder in ImageFolder layout (``<root>/<class>/<picture>``; a root holding one folder
  that holds the class folders, as an unpacked ``test.tar.gz`` does, is accepted too);
- a ``.tar``, ``.tar.gz``/``.tgz`` or ``.zip`` of such a folder, unpacked once into a cache
  folder keyed by the archive's SHA-256, with limits on member count and unpacked size, and
  no member escaping the target (no ``..``, no absolute path, no link, no device);
- ``cifar10`` or ``cifar10:train`` / ``cifar10:test`` through torchvision (downloads online).
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tarfile
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image

from .errors import DataError, ImageError
from .i18n import _
from .images import SUFFIXES, load_image, read_picture

MAX_MEMBERS = 200_000
MAX_UNPACKED_BYTES = 4 * 1024**3
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".zip")
NESTED_ARCHIVES = (".tar", ".gz", ".tgz", ".zip", ".bz2", ".xz", ".7z", ".rar")
CIFAR10_CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


def cache_root() -> Path:
    return Path(os.environ.get("SENET_VIZ_CACHE", Path.home() / ".cache" / "senet_viz"))


@dataclass
class LabelledPictures:
    """Pictures with integer labels into ``class_names``; items decode lazily through the one loader.

    ``_read``, where the pictures are encoded files, gives picture i's bytes undecoded (for
    decoding in batches, ``senet_viz.batching``); None for sources held decoded."""

    class_names: list[str]
    labels: list[int]
    _load: Callable[[int], Image.Image] = field(repr=False)
    origin: str = ""
    checksum: str = ""
    _read: Callable[[int], bytes] | None = field(default=None, repr=False)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[Image.Image, int]:
        return self._load(i), self.labels[i]

    def load(self, i: int) -> Image.Image:
        """Picture i through the one picture loader (every check, one clear error)."""
        return self._load(i)

    def read(self, i: int) -> bytes | None:
        """Picture i's encoded bytes, or None where the source holds no file for it; a file that
        cannot be read gives None too, and ``load`` then says why."""
        if self._read is None:
            return None
        try:
            return self._read(i)
        except ImageError:
            return None

    def subset(self, indices: list[int]) -> LabelledPictures:
        load, read = self._load, self._read
        return LabelledPictures(
            self.class_names, [self.labels[i] for i in indices], lambda j: load(indices[j]), self.origin, self.checksum,
            None if read is None else (lambda j: read(indices[j])),
        )

    def limit_per_class(self, k: int | None) -> LabelledPictures:
        if k is None:
            return self
        seen: dict[int, int] = {}
        keep = []
        for i, y in enumerate(self.labels):
            if seen.get(y, 0) < k:
                seen[y] = seen.get(y, 0) + 1
                keep.append(i)
        return self.subset(keep)

    def arrays(self, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Every picture decoded into one uint8 array (N, H, W, 3) and the labels (N,)."""
        first = self._load(0)
        h, w = (size, size) if size else (first.height, first.width)
        out = np.empty((len(self), h, w, 3), dtype=np.uint8)
        for i in range(len(self)):
            img = self._load(i)
            if img.size != (w, h):
                img = img.resize((w, h), Image.BILINEAR)
            out[i] = np.asarray(img)
        return out, np.asarray(self.labels, dtype=np.int64)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _class_root(root: Path) -> Path:
    subdirs = [p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")]
    if len(subdirs) == 1 and not any(_pictures(subdirs[0])):
        inner = [p for p in subdirs[0].iterdir() if p.is_dir() and not p.name.startswith(".")]
        if inner:
            return subdirs[0]
    return root


def _pictures(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def image_folder(root: str | Path, *, origin: str = "", checksum: str = "", confine: Path | None = None) -> LabelledPictures:
    """An ImageFolder tree: one sub-folder per class, sorted by name.

    ``confine``: every class folder and picture must resolve (links followed) below it.
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(_("{folder}: not a folder", folder=root))
    root = _class_root(root)
    classes = sorted(p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith("."))
    paths, labels = [], []
    for k, name in enumerate(classes):
        files = _pictures(root / name)
        if confine is not None:
            for f in files:
                if not f.resolve().is_relative_to(confine):
                    raise DataError(_("{name}: links outside the allowed data folders", name=f.name))
        paths += files
        labels += [k] * len(files)
    if not paths:
        raise DataError(_("{folder}: no pictures in class sub-folders (expected <folder>/<class>/<picture>)", folder=root))
    used = sorted(set(labels))
    if len(used) != len(classes):  # drop empty class folders, keep labels dense
        remap = {old: new for new, old in enumerate(used)}
        classes = [classes[k] for k in used]
        labels = [remap[k] for k in labels]
    return LabelledPictures(classes, labels, lambda i: load_image(paths[i]), origin or str(root), checksum,
                            lambda i: read_picture(paths[i]))


def _check_member(name: str, is_file: bool, is_dir: bool) -> PurePosixPath | None:
    path = PurePosixPath(name.replace("\\", "/"))
    if not path.parts or path.is_absolute() or ".." in path.parts or ":" in path.parts[0]:
        raise DataError(_("archive member {name!r} would escape the target folder", name=name))
    if not (is_file or is_dir):
        raise DataError(_("archive member {name!r} is a link or special file; only plain files are accepted", name=name))
    if is_file and name.lower().endswith(NESTED_ARCHIVES):
        raise DataError(_("archive member {name!r} is itself an archive; nested archives are not accepted", name=name))
    return path if is_file else None


def unpack_archive(
    archive: Path, target: Path, *, max_members: int = MAX_MEMBERS, max_bytes: int = MAX_UNPACKED_BYTES
) -> None:
    """Unpack a .tar/.tar.gz/.tgz/.zip into ``target`` after checking every member; atomic."""
    name = archive.name.lower()
    tmp = Path(tempfile.mkdtemp(prefix=".unpack-", dir=target.parent))
    try:
        if name.endswith(".zip"):
            _unpack_zip(archive, tmp, max_members, max_bytes)
        elif name.endswith((".tar", ".tar.gz", ".tgz")):
            _unpack_tar(archive, tmp, max_members, max_bytes)
        else:
            raise DataError(_("{name}: not an archive this tool reads ({kinds})", name=archive.name,
                                  kinds=", ".join(ARCHIVE_SUFFIXES)))
        try:
            tmp.rename(target)
        except OSError:
            if not target.is_dir():  # another process won the race: keep its copy
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _plan(members: list[tuple[str, bool, bool, int]], max_members: int, max_bytes: int) -> list[tuple[str, PurePosixPath]]:
    if len(members) > max_members:
        raise DataError(_("archive has {n:,} members, over the limit of {limit:,}", n=len(members), limit=max_members))
    total = sum(size for _name, is_file, _dir, size in members if is_file)
    if total > max_bytes:
        raise DataError(_("archive unpacks to {n:,} bytes, over the limit of {limit:,}", n=total, limit=max_bytes))
    plan = []
    for name, is_file, is_dir, _size in members:
        path = _check_member(name, is_file, is_dir)
        if path is not None:
            plan.append((name, path))
    return plan


def _copy_limited(src, dst: Path, budget: list[int]) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    with open(dst, "wb") as out:
        for chunk in iter(lambda: src.read(1 << 20), b""):
            budget[0] -= len(chunk)
            if budget[0] < 0:  # headers can lie about sizes
                raise DataError(_("archive unpacks to more bytes than its headers claim, over the limit"))
            out.write(chunk)


def _unpack_zip(archive: Path, target: Path, max_members: int, max_bytes: int) -> None:
    try:
        with zipfile.ZipFile(archive) as zf:
            infos = zf.infolist()
            members = []
            for info in infos:
                mode = (info.external_attr >> 16) & 0o170000
                is_link = mode == 0o120000
                members.append((info.filename, not info.is_dir() and not is_link, info.is_dir(), info.file_size))
            budget = [max_bytes]
            for name, path in _plan(members, max_members, max_bytes):
                with zf.open(name) as src:
                    _copy_limited(src, target.joinpath(*path.parts), budget)
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise DataError(_("{name}: not a readable zip archive ({error})", name=archive.name, error=exc)) from None


def _unpack_tar(archive: Path, target: Path, max_members: int, max_bytes: int) -> None:
    try:
        with tarfile.open(archive, "r:*") as tf:
            infos = []
            for info in tf:
                infos.append(info)
                if len(infos) > max_members:
                    raise DataError(_("archive has more than {limit:,} members, over the limit", limit=max_members))
            members = [(i.name, i.isfile(), i.isdir(), i.size) for i in infos]
            by_name = {i.name: i for i in infos}
            budget = [max_bytes]
            for name, path in _plan(members, max_members, max_bytes):
                src = tf.extractfile(by_name[name])
                if src is None:
                    raise DataError(_("archive member {name!r} cannot be read", name=name))
                _copy_limited(src, target.joinpath(*path.parts), budget)
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise DataError(_("{name}: not a readable tar archive ({error})", name=archive.name, error=exc)) from None


def archive_folder(archive: str | Path) -> tuple[Path, str]:
    """Unpack ``archive`` once into the cache; returns (folder, sha256)."""
    archive = Path(archive)
    if not archive.is_file():
        raise DataError(f"{archive}: no such file")
    digest = sha256_file(archive)
    target = cache_root() / "archives" / digest[:16]
    if not target.is_dir():
        target.parent.mkdir(parents=True, exist_ok=True)
        unpack_archive(archive, target)
    return target, digest


def cifar10(split: str = "test") -> LabelledPictures:
    """CIFAR-10 through torchvision (the official pickles; downloads when online)."""
    from torchvision.datasets import CIFAR10

    try:
        ds = CIFAR10(str(cache_root() / "cifar10"), train=(split == "train"), download=True)
    except Exception as exc:  # noqa: BLE001 - offline: urllib and friends
        raise DataError(f"cifar10: cannot download ({type(exc).__name__}); pass a folder or archive instead") from None
    return LabelledPictures(
        list(ds.classes), [int(t) for t in ds.targets], lambda i: Image.fromarray(ds.data[i]), f"cifar10:{split}"
    )


def open_source(spec: str | Path) -> LabelledPictures:
    """Open a labelled picture source: a folder, an archive, or ``cifar10[:train|:test]``."""
    text = str(spec)
    if text.startswith("cifar10") and not Path(text).exists():
        split = text.partition(":")[2] or "test"
        if split not in ("train", "test"):
            raise DataError(f"{text}: the cifar10 split is 'train' or 'test'")
        return cifar10(split)
    path = Path(text)
    if path.is_dir():
        return image_folder(path)
    if path.name.lower().endswith(ARCHIVE_SUFFIXES):
        folder, digest = archive_folder(path)
        return image_folder(folder, origin=str(path), checksum=digest)
    if not path.exists():
        raise DataError(f"{text}: no such folder or archive")
    raise DataError(f"{text}: not a folder, an archive ({', '.join(ARCHIVE_SUFFIXES)}) or 'cifar10'")


DATA_ROOTS_ENV = "SENET_VIZ_DATA_ROOTS"


def data_roots() -> list[Path]:
    """The server folders an operator allows (``SENET_VIZ_DATA_ROOTS``, separated by the OS's
    path separator); none by default."""
    roots = []
    for part in os.environ.get(DATA_ROOTS_ENV, "").split(os.pathsep):
        if part.strip() and Path(part).expanduser().is_dir():
            roots.append(Path(part).expanduser().resolve())
    return roots


def server_folder(path: str | Path, roots: list[Path] | None = None) -> LabelledPictures:
    """A labelled folder on the server, allowed only below one of ``roots`` after resolving
    every link and ``..``; a folder elsewhere is refused with one line."""
    roots = data_roots() if roots is None else [Path(r).resolve() for r in roots]
    if not roots:
        raise DataError(_("server folders are off; an operator allows them with {variable}", variable=DATA_ROOTS_ENV))
    candidate = Path(path).expanduser()
    if not candidate.is_absolute():
        candidate = roots[0] / candidate
    try:
        resolved = candidate.resolve(strict=True)
    except (FileNotFoundError, RuntimeError, OSError):
        raise DataError(_("{folder}: no such folder", folder=path)) from None
    root = next((r for r in roots if resolved.is_relative_to(r)), None)
    if root is None:
        raise DataError(_("{folder}: outside the allowed data folders", folder=path))
    return image_folder(resolved, origin=str(resolved), confine=root)


def folders_below(roots: list[Path] | None = None, depth: int = 3, limit: int = 200) -> list[str]:
    """The folders the app offers as labelled picture folders: each folder below an allowed root
    (``depth`` levels at most, links not followed, at most ``limit``) that holds folders, named
    relative to the first root or in full below another. A browser picks one of these; it never
    sends a path."""
    roots = data_roots() if roots is None else [Path(r).resolve() for r in roots]
    found: list[str] = []
    for i, root in enumerate(roots):
        for here, subs, _files in os.walk(root):
            subs[:] = sorted(d for d in subs if not d.startswith("."))
            level = len(Path(here).relative_to(root).parts)
            if subs and level >= (0 if i else 1):
                found.append(str(Path(here).relative_to(root)) if i == 0 else here)
            if level >= depth - 1:
                subs[:] = []
            if len(found) >= limit:
                return found
    return found


#: What one session may hold as labelled pictures uploaded batch by batch (the app's Class patterns).
MAX_HELD_PICTURES = 1000
MAX_HELD_BYTES = 100 * 2**20


def held_pictures_refusal(held: list[tuple[str, bytes]], adding: list[bytes]) -> str | None:
    """Why ``adding`` would take a session's held pictures over their bounds (one line), or None."""
    count, size = len(held) + len(adding), sum(len(b) for _c, b in held) + sum(len(b) for b in adding)
    if count > MAX_HELD_PICTURES:
        return _("at most {n:,} pictures are held for one session's statistics; clear them or use a .zip",
                 n=MAX_HELD_PICTURES)
    if size > MAX_HELD_BYTES:
        return _("at most {mb} MB of pictures are held for one session's statistics; clear them or use a .zip",
                 mb=MAX_HELD_BYTES // 2**20)
    return None


def in_memory(items: list[tuple[str, bytes]], origin: str = "uploaded pictures") -> LabelledPictures:
    """Labelled pictures held as encoded bytes: (class name, picture bytes) pairs."""
    if not items:
        raise DataError(_("no pictures"))
    classes = sorted({c for c, _b in items})
    labels = [classes.index(c) for c, _b in items]
    blobs = [b for _c, b in items]
    return LabelledPictures(classes, labels, lambda i: load_image(blobs[i]), origin, "", lambda i: read_picture(blobs[i]))


def archive_bytes(data: bytes, name: str, workdir: Path) -> LabelledPictures:
    """An uploaded archive of class folders, unpacked with every check into ``workdir``."""
    archive = workdir / Path(name).name
    archive.write_bytes(data)
    target = workdir / "unpacked"
    unpack_archive(archive, target)
    archive.unlink()
    return image_folder(target, origin=name, checksum=hashlib.sha256(data).hexdigest())


def cifar10_test_source(download: bool = True) -> str | None:
    """Where the CIFAR-10 test split is read from: ``SENET_VIZ_CIFAR10_TEST`` (a folder or
    archive), else the JPEG archive beside the checkout (``../shared/datasets/cifar10``), else
    torchvision's copy (``cifar10:test``) when it is already in the cache or ``download`` allows
    fetching it (about 170 MB); None when it is not here and may not be fetched."""
    configured = os.environ.get("SENET_VIZ_CIFAR10_TEST", "").strip()
    if configured:
        return configured
    beside = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "cifar10" / "test.tar.gz"
    if beside.is_file():
        return str(beside)
    cached = (cache_root() / "cifar10" / "cifar-10-batches-py" / "test_batch").is_file()
    return "cifar10:test" if cached or download else None

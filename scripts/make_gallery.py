"""The app's offline gallery: the first 10 test pictures of each CIFAR-10 class, copied byte for
byte (JPEG, as in the archive) from the JPEG test split into assets/gallery/cifar10/<class>/.

    python scripts/make_gallery.py [../shared/datasets/cifar10/test.tar.gz]
"""

from __future__ import annotations

import sys
import tarfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "assets" / "gallery" / "cifar10"
PER_CLASS = 10


def main(archive: Path) -> int:
    with tarfile.open(archive) as tar:
        members = sorted((m for m in tar.getmembers() if m.isfile() and m.name.endswith(".jpg")), key=lambda m: m.name)
        by_class: dict[str, list[tarfile.TarInfo]] = {}
        for m in members:
            parts = Path(m.name).parts  # test/<class>/NNNN.jpg
            by_class.setdefault(parts[-2], []).append(m)
        for cls, found in sorted(by_class.items()):
            (OUT / cls).mkdir(parents=True, exist_ok=True)
            for m in found[:PER_CLASS]:
                (OUT / cls / Path(m.name).name).write_bytes(tar.extractfile(m).read())
    total = sum(f.stat().st_size for f in OUT.rglob("*.jpg"))
    print(f"{len(list(OUT.rglob('*.jpg')))} pictures, {total / 1024:.0f} KiB in {OUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1] if len(sys.argv) > 1 else ROOT.parent / "shared/datasets/cifar10/test.tar.gz")))

import io
import tarfile
import zipfile

import pytest
from conftest import make_image_folder

from senet_viz.data import open_source, unpack_archive
from senet_viz.errors import DataError


@pytest.fixture
def folder(tmp_path):
    return make_image_folder(tmp_path / "pics" / "split", classes=("cat", "dog", "fish"), per_class=2)


def _tar(folder, path, mode):
    with tarfile.open(path, mode) as tf:
        tf.add(folder, arcname="split")
    return path


def _zip(folder, path):
    with zipfile.ZipFile(path, "w") as zf:
        for p in sorted(folder.rglob("*.png")):
            zf.write(p, p.relative_to(folder.parent))
    return path


def _check(src):
    assert src.class_names == ["cat", "dog", "fish"]
    assert src.labels == [0, 0, 1, 1, 2, 2]
    img, y = src[3]
    assert img.size == (32, 32) and img.mode == "RGB" and y == 1


def test_folder_and_its_parent(folder):
    _check(open_source(folder))
    _check(open_source(folder.parent))  # a root holding the one folder with the classes


@pytest.mark.parametrize("kind", ["tar", "tar.gz", "tgz", "zip"])
def test_archives(folder, tmp_path, kind):
    path = tmp_path / f"pics.{kind}"
    if kind == "zip":
        _zip(folder, path)
    else:
        _tar(folder, path, "w" if kind == "tar" else "w:gz")
    src = open_source(path)
    _check(src)
    assert len(src.checksum) == 64
    _check(open_source(path))  # the second time from the cache


def test_limit_per_class_and_arrays(folder):
    src = open_source(folder).limit_per_class(1)
    assert src.labels == [0, 1, 2]
    x, y = src.arrays()
    assert x.shape == (3, 32, 32, 3) and list(y) == [0, 1, 2]


def _hostile_tar(path, name=None, link=False, count=1):
    with tarfile.open(path, "w") as tf:
        for i in range(count):
            info = tarfile.TarInfo(name or f"a/b/{i}.png")
            if link:
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
                tf.addfile(info)
            else:
                info.size = 3
                tf.addfile(info, io.BytesIO(b"abc"))
    return path


def test_hostile_archives_are_refused(tmp_path):
    out = tmp_path / "out"
    with pytest.raises(DataError, match="escape"):
        unpack_archive(_hostile_tar(tmp_path / "a.tar", name="../../evil.png"), out)
    with pytest.raises(DataError, match="escape"):
        unpack_archive(_hostile_tar(tmp_path / "b.tar", name="/abs/evil.png"), out)
    with pytest.raises(DataError, match="link"):
        unpack_archive(_hostile_tar(tmp_path / "c.tar", name="a/link.png", link=True), out)
    with pytest.raises(DataError, match="members"):
        unpack_archive(_hostile_tar(tmp_path / "d.tar", count=30), out, max_members=20)
    with pytest.raises(DataError, match="over the limit"):
        unpack_archive(_hostile_tar(tmp_path / "e.tar", count=5), out, max_bytes=10)
    with pytest.raises(DataError, match="nested"):
        unpack_archive(_hostile_tar(tmp_path / "f.tar", name="a/inner.zip"), out)
    z = tmp_path / "g.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("../evil.png", b"abc")
    with pytest.raises(DataError, match="escape"):
        unpack_archive(z, out)
    assert not out.exists() and not (tmp_path / "evil.png").exists()
    assert not list(tmp_path.glob(".unpack-*"))  # nothing half-unpacked is left


def test_bad_sources(tmp_path):
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a readable zip"):
        open_source(tmp_path / "x.zip")
    with pytest.raises(DataError, match="no such"):
        open_source(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DataError, match="no pictures"):
        open_source(tmp_path / "empty")
    with pytest.raises(DataError, match="split"):
        open_source("cifar10:val")


def test_server_folders_only_below_configured_roots(tmp_path, monkeypatch):
    from senet_viz.data import DATA_ROOTS_ENV, data_roots, server_folder

    allowed = make_image_folder(tmp_path / "allowed" / "set", classes=("a", "b"), per_class=1).parent
    outside = make_image_folder(tmp_path / "outside", classes=("x",), per_class=1)
    monkeypatch.delenv(DATA_ROOTS_ENV, raising=False)
    assert data_roots() == []
    with pytest.raises(DataError, match="off"):
        server_folder(allowed)
    monkeypatch.setenv(DATA_ROOTS_ENV, str(allowed))
    assert server_folder("set").class_names == ["a", "b"]
    assert server_folder(allowed / "set").class_names == ["a", "b"]
    with pytest.raises(DataError, match="outside"):
        server_folder(outside)
    with pytest.raises(DataError, match="outside"):
        server_folder("set/../../outside")
    (allowed / "escape").symlink_to(outside)
    with pytest.raises(DataError, match="outside"):
        server_folder("escape")
    (allowed / "set" / "a" / "linked.png").symlink_to(outside / "x" / "0000.png")
    with pytest.raises(DataError, match="links outside"):
        server_folder("set")
    with pytest.raises(DataError, match="no such"):
        server_folder("missing")


def test_the_test_split_is_found_where_configured_and_never_fetched_for_the_gallery(monkeypatch, tmp_path):
    from senet_viz.data import cifar10_test_source

    monkeypatch.setenv("SENET_VIZ_CIFAR10_TEST", str(tmp_path / "mine.tar.gz"))
    assert cifar10_test_source(download=False) == str(tmp_path / "mine.tar.gz")
    monkeypatch.delenv("SENET_VIZ_CIFAR10_TEST")
    monkeypatch.setattr("senet_viz.data.Path.is_file", lambda self: False)
    assert cifar10_test_source(download=False) is None and cifar10_test_source(download=True) == "cifar10:test"


def test_the_app_offers_folders_below_the_roots_and_takes_no_path(tmp_path, monkeypatch):
    from senet_viz.data import DATA_ROOTS_ENV, folders_below

    root = tmp_path / "allowed"
    for cls in ("a", "b"):
        (root / "set" / cls).mkdir(parents=True)
        (root / "deep" / "er" / "set2" / cls).mkdir(parents=True)
    (root / ".hidden" / "x").mkdir(parents=True)
    (tmp_path / "outside" / "c").mkdir(parents=True)
    (root / "link").symlink_to(tmp_path / "outside")
    monkeypatch.setenv(DATA_ROOTS_ENV, str(root))
    offered = folders_below()
    assert offered == ["deep", "deep/er", "set"], offered  # depth 3: deep/er/set2 is not listed; links not followed
    assert folders_below(limit=1) == ["deep"]

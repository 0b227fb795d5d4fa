"""Batched decoding and preprocessing for the statistics: the same numbers as picture by picture."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import CIFAR, DEVICE
from PIL import Image, ImageOps

from senet_viz.batching import (
    _TRANSPOSE,
    Collate,
    EncodedPictures,
    _orient_tensor,
    jpeg_header,
    model_plan,
    to_device_batch,
)
from senet_viz.collect import compute_stats
from senet_viz.data import open_source
from senet_viz.errors import ImageError
from senet_viz.images import load_image

DATA = Path(__file__).parent / "data"
PICTURES = DATA / "pictures"
# what the header reader must send to the one picture loader: not JPEG, or a JPEG it must not take
ONE_BY_ONE = {"e_cmyk.jpg", "h_rgba.png", "i_palette.png", "j.bmp", "k.webp"}
SUMS = ("s_sum", "s_sq", "z_sum", "z_sq", "h_sum", "h_sq", "h_pos", "hist")


@pytest.fixture(scope="module")
def shipped():
    from senet_viz.models import load_model

    return load_model("se_resnet20_cifar10", device=DEVICE)


def test_the_header_reader_takes_plain_jpegs_only(tmp_path):
    for path in sorted(PICTURES.rglob("*.*")):
        header = jpeg_header(path.read_bytes())
        assert (header is None) == (path.name in ONE_BY_ONE), path.name
    assert jpeg_header((PICTURES / "ship" / "g_exif_rotated.jpg").read_bytes()).orientation == 6
    gray = jpeg_header((PICTURES / "cat" / "d_gray.jpg").read_bytes())
    assert (gray.width, gray.height, gray.components) == (32, 32, 1)
    wide = jpeg_header((PICTURES / "cat" / "c_48x40.jpg").read_bytes())
    assert (wide.width, wide.height) == (48, 40)
    data = (PICTURES / "cat" / "a_32.jpg").read_bytes()
    assert jpeg_header(data[: len(data) // 2]) is None  # truncated: no end marker
    assert jpeg_header(b"\xff\xd8\xff\xd9") is None  # no frame
    buf = tmp_path / "xmp.jpg"
    Image.open(PICTURES / "cat" / "a_32.jpg").save(buf, xmp=b"<x:xmpmeta>tiff:Orientation=\"6\"</x:xmpmeta>")
    assert jpeg_header(buf.read_bytes()) is None  # XMP may carry an orientation Pillow applies


@pytest.mark.parametrize("orientation", range(1, 9))
def test_exif_orientation_on_tensors_moves_pixels_as_pillow_does(orientation):
    a = np.random.default_rng(orientation).integers(0, 256, (5, 7, 3), dtype=np.uint8)
    img = Image.fromarray(a)
    expected = np.asarray(img.transpose(_TRANSPOSE[orientation])) if orientation in _TRANSPOSE else a
    got = _orient_tensor(torch.from_numpy(a).permute(2, 0, 1), orientation).permute(1, 2, 0).numpy()
    np.testing.assert_array_equal(got, expected)
    exif = Image.Exif()
    exif[0x0112] = orientation
    img.info["exif"] = exif.tobytes()
    np.testing.assert_array_equal(np.asarray(ImageOps.exif_transpose(img)), expected)


@pytest.mark.parametrize("fixture", ["se20", "seresnet50"])
def test_a_batch_is_what_the_model_preprocesses_picture_by_picture(fixture, request):
    """Every test picture (JPEG decoded in one call, the others through load_image, resized,
    rotated by EXIF) gives bit for bit the tensor of load_image + the model's preprocess."""
    model = request.getfixturevalue(fixture)
    plan = model_plan(model)
    assert plan is not None
    source = open_source(PICTURES)
    dataset = EncodedPictures(source, list(range(len(source))))
    batch = Collate(source, plan, decode_on_device=False)([dataset[k] for k in range(len(source))])
    x, one_by_one = to_device_batch(batch, plan, source, torch.device("cpu"))
    expected = torch.stack([model.preprocess(load_image(p)) for p in _paths(source)])
    assert torch.equal(x, expected)
    assert one_by_one == len(ONE_BY_ONE)
    assert batch.labels.tolist() == source.labels


def _paths(source):
    return [PICTURES / source.class_names[y] / name for y, name in zip(source.labels, _names(source))]


def _names(source):
    return [p.name for c in source.class_names for p in sorted((PICTURES / c).iterdir())]


# Statistics of the batched pipeline against the picture-by-picture one, computed in the same run on
# the same machine (the same kernels, the same batches): float32 sums of at most a few thousand
# terms, each rounded at 2**-24 relative, stay within 1e-5 relative of each other whatever order a
# kernel sums in; a picture decoded, resized or oriented differently moves them by 1e-3 or more.
# Histogram counts may move by one where a value lies within rounding of a bin edge.
SUM_RTOL, SUM_ATOL = 1e-5, 1e-6


def _picture_by_picture(model, source, batch_size, monkeypatch):
    """The reference pipeline: every picture through load_image and the model's own preprocess."""
    import senet_viz.collect as collect

    with monkeypatch.context() as m:
        m.setattr(collect, "model_plan", lambda model: None)
        return compute_stats(model, source, batch_size=batch_size, workers=0)


def _assert_same_sums(got, ref):
    assert got.class_names == ref.class_names and np.array_equal(got.count, ref.count)
    assert got.blocks == ref.blocks
    for name in SUMS:
        for b in ref.blocks:
            g, r = getattr(got, name)[b], getattr(ref, name)[b]
            if name == "hist":
                assert np.abs(g.astype(np.int64) - r.astype(np.int64)).max() <= 1, f"{name} {b}"
                assert g.sum() == r.sum(), f"{name} {b}"
            else:
                np.testing.assert_allclose(g, r, rtol=SUM_RTOL, atol=SUM_ATOL, err_msg=f"{name} {b}")


@pytest.mark.parametrize("workers", [0, 2])
def test_statistics_equal_the_picture_by_picture_pipeline(shipped, workers, monkeypatch):
    source = open_source(PICTURES)
    reference = _picture_by_picture(shipped, source, 4, monkeypatch)
    assert reference.meta["decoding"]["batched_on"] is None and reference.meta["decoding"]["one_by_one"] == len(source)
    st = compute_stats(shipped, source, batch_size=4, workers=workers)
    _assert_same_sums(st, reference)
    assert st.meta["decoding"] == {"batched_on": str(shipped.device) if shipped.device.type == "cuda" else "cpu",
                                   "one_by_one": len(ONE_BY_ONE), "batched": st.total - len(ONE_BY_ONE), "workers": workers}
    assert any("5 of 19 pictures went through the one picture loader" in n for n in st.meta["notes"])


def test_cifar_statistics_equal_the_picture_by_picture_pipeline(shipped, monkeypatch):
    if not (CIFAR / "test.tar.gz").is_file():
        pytest.skip("the CIFAR-10 archives are not in ../shared")
    source = open_source(CIFAR / "test.tar.gz").limit_per_class(20)
    st = compute_stats(shipped, source, batch_size=64, workers=2, decode="cpu")
    _assert_same_sums(st, _picture_by_picture(shipped, source, 64, monkeypatch))
    assert st.meta["decoding"]["one_by_one"] == 0


def test_the_comparison_sees_one_picture_decoded_otherwise(shipped, monkeypatch):
    """The tolerance above is tight enough: one picture darkened by 2 of 255 levels fails it."""
    import senet_viz.batching as batching

    source = open_source(PICTURES)
    reference = _picture_by_picture(shipped, source, 4, monkeypatch)
    real = batching.Collate.__call__

    def darker_first(self, items):
        out = real(self, items)
        if out.pixels is not None and items[0][0] == 0:
            out.pixels[0] = out.pixels[0].clamp_min(2) - 2
        return out

    monkeypatch.setattr(batching.Collate, "__call__", darker_first)
    with pytest.raises(AssertionError):
        _assert_same_sums(compute_stats(shipped, source, batch_size=4, workers=0), reference)


def test_loader_workers_default_to_the_cores_shared_by_local_processes(monkeypatch):
    from senet_viz.collect import default_workers

    monkeypatch.setattr("os.sched_getaffinity", lambda pid: set(range(16)), raising=False)
    monkeypatch.delenv("LOCAL_WORLD_SIZE", raising=False)
    assert default_workers() == 16
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "4")  # torchrun --nproc_per_node=4
    assert default_workers() == 4
    monkeypatch.setenv("LOCAL_WORLD_SIZE", "32")
    assert default_workers() == 1


def test_a_corrupt_jpeg_is_one_clear_error_from_a_worker(shipped, tmp_path):
    """A JPEG with a good frame header and a broken Huffman table: the batch decoder refuses it, the one
    loader says what is wrong, in one line, also when a worker process found it."""
    for cls in ("a", "b"):
        (tmp_path / cls).mkdir()
        for k in range(3):
            (tmp_path / cls / f"{k}.jpg").write_bytes((PICTURES / "cat" / "a_32.jpg").read_bytes())
    good = (PICTURES / "cat" / "a_32.jpg").read_bytes()
    dht = good.index(b"\xff\xc4")  # a Huffman table overwritten
    broken = good[: dht + 4] + b"\x55" * 20 + good[dht + 24 :]
    (tmp_path / "b" / "1.jpg").write_bytes(broken)
    assert jpeg_header(broken) is not None
    with pytest.raises(ImageError) as err:
        load_image(tmp_path / "b" / "1.jpg")
    expected = str(err.value)
    with pytest.raises(ImageError) as err:
        compute_stats(shipped, open_source(tmp_path), batch_size=4, workers=2)
    assert str(err.value) == expected and "\n" not in expected


def test_the_device_decode_path_on_the_cpu_matches_where_no_resize_is_needed(shipped):
    """The code that runs on CUDA, run on the CPU's decoder: pictures of the input size without
    an orientation give the same tensor; resized ones differ by the resampling only."""
    plan = model_plan(shipped)
    source = open_source(PICTURES)
    dataset = EncodedPictures(source, list(range(len(source))))
    items = [dataset[k] for k in range(len(source))]
    device_batch = Collate(source, plan, decode_on_device=True)(items)
    assert device_batch.pixels is None and len(device_batch.encoded) == len(source) - len(ONE_BY_ONE)
    x, one_by_one = to_device_batch(device_batch, plan, source, torch.device("cpu"))
    cpu_x, _ = to_device_batch(Collate(source, plan, decode_on_device=False)(items), plan, source, torch.device("cpu"))
    assert one_by_one == len(ONE_BY_ONE)
    for k, name in enumerate(_names(source)):
        header = jpeg_header((PICTURES / source.class_names[source.labels[k]] / name).read_bytes())
        if header is None or (header.width, header.height, header.orientation) == (32, 32, 1):
            assert torch.equal(x[k], cpu_x[k]), name
        else:  # resampled on a tensor instead of by Pillow: close
            assert (x[k] - cpu_x[k]).abs().mean() < 0.1, name
    st = compute_stats(shipped, source, batch_size=8, workers=0, decode="device")
    assert st.meta["decoding"]["batched_on"] == str(shipped.device)
    ref = compute_stats(shipped, source, batch_size=8, workers=0, decode="cpu")
    for b in ref.blocks:
        np.testing.assert_allclose(st.excitation_mean(b), ref.excitation_mean(b), atol=0.02)


def test_the_device_path_resizes_like_pillow_for_an_imagenet_model(seresnet50):
    """timm's Resize and CenterCrop on a batch of decoded tensors (as on CUDA) against Pillow's."""
    plan = model_plan(seresnet50)
    source = open_source(PICTURES)
    dataset = EncodedPictures(source, list(range(len(source))))
    items = [dataset[k] for k in range(len(source))]
    x, _ = to_device_batch(Collate(source, plan, decode_on_device=True)(items), plan, source, torch.device("cpu"))
    cpu_x, _ = to_device_batch(Collate(source, plan, decode_on_device=False)(items), plan, source, torch.device("cpu"))
    assert x.shape == cpu_x.shape == (len(source), 3, 224, 224)
    difference = (x - cpu_x).abs().mean(dim=(1, 2, 3))
    assert float(difference.max()) < 0.05, difference  # in normalised units; 1/255 is about 0.017


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_statistics_decode_on_the_gpu_and_count_what_fell_back(tmp_path):
    from senet_viz.models import load_model

    model = load_model("se_resnet20_cifar10", device="cuda")
    st = compute_stats(model, open_source(PICTURES), batch_size=8, workers=2, autocast=False)
    assert st.meta["decoding"]["batched_on"].startswith("cuda")
    assert st.meta["decoding"]["one_by_one"] >= len(ONE_BY_ONE)  # nvjpeg may refuse more (e.g. progressive)
    ref = compute_stats(load_model("se_resnet20_cifar10", device="cpu"), open_source(PICTURES), batch_size=8, workers=0)
    for b in ref.blocks:  # another JPEG decoder (nvjpeg) and resampler: close, not equal
        np.testing.assert_allclose(st.excitation_mean(b), ref.excitation_mean(b), atol=0.02)

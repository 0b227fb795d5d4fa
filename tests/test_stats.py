"""Statistics on synthetic tensors with known answers, merge against one pass, the CLI, the figures."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT, make_image_folder

from senet_viz.stats import Accumulator, load_stats


def _acc(k=3, channels=None):
    return Accumulator(channels or {"SE_2_1": 4, "SE_3_1": 6}, k)


def _batch(rng, n, k, channels):
    y = torch.from_numpy(rng.integers(0, k, n))
    z = {b: torch.from_numpy(rng.normal(2.0, 3.0, (n, c)).astype(np.float32)) for b, c in channels.items()}
    s = {b: torch.from_numpy(rng.uniform(0, 1, (n, c)).astype(np.float32)) for b, c in channels.items()}
    return y, z, s


def test_known_means_and_stds():
    channels = {"SE_2_1": 2}
    acc = _acc(2, channels)
    s = torch.tensor([[0.2, 0.91], [0.4, 0.95], [0.5, 0.05], [0.5, 0.05]])
    z = torch.tensor([[1.0, 2.0], [3.0, 2.0], [0.0, -1.0], [2.0, 1.0]])
    acc.add(torch.tensor([0, 0, 1, 1]), {"SE_2_1": z}, {"SE_2_1": s})
    st = acc.result(["a", "b"])
    np.testing.assert_allclose(st.excitation_mean("SE_2_1"), [[0.3, 0.93], [0.5, 0.05]], atol=1e-7)
    np.testing.assert_allclose(st.excitation_std("SE_2_1"), [[0.1, 0.02], [0.0, 0.0]], atol=1e-6)
    np.testing.assert_allclose(st.squeeze_mean("SE_2_1"), [[2.0, 2.0], [1.0, 0.0]])
    np.testing.assert_allclose(st.squeeze_std("SE_2_1"), [[1.0, 0.0], [1.0, 1.0]])
    np.testing.assert_allclose(st.overall_mean("SE_2_1"), [0.4, 0.49], atol=1e-7)
    assert list(st.count) == [2, 2]
    assert st.saturation("SE_2_1") == (0.25, 0.25)  # 0.91 and 0.95 above 0.9; 0.05 twice below 0.1
    assert st.hist["SE_2_1"].sum() == 8 and st.hist["SE_2_1"][0, 45] == 1  # 0.91 -> bin [0.90, 0.92)


def test_large_synthetic_sample_recovers_its_distribution():
    rng = np.random.default_rng(0)
    acc = _acc(1, {"b": 8})
    for _ in range(20):
        x = torch.from_numpy(rng.normal(0.5, 0.1, (500, 8)))
        acc.add(torch.zeros(500, dtype=torch.long), {"b": x}, {"b": x})
    st = acc.result(["only"])
    np.testing.assert_allclose(st.excitation_mean("b"), 0.5, atol=0.01)
    np.testing.assert_allclose(st.excitation_std("b"), 0.1, atol=0.01)
    assert st.specificity("b") == 0.0  # one class: nothing to tell apart


def test_merge_equals_one_pass():
    rng = np.random.default_rng(1)
    channels = {"SE_2_1": 4, "SE_3_1": 6}
    batches = [_batch(rng, 17, 3, channels) for _ in range(6)]
    one, a, b = _acc(), _acc(), _acc()
    for i, (y, z, s) in enumerate(batches):
        one.add(y, z, s)
        (a if i % 2 else b).add(y, z, s)
    whole, merged = one.result(list("xyz")), a.result(list("xyz")).merge(b.result(list("xyz")))
    np.testing.assert_array_equal(whole.count, merged.count)
    for blk in channels:
        np.testing.assert_allclose(whole.s_sum[blk], merged.s_sum[blk], rtol=1e-12)
        np.testing.assert_allclose(whole.z_sq[blk], merged.z_sq[blk], rtol=1e-12)
        np.testing.assert_array_equal(whole.hist[blk], merged.hist[blk])
        assert whole.specificity(blk) == pytest.approx(merged.specificity(blk), rel=1e-9)


def test_specificity_saturation_and_similarity_measure_what_they_say():
    acc = _acc(2, {"shared": 3, "apart": 3})
    y = torch.tensor([0, 0, 1, 1])
    same = torch.tensor([[0.5, 0.5, 0.5], [0.52, 0.48, 0.5], [0.5, 0.5, 0.5], [0.52, 0.48, 0.5]])
    apart = torch.tensor([[0.99, 0.02, 0.5], [0.98, 0.03, 0.5], [0.02, 0.99, 0.5], [0.03, 0.98, 0.5]])
    acc.add(y, {"shared": same, "apart": apart}, {"shared": same, "apart": apart})
    st = acc.result(["a", "b"])
    assert st.specificity("shared") == pytest.approx(0.0, abs=1e-9)
    assert st.spreads("shared")[0] == pytest.approx(0.0, abs=1e-9) and st.spreads("apart")[0] > 0.3
    assert st.specificity("apart") > 100
    hi, lo = st.saturation("apart")
    assert hi == pytest.approx(4 / 12) and lo == pytest.approx(4 / 12)
    assert st.similarity("apart")[0, 1] < -0.9 and st.similarity("apart")[0, 0] == pytest.approx(1.0)


def test_save_and_load_round_trip(tmp_path):
    rng = np.random.default_rng(2)
    acc = _acc()
    acc.add(*_batch(rng, 30, 3, {"SE_2_1": 4, "SE_3_1": 6}))
    st = acc.result(list("xyz"), {"model": "m"})
    path = st.save(tmp_path / "s.npz")
    back = load_stats(path)
    assert back.class_names == list("xyz") and back.blocks == ["SE_2_1", "SE_3_1"] and back.meta["model"] == "m"
    np.testing.assert_allclose(back.excitation_mean("SE_3_1"), st.excitation_mean("SE_3_1"))
    with np.load(path) as f:
        for key in ["class_names", "blocks", "count", "excitation_mean/SE_2_1", "excitation_std/SE_2_1", "squeeze_mean/SE_2_1",
                    "squeeze_std/SE_2_1", "excitation_hist/SE_2_1", "specificity", "saturation_high", "similarity/SE_3_1"]:
            assert key in f.files
    (tmp_path / "bad.npz").write_bytes(b"nope")
    from senet_viz.errors import DataError

    with pytest.raises(DataError):
        load_stats(tmp_path / "bad.npz")


def test_stats_cli_on_a_tiny_folder(tmp_path):
    folder = make_image_folder(tmp_path / "pics", classes=("goldfish", "pug", "plane"), per_class=3, size=(40, 30))
    out = tmp_path / "st.npz"
    r = subprocess.run([sys.executable, "-m", "senet_viz", "stats", str(folder), "--weights", "random", "--out", str(out),
                        "--batch-size", "4", "--no-progress"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    st = load_stats(out)
    assert list(st.count) == [3, 3, 3] and len(st.blocks) == 9 and "stats" in st.meta["command"]


def test_imagenet_model_on_a_user_folder(seresnet50, tmp_path):
    """The paper's analysis for an ImageNet SE-ResNet on a user's own labelled folder."""
    from senet_viz.collect import compute_stats
    from senet_viz.data import open_source

    folder = make_image_folder(tmp_path / "mine", classes=("goldfish", "pug", "airliner", "cliff"), per_class=2, size=(64, 64))
    st = compute_stats(seresnet50, open_source(folder), batch_size=4)
    assert st.class_names == ["airliner", "cliff", "goldfish", "pug"] and len(st.blocks) == 16
    assert st.excitation_mean("SE_5_3").shape == (4, 2048)


def test_collected_statistics_match_a_direct_capture(se20, tmp_path):
    from senet_viz.capture import capture
    from senet_viz.collect import compute_stats
    from senet_viz.data import open_source

    src = open_source(make_image_folder(tmp_path / "p", classes=("a", "b"), per_class=5))
    st = compute_stats(se20, src, batch_size=3)
    cap = capture(se20, [src[i][0] for i in range(len(src))])
    labels = np.array(src.labels)
    for blk in ["SE_2_1", "SE_4_3"]:
        np.testing.assert_allclose(st.excitation_mean(blk)[1], cap.excitation[blk][labels == 1].mean(0), rtol=1e-5)
        np.testing.assert_allclose(st.squeeze_std(blk)[0], cap.squeeze[blk][labels == 0].std(0), rtol=1e-3, atol=1e-6)


def test_an_interrupted_write_leaves_no_half_written_file(tmp_path, monkeypatch):
    import senet_viz.npzio as npzio

    rng = np.random.default_rng(3)
    acc = _acc()
    acc.add(*_batch(rng, 10, 3, {"SE_2_1": 4, "SE_3_1": 6}))
    st = acc.result(list("xyz"))
    target = tmp_path / "stats.npz"
    st.save(target)
    before = target.read_bytes()

    def interrupted(f, **arrays):
        f.write(b"PK\x03\x04 partial")
        raise KeyboardInterrupt

    monkeypatch.setattr(npzio.np, "savez_compressed", interrupted)
    with pytest.raises(KeyboardInterrupt):
        st.save(target)
    assert target.read_bytes() == before  # the earlier complete file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["stats.npz"]  # no temporary left behind


def test_hidden_unit_sums_give_the_health_of_each_block(tmp_path):
    acc = Accumulator({"SE_2_1": 2, "SE_3_1": 2}, 2, hidden={"SE_2_1": 3, "SE_3_1": 2})
    s = torch.tensor([[0.2, 0.8], [0.4, 0.6], [0.5, 0.5], [0.5, 0.5]])
    acc.add(torch.tensor([0, 0, 1, 1]), {"SE_2_1": s, "SE_3_1": s}, {"SE_2_1": s, "SE_3_1": torch.full_like(s, 0.5)})
    # unit 0 fires on every picture and varies; unit 1 is dead; unit 2 fires once (25% of the pictures)
    h = torch.tensor([[1.0, 0.0, 0.0], [2.0, 0.0, 0.0], [3.0, 0.0, 0.5], [4.0, 0.0, 0.0]])
    acc.add_hidden({"SE_2_1": h, "SE_3_1": torch.zeros(4, 2)})
    st = acc.result(["a", "b"])
    first, second = st.health()
    assert (first.hidden, first.live) == (3, 2) and first.pictures == 4
    assert first.s_std == pytest.approx(float(s.double().std(0, unbiased=False).mean()))
    assert second.live == 0 and second.s_std == 0.0 and second.state == "constant"
    again = load_stats(st.save(tmp_path / "h.npz"))
    assert again.health() == st.health()
    merged = st.merge(st)
    assert merged.health()[0].live == 2 and merged.health()[0].pictures == 8
    rows = st.summary()
    assert rows[0]["live_hidden"] == 2 and rows[1]["live_hidden"] == 0 and rows[1]["s_std"] == 0.0


def test_statistics_without_hidden_sums_still_load(tmp_path):
    acc = _acc()
    y, z, s = _batch(np.random.default_rng(3), 10, 3, {"SE_2_1": 4, "SE_3_1": 6})
    acc.add(y, z, s)
    st = load_stats(acc.result(["a", "b", "c"]).save(tmp_path / "old.npz"))
    assert st.health() == [] and st.summary()[0]["live_hidden"] is None

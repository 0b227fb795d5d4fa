"""The film of a run: recorded while it trains without changing it, resumable, tied to the
finished weights, and read back as statistics."""

import numpy as np
import pytest
import torch
from PIL import Image
from safetensors.torch import load_file

from senet_viz.errors import DataError
from senet_viz.film import Film, frame_stats, load_film, probe_indices
from senet_viz.models.project import PROJECT_MODELS
from senet_viz.train import decoded_arrays, normalise, train


@pytest.fixture(scope="module")
def tiny_set(tmp_path_factory):
    root = tmp_path_factory.mktemp("tiny-film")
    rng = np.random.default_rng(1)
    for k, colour in enumerate([(220, 30, 30), (30, 30, 220), (30, 200, 30)]):
        (root / f"c{k}").mkdir()
        for i in range(24):
            a = np.clip(np.array(colour) + rng.normal(0, 25, (32, 32, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(a).save(root / f"c{k}" / f"{i}.png")
    return root


KW = dict(epochs=2, swa_epochs=1, batch_size=16, lr=0.05, progress=False)


def test_recording_a_film_leaves_the_run_as_it_was(tiny_set, tmp_path):
    plain = train("se_resnet20_cifar10", str(tiny_set), str(tiny_set), tmp_path / "plain.safetensors", film_probe=0, **KW)
    filmed = train("se_resnet20_cifar10", str(tiny_set), str(tiny_set), tmp_path / "filmed.safetensors", film_probe=5, **KW)
    assert not (tmp_path / "plain.film.npz").exists()
    # the same losses and weights to the bit: the film draws no random numbers and moves no BatchNorm statistics
    assert [h["loss"] for h in plain["history"]] == [h["loss"] for h in filmed["history"]]
    a, b = load_file(str(tmp_path / "plain.safetensors")), load_file(str(tmp_path / "filmed.safetensors"))
    for k in a:
        torch.testing.assert_close(a[k], b[k], rtol=0, atol=0)
    film = load_film(tmp_path / "filmed.film.npz")
    assert film.epochs == [1, 2, 3] and film.sources == {1: "training", 2: "training", 3: "final"}
    assert film.weights_sha256 == filmed["weights_sha256"]
    assert [film.losses[e] for e in (1, 2, 3)] == [h["loss"] for h in filmed["history"]]
    assert film.probe["per_class"] == 5 and film.probe["pictures"] == 15


def test_the_last_frame_is_the_finished_weights_on_the_probe(tiny_set, tmp_path):
    out = tmp_path / "m.safetensors"
    train("se_resnet20_cifar10", str(tiny_set), str(tiny_set), out, film_probe=4, **KW)
    film = load_film(out.with_suffix(".film.npz"))
    net = PROJECT_MODELS["se_resnet20_cifar10"].build()
    net.load_state_dict(load_file(str(out)))
    from senet_viz.data import open_source

    x, y = decoded_arrays(open_source(str(tiny_set)))
    idx = probe_indices(y, 4)
    direct = frame_stats(net, normalise(torch.from_numpy(x[idx])), torch.from_numpy(y[idx]).long(), film.class_names)
    last = film.stats(film.epochs[-1])
    assert last.count.tolist() == direct.count.tolist() == [4, 4, 4]
    for b in direct.blocks:
        # float16 keeps s in [0, 1] to within 2^-11 relative; 1e-3 absolute covers it with room
        np.testing.assert_allclose(last.excitation_mean(b), direct.excitation_mean(b), atol=1e-3, rtol=0)
        np.testing.assert_allclose(last.excitation_std(b), direct.excitation_std(b), atol=1e-3, rtol=0)
        np.testing.assert_array_equal(last.hist[b], direct.hist[b])
        assert abs(last.specificity(b) - direct.specificity(b)) <= 0.02 * max(1.0, direct.specificity(b))


def test_a_stopped_run_resumes_its_film(tiny_set, tmp_path):
    out = tmp_path / "r.safetensors"
    assert train("se_resnet20_cifar10", str(tiny_set), str(tiny_set), out, film_probe=3, stop_after=1, **KW) is None
    assert load_film(out.with_suffix(".film.npz")).epochs == [1]
    train("se_resnet20_cifar10", str(tiny_set), str(tiny_set), out, film_probe=3, **KW)
    straight = tmp_path / "s.safetensors"
    train("se_resnet20_cifar10", str(tiny_set), str(tiny_set), straight, film_probe=3, **KW)
    a, b = load_film(out.with_suffix(".film.npz")), load_film(straight.with_suffix(".film.npz"))
    assert a.epochs == b.epochs == [1, 2, 3]
    for e in a.epochs:
        for key in a.frames[e]:
            np.testing.assert_array_equal(a.frames[e][key], b.frames[e][key])


def test_a_missing_frame_or_film_is_one_clear_error(tmp_path):
    film = Film("m", ["a", "b"], ["SE_2_1"], {})
    with pytest.raises(DataError, match="no frame at epoch 7"):
        film.stats(7)
    with pytest.raises(DataError, match="no such film"):
        load_film(tmp_path / "none.npz")
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(DataError, match="not a film"):
        load_film(tmp_path / "bad.npz")


def _stats(separation: dict[str, float], seed: int):
    """Statistics of two classes whose s differ by ``separation[block]`` (noise std 0.05)."""
    from senet_viz.stats import Accumulator

    rng = np.random.default_rng(seed)
    acc = Accumulator({b: 4 for b in separation}, 2, hidden={b: 2 for b in separation})
    labels = torch.tensor([0] * 20 + [1] * 20)
    s = {b: torch.tensor(np.clip(0.5 + np.where(labels.numpy()[:, None] == 0, -d / 2, d / 2)
                                 + rng.normal(0, 0.05, (40, 4)), 0, 1)) for b, d in separation.items()}
    acc.add(labels, {b: v * 3 for b, v in s.items()}, s)
    acc.add_hidden({b: torch.relu(torch.tensor(rng.normal(0, 1, (40, 2)))) for b in separation})
    return acc.result(["a", "b"])


def _synthetic_film() -> Film:
    film = Film("m", ["a", "b"], ["SE_2_1", "SE_4_1"], {"per_class": 20})
    # stage 4 separates from epoch 3 on (0.2 apart: between/within = 0.01/0.0025 = 4), stage 2 never
    for e, d4 in [(1, 0.0), (2, 0.02), (3, 0.2), (4, 0.04), (5, 0.25), (160, 0.3)]:
        film.add(e, _stats({"SE_2_1": 0.01, "SE_4_1": d4}, e), "final" if e == 160 else "replayed", 2.0 / e)
    return film


def test_the_film_says_when_the_late_stage_became_class_specific(tmp_path):
    from senet_viz.film import film_sentence, first_crossing, stage_specificity_over_epochs

    film = _synthetic_film()
    spec = stage_specificity_over_epochs(film)
    assert set(spec) == {2, 4} and spec[4][2] > 1 > spec[4][1] and (spec[2] < 1).all()
    assert first_crossing(film.epochs, spec[4]) == 3 and first_crossing(film.epochs, spec[2]) is None
    text = film_sentence(film)
    assert "stage 4 became class-specific: its ratio first exceeded 1 at epoch 3" in text
    assert "above 1 in 3 of the 4 frames from there" in text and "stage 2 stayed shared" in text
    again = load_film(film.save(tmp_path / "f.npz"))
    assert again.epochs == film.epochs and again.sources == film.sources and again.losses == film.losses
    for e in film.epochs:
        for b in film.blocks:
            # float16 frames: s in [0, 1] to 2^-11 relative, so specificity to a few parts in a thousand
            assert again.stats(e).specificity(b) == pytest.approx(film.stats(e).specificity(b), rel=2e-2, abs=1e-3)


def test_a_film_written_a_frame_per_entry_still_reads(tmp_path):
    from senet_viz.npzio import save_npz

    film = _synthetic_film()
    arrays = {"meta": np.array(__import__("json").dumps({
        "model": film.model, "class_names": film.class_names, "blocks": film.blocks, "probe": film.probe,
        "sources": {str(e): s for e, s in film.sources.items()}, "losses": {str(e): v for e, v in film.losses.items()},
        "weights_sha256": None, "replay": {}}))}
    for e, frame in film.frames.items():
        arrays.update({f"{e}/{k}": v for k, v in frame.items()})
    old = load_film(save_npz(tmp_path / "old.npz", arrays))
    assert old.epochs == film.epochs
    np.testing.assert_array_equal(old.frames[3]["s_mean/SE_4_1"], film.frames[3]["s_mean/SE_4_1"])


def test_training_film_of_a_model_without_one_is_one_clear_error():
    import senet_viz

    with pytest.raises(senet_viz.SenetVizError, match="resnet20_cifar10 has no training film"):
        senet_viz.training_film("resnet20_cifar10")


@pytest.mark.skipif(not __import__("senet_viz.artefacts", fromlist=["film_file"]).film_file("se_resnet20_cifar10").is_file(),
                    reason="no film is shipped")
def test_class_patterns_plays_the_film_of_the_shipped_weights():
    import json as _json

    from app_support import assert_ok, run_app

    import senet_viz
    from senet_viz.film import film_sentence

    at = run_app().switch_page("pages/class_patterns.py").run()
    assert_ok(at)
    film = senet_viz.training_film()
    figures = [_json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    played = [f for f in figures if f.get("frames")]
    assert len(played) == 1 and [fr["name"] for fr in played[0]["frames"]] == [str(e) for e in film.epochs]
    assert played[0]["layout"]["sliders"][0]["active"] == len(film.epochs) - 1  # it starts at the shipped weights
    captions = " ".join(c.value for c in at.caption).replace("\\", "")
    assert film_sentence(film).replace("\\", "")[:60] in captions and "Frames: " in captions
    at.select_slider(key="film_epoch").set_value(film.epochs[0]).run()
    played = [_json.loads(c.proto.spec) for c in at.get("plotly_chart") if _json.loads(c.proto.spec).get("frames")]
    assert played[0]["layout"]["sliders"][0]["active"] == 0


def test_weights_without_a_film_say_so_in_one_line():
    from app_support import run_app

    at = run_app(weights="random").switch_page("pages/class_patterns.py").run()
    assert not at.exception
    assert any("No training film for these weights" in c.value for c in at.caption)

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

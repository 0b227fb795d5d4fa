import threading

import numpy as np
import pytest
from conftest import make_image_folder, random_picture

from senet_viz.ablation import ablate, stage_accuracy
from senet_viz.capture import capture
from senet_viz.errors import SenetVizError


def test_off_makes_every_block_the_identity(se20):
    from senet_viz.models import load_model

    plain = load_model("resnet20_cifar10", weights="random", device="cpu")
    # copy the shared weights into the no-SE twin: with s := 1 the two networks are the same function
    state = {k: v for k, v in se20.net.state_dict().items() if ".se." not in k}
    plain.net.load_state_dict(state)
    pic = random_picture(5)
    off = ablate(se20, [pic], [b.name for b in se20.blocks], "off")
    np.testing.assert_allclose(off.logits, capture(plain, [pic]).logits, atol=1e-5)
    assert all((v == 1).all() for v in off.excitation.values())


def test_modes_change_only_the_chosen_blocks(se20):
    pic = random_picture(6)
    base = capture(se20, [pic])
    const = ablate(se20, [pic], ["SE_4_3"], "constant", value=0.25)
    assert (const.excitation["SE_4_3"] == 0.25).all()
    np.testing.assert_array_equal(const.excitation["SE_2_1"], base.excitation["SE_2_1"])
    shuffled = ablate(se20, [pic], ["SE_2_1"], "shuffle")
    assert sorted(shuffled.excitation["SE_2_1"][0]) == pytest.approx(sorted(base.excitation["SE_2_1"][0]))
    mean = {"SE_3_1": np.linspace(0, 1, 32)}
    cm = ablate(se20, [pic], ["SE_3_1"], "class_mean", class_means=mean)
    np.testing.assert_allclose(cm.excitation["SE_3_1"][0], mean["SE_3_1"], atol=1e-6)
    with pytest.raises(SenetVizError):
        ablate(se20, [pic], ["SE_3_1"], "class_mean")
    with pytest.raises(SenetVizError):
        ablate(se20, [pic], ["SE_3_1"], "nonsense")
    np.testing.assert_array_equal(capture(se20, [pic]).logits, base.logits)  # nothing stays behind


def test_an_ablation_in_one_thread_does_not_reach_another(se20):
    pic = random_picture(9)
    base = capture(se20, [pic]).logits
    results, barrier = [], threading.Barrier(8)

    def plain():
        barrier.wait()
        for _ in range(5):
            results.append(capture(se20, [pic]).logits)

    def ablating():
        barrier.wait()
        for _ in range(5):
            ablate(se20, [pic], [b.name for b in se20.blocks], "constant", value=0.0)

    threads = [threading.Thread(target=plain if i % 2 else ablating) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20 and all(np.array_equal(r, base) for r in results)


def test_stage_accuracy(se20, tmp_path):
    from senet_viz.data import open_source

    src = open_source(make_image_folder(tmp_path / "p", classes=tuple("abcdefghij"), per_class=2))
    means = {b.name: np.full(b.channels, 0.5) for b in se20.blocks}
    res = stage_accuracy(se20, src, batch_size=7, means=means)
    groups = {"stage 2", "stage 3", "stage 4", "all"}
    assert res["n"] == 20 and set(res["top1"]) == {"none"} | {f"off: {g}" for g in groups} | {f"mean: {g}" for g in groups}
    assert all(0 <= v <= 1 for v in res["top1"].values())

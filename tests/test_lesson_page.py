"""The Lesson page through AppTest: every step for the shipped weights and for random weights
(which have no statistics, ablation or twin), answers that follow the weights, links and the
presenter view."""

from __future__ import annotations

import pytest
from app_support import assert_ok, charts, run_app

from senet_viz.lesson import STEPS


def _walk(weights: str | None = None, weights_path: str | None = None) -> dict[str, dict]:
    """Every step from the first with Next, each question revealed; per step its title and texts."""
    at = run_app(**({"weights": weights} if weights else {}))
    at.switch_page("pages/lesson.py")
    if weights:  # the page runs without app.py's sidebar under AppTest: the link names the weights
        at.query_params["weights"] = weights
    if weights_path:  # ... and the session's uploaded file
        at.session_state["weights_path"] = weights_path
    at.run()
    seen = {}
    for i, step in enumerate(STEPS):
        assert_ok(at)
        assert at.title[0].value == f"{i + 1}. {step.title}"
        assert at.query_params["step"] in (str(i + 1), [str(i + 1)])
        for offer in ("lesson_gallery_stats", "lesson_gallery_ablation"):
            if any(b.key == offer for b in at.button):
                at.button(key=offer).click().run()
                assert_ok(at)
        reveal = [b for b in at.button if b.key and b.key.startswith("lesson_reveal")]
        radios = [r for r in at.radio if r.key and r.key.startswith("lesson_choice")]
        if reveal:
            picked = radios[0].options[0]
            radios[0].set_value(0)
            reveal[0].click().run()
            assert_ok(at)
        verdicts = [e.value for e in [*at.success, *at.warning] if "answer" in e.value or e.value.startswith("Right")]
        if reveal:  # the verdict is about the choice made: right names it, wrong names it and the measured one
            (verdict,) = verdicts
            if verdict.startswith("Right"):
                assert verdict.startswith(f"Right: **{picked}**."), (step.key, picked, verdict)
            else:
                assert f", not {picked}." in verdict and f"**{picked}**" not in verdict, (step.key, picked, verdict)
        seen[step.key] = {"asked": bool(reveal), "verdicts": verdicts, "info": [e.value for e in at.info],
                          "charts": charts(at), "captions": [c.value for c in at.caption]}
        if i < len(STEPS) - 1:
            at.button(key="lesson_next").click().run()
    assert at.button(key="lesson_next").disabled
    return seen


@pytest.fixture(scope="module")
def shipped_walk():
    return _walk(None)


@pytest.fixture(scope="module")
def random_walk():
    return _walk("random")


@pytest.fixture(scope="module")
def file_walk(tmp_path_factory):
    """The shipped weights with every SE block's W2 scaled, saved as a file of one's own."""
    from safetensors.torch import save_file

    from senet_viz.models import load_model

    net = load_model("se_resnet20_cifar10", device="cpu").net
    state = {k: (1.5 * v if k.endswith(".se.fc2.weight") else v).contiguous()
             for k, v in net.state_dict().items()}
    assert any(a is not b for a, b in zip(state.values(), net.state_dict().values()))
    path = tmp_path_factory.mktemp("weights") / "my-run.safetensors"
    save_file(state, str(path))
    return _walk(weights_path=str(path))


def test_every_step_asks_and_reveals_on_the_shipped_weights(shipped_walk):
    assert list(shipped_walk) == [s.key for s in STEPS]
    for key, seen in shipped_walk.items():
        if key != "scale":  # the scale step shows; it asks nothing
            assert seen["asked"] and len(seen["verdicts"]) == 1, key
        assert seen["charts"] >= 1, key  # and each chart is followed by its one-line summary
    assert "paired" in shipped_walk["twin"]["verdicts"][0]


def test_random_weights_walk_every_step_and_compute_what_they_lack(random_walk, shipped_walk):
    for key, seen in random_walk.items():
        if key not in ("scale", "twin"):
            assert seen["asked"], key
    # statistics and ablation were measured here, on the gallery's pictures, and say so
    assert "100 pictures" in random_walk["classes"]["verdicts"][0]
    assert "100 test pictures" in random_walk["ablation"]["verdicts"][0]
    assert any("no card" in text for text in random_walk["twin"]["info"])
    # other weights, other measured answers: nothing in a reveal is written for one set of weights
    for key in ("squeeze", "excite", "fingerprint", "classes", "ablation"):
        assert random_walk[key]["verdicts"] != shipped_walk[key]["verdicts"], key


def test_a_weights_file_gets_its_own_lesson(file_walk, shipped_walk):
    for key, seen in file_walk.items():
        assert seen["charts"] >= 1 or key == "twin", key
    assert "100 pictures" in file_walk["classes"]["verdicts"][0]  # its statistics were measured here
    assert any("no card of a twin" in text for text in file_walk["twin"]["info"])
    # a stronger gate W2: other excitations, other measured answers
    assert file_walk["excite"]["verdicts"] != shipped_walk["excite"]["verdicts"]
    assert file_walk["fingerprint"]["verdicts"] != shipped_walk["fingerprint"]["verdicts"]


def test_a_link_opens_its_step_in_the_presenter_view():
    at = run_app()
    at.switch_page("pages/lesson.py")
    at.query_params["step"] = "6"
    at.query_params["present"] = "1"
    at.run()
    assert_ok(at)
    assert at.title[0].value == f"6. {STEPS[5].title}"
    assert at.toggle(key="lesson_present").value
    assert any("font-size" in h.proto.body for h in at.get("html"))
    at.toggle(key="lesson_present").set_value(False).run()
    assert not any("font-size" in h.proto.body for h in at.get("html"))
    assert "present" not in at.query_params
    at.button(key="lesson_prev").click().run()
    assert at.title[0].value.startswith("5. ") and at.query_params["step"] in ("5", ["5"])


def test_a_wrong_answer_is_named_and_the_measured_one_given():
    at = run_app()
    at.switch_page("pages/lesson.py").run()
    radio = next(r for r in at.radio if r.key.startswith("lesson_choice"))
    right = next(i for i, label in enumerate(radio.options) if label == "64")  # C of the last block: one s per channel
    radio.set_value((right + 1) % len(radio.options))
    next(b for b in at.button if b.key.startswith("lesson_reveal")).click().run()
    assert_ok(at)
    assert len(at.warning) == 1 and "measured answer is **64**" in at.warning[0].value


@pytest.mark.parametrize(("query", "refused"), [
    ({"step": "²"}, "not one of the lesson's steps"), ({"step": "999"}, "not one of the lesson's steps"),
    ({"step": "-1"}, "not one of the lesson's steps"), ({"room": "<script>"}, "is not a room code"),
    ({"room": "ABCDEF", "step": "3"}, None),
])
def test_odd_links_open_the_lesson_with_at_most_one_line(query, refused):
    at = run_app()
    at.switch_page("pages/lesson.py")
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert not at.exception
    assert len(at.error) <= 1
    if refused:
        assert len(at.error) == 1 and refused in at.error[0].value.replace("\\", "")
    if query.get("step") != "3":
        assert at.title[0].value.startswith("1. ")


def test_the_cost_step_shows_what_the_cost_command_counts_at_the_chosen_r():
    from senet_viz.cost import cost
    from senet_viz.models import load_model

    at = run_app()
    at.switch_page("pages/lesson.py")
    at.query_params["step"] = str(next(i + 1 for i, s in enumerate(STEPS) if s.key == "cost"))
    at.run()
    text = " ".join(m.value for m in at.markdown)
    assert "floor of 8 hidden units" in text and "2·C·8 + 8 + C" in text and "**2,016**" in text and "**5,784**" in text
    next(b for b in at.button if b.key.startswith("lesson_reveal")).click().run()
    model = load_model("se_resnet20_cifar10", device="cpu")
    for r in (4, 8, 16, 32):
        at.select_slider(key="lesson_cost_r").set_value(r).run()
        assert_ok(at)
        built, exact = cost(model, float(r)), cost(model, float(r), floor=False)
        summary = next(c.value for c in at.caption if "SE parameters of" in c.value)
        assert f"at r = {r}" in summary.replace("\\", "")
        assert f"{built.se_params:,}" in summary and f"{exact.se_params:,}" in summary


def test_class_names_from_a_users_folder_are_plain_text_on_the_lesson(tmp_path):
    """Statistics of a folder whose classes are named like Markdown (an image that would load from
    elsewhere, bold): the classes step and its question show the names as they are typed."""
    from conftest import make_image_folder

    from senet_viz.collect import compute_stats
    from senet_viz.data import open_source
    from senet_viz.models import load_model

    odd = ("![x](e.vil.png)", "**bold**")
    model = load_model("se_resnet20_cifar10", weights="random", device="cpu")
    stats = compute_stats(model, open_source(make_image_folder(tmp_path, odd)), batch_size=4, workers=0)
    at = run_app(weights="random")
    at.switch_page("pages/lesson.py")
    at.query_params["weights"] = "random"
    at.query_params["step"] = str(next(i + 1 for i, s in enumerate(STEPS) if s.key == "classes"))
    at.session_state["computed_stats"] = stats
    at.run()
    next(b for b in at.button if b.key.startswith("lesson_reveal")).click().run()
    assert_ok(at)
    shown = [e.value for e in [*at.caption, *at.markdown, *at.info, *at.success, *at.warning]]
    named = [text for text in shown if "e.vil" in text or "bold" in text]
    assert named, "the step names the classes somewhere"
    for text in named:
        assert "![" not in text and "](" not in text and "**bold**" not in text, text

"""Every page through Streamlit's AppTest: no exception, the key elements, uploads, widget changes."""

from __future__ import annotations

import io
import zipfile

import numpy as np
import pytest
from app_support import assert_ok, charts, png, run_app, uploader, vega_data
from streamlit.testing.v1 import AppTest

PAGES = ["pages/inspect.py", "pages/compare.py", "pages/class_patterns.py", "pages/equations.py", "pages/architecture.py", "pages/ablation.py"]


_app, _ok, _png, _uploader = run_app, assert_ok, png, uploader


def _text(element) -> str:
    """An element's text as shown (markdown escapes removed)."""
    return element.value.replace("\\", "")


@pytest.fixture(scope="module")
def app() -> AppTest:
    return _app()


def test_home(app):
    _ok(app)
    assert app.title[0].value == "SENet Explorer"
    assert any(m.label == "Active model" for m in app.metric)
    assert len(app.get("plotly_chart")) >= 1  # the block diagram


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders(app, page):
    app.switch_page(page).run()
    _ok(app)
    assert app.title and charts(app) + len(app.get("latex")) >= 1, [e.type for e in app.main]


def test_inspect_shows_prediction_fingerprint_and_reweighting(app):
    app.switch_page("pages/inspect.py").run()
    _ok(app)
    subheaders = [h.value for h in app.subheader]
    for wanted in ["Prediction (top 5)", "Excitation fingerprint", "Channel reweighting", "Downloads"]:
        assert wanted in subheaders
    assert len(app.dataframe) >= 1 and len(app.get("download_button")) == 3
    app.selectbox(key="block").set_value("SE_2_1").run()
    _ok(app)
    assert any("z and s in SE_2_1" == h.value for h in app.subheader)
    unsorted = vega_data(app, "excitation s (SE_2_1)")
    app.toggle(key="sort_bars").set_value(True).run()
    _ok(app)
    assert app.query_params["block"] in ("SE_2_1", ["SE_2_1"])
    ordered = vega_data(app, "excitation s (SE_2_1)")
    assert len(ordered) == 16 and np.all(np.diff(ordered["value"]) <= 0) and not np.all(np.diff(unsorted["value"]) <= 0)
    # the same channels, reordered, each bar still naming its channel and carrying its class mean
    by_channel = ordered.set_index("channel").loc[unsorted["channel"]]
    np.testing.assert_array_equal(by_channel["value"], unsorted["value"])
    np.testing.assert_array_equal(by_channel["reference"], unsorted["reference"])


def test_inspect_uploads(app):
    app.switch_page("pages/inspect.py").run()
    up = _uploader(app, "uploads")
    up.upload("one.png", _png(1)).upload("two.png", _png(2)).run()
    _ok(app)
    assert app.selectbox(key="upload_pick").options == ["1. one.png", "2. two.png"]
    app.selectbox(key="upload_pick").set_value(1).run()
    _ok(app)
    assert app.session_state["picture"][0] == "2. two.png"
    _uploader(app, "uploads").clear().upload("broken.png", b"\x89PNG\r\n\x1a\nnot really").run()
    assert not app.exception and len(app.error) == 1 and "broken.png: not a readable picture" in _text(app.error[0])
    _uploader(app, "uploads").clear().run()


def test_inspect_gallery_choice_reruns(app):
    app.switch_page("pages/inspect.py").run()
    app.radio(key="inspect_pick_photos").set_value("rocket").run()
    _ok(app)
    assert app.query_params["picture"] in ("rocket", ["rocket"])
    app.selectbox(key="inspect_group").set_value("dog").run()
    _ok(app)
    assert app.query_params["picture"] in ("cifar-dog-0", ["cifar-dog-0"])
    app.radio(key="inspect_pick_dog").set_value("cifar-dog-3").run()
    _ok(app)
    assert app.query_params["picture"] in ("cifar-dog-3", ["cifar-dog-3"])
    assert app.session_state["picture"][0] == "gallery: cifar-dog-3"


def test_the_gallery_has_every_cifar_class_without_the_dataset(monkeypatch):
    """No test split on the machine: the shipped gallery still offers 10 pictures of each class,
    and a link to one of them restores it in a fresh session."""
    import senet_viz.data
    from senet_viz import gallery

    monkeypatch.setattr(senet_viz.data, "cifar10_test_source", lambda download=False: None)
    assert gallery.cifar_classes() == ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
    assert all(len(gallery.in_group(c)) == 10 for c in gallery.cifar_classes())
    assert gallery.resolve("cifar-ship") == "cifar-ship-0" and gallery.resolve("cifar-ship-10") is None
    at = _app(picture="cifar-horse-7")
    at.switch_page("pages/inspect.py").run()
    _ok(at)
    assert at.selectbox(key="inspect_group").value == "horse" and at.radio(key="inspect_pick_horse").value == "cifar-horse-7"
    assert at.session_state["picture"][0] == "gallery: cifar-horse-7"
    assert at.selectbox(key="inspect_group").options[1:] == [f"{c} (CIFAR-10 test pictures)" for c in gallery.cifar_classes()]


def test_equations_step_through(app):
    app.switch_page("pages/equations.py").run()
    _ok(app)
    assert len(app.get("latex")) == 1
    for _ in range(7):
        next_button = [b for b in app.button if b.label == "Next ▶"][0]
        next_button.click().run()
        _ok(app)
    assert len(app.get("latex")) >= 9  # all eight steps and the Eq. 5 line
    import json

    flow = next(json.loads(c.proto.spec) for c in app.get("plotly_chart") if "excitation_flow" in c.proto.id)
    names = [t["name"] for t in flow["data"]]
    assert names[0] == "z" and names[3] == "δ = ReLU" and names[-1] == "s = Sigmoid(·)"
    table = next(d.value for d in app.dataframe if "W2 δ + b2" in d.value.columns)
    s_drawn = _values(flow["data"][-1]["z"]).ravel() if isinstance(flow["data"][-1]["z"], dict) else np.ravel(flow["data"][-1]["z"])
    np.testing.assert_allclose(s_drawn, table["s"].to_numpy(), rtol=1e-6)  # the figure draws the walkthrough's s
    assert any("max |Δz|" in m.value for m in app.markdown)


def test_architecture_reduction_slider(app):
    app.switch_page("pages/architecture.py").run()
    before = [m.value for m in app.metric]
    app.select_slider(key="r").set_value(4).run()
    _ok(app)
    assert [m.value for m in app.metric] != before
    app.toggle(key="no_last").set_value(True).run()
    _ok(app)


def _values(y) -> np.ndarray:
    """A trace's values as Plotly's JSON holds them: a list, or typed bytes in base64."""
    import base64

    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=y["dtype"]).astype(float)
    return np.asarray(y, dtype=float)


def _bars(at, names):
    """The bar traces of the first chart that has all of ``names``: {name: y values}."""
    import json

    for chart in at.get("plotly_chart"):
        traces = {t.get("name"): t.get("y") for t in json.loads(chart.proto.spec)["data"]}
        if set(names) <= set(traces):
            return {k: _values(traces[k]) for k in names}
    raise AssertionError(f"no chart with {names}")


def test_ablation_modes_change_the_prediction_as_each_mode_should(app):
    app.switch_page("pages/ablation.py").run()
    _ok(app)
    lines, ablated = {}, {}
    for mode in ["off", "constant", "shuffle"]:
        app.selectbox(key="abl_mode").set_value(mode).run()
        _ok(app)
        line = next(m.value for m in app.markdown if m.value.startswith("**Before:**"))
        bars = _bars(app, ["as trained", "ablated"])
        assert np.abs(bars["ablated"] - bars["as trained"]).max() > 1e-3, mode  # the last stage's s changed the output
        lines[mode], ablated[mode] = line, bars["ablated"]
    # s := 1 and s := 0.5 are different replacements: other top classes, or other probabilities
    off, constant = ablated["off"], ablated["constant"]
    assert off.shape != constant.shape or lines["off"] != lines["constant"] or not np.allclose(off, constant)
    app.selectbox(key="abl_mode").set_value("constant").run()
    low = _bars(app, ["ablated"])["ablated"]
    app.slider(key="abl_value").set_value(0.95).run()
    high = _bars(app, ["ablated"])["ablated"]
    assert high.shape != low.shape or not np.allclose(high, low)  # the constant is the one applied


def test_class_patterns_from_an_uploaded_zip(app):
    app.switch_page("pages/class_patterns.py").run()
    app.radio(key="stats_source").set_value("zip").run()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for k, cls in enumerate(["cat", "dog"]):
            for i in range(3):
                zf.writestr(f"mine/{cls}/{i}.png", _png(10 * k + i, (32, 32)))
    _uploader(app, "stats_zip").upload("mine.zip", buf.getvalue(), "application/zip").run()
    _ok(app)
    assert charts(app) >= 5


def test_a_hostile_zip_is_one_error_line(app):
    app.switch_page("pages/class_patterns.py").run()
    app.radio(key="stats_source").set_value("zip").run()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("../../evil.png", _png())
    _uploader(app, "stats_zip").upload("evil.zip", buf.getvalue(), "application/zip").run()
    assert not app.exception
    assert len(app.error) == 1 and "escape" in _text(app.error[0])


def test_an_unknown_model_falls_back_with_one_line():
    at = _app(model="no_such_model")
    assert not at.exception
    assert len(at.error) == 1 and "unknown model" in _text(at.error[0])


def test_a_corrupt_weights_upload_keeps_the_app_usable():
    at = _app()
    at.radio(key="weights_choice").set_value("file").run()
    _uploader(at, "weights_file").upload("broken.safetensors", b"\x00 not a safetensors file").run()
    assert not at.exception
    assert len(at.error) == 1 and "not a readable safetensors file" in _text(at.error[0])
    assert any(m.label == "Active model" for m in at.metric)  # the page still renders, on the embedded default


def test_user_text_is_never_markup():
    from ui.common import plain

    assert plain("<img src=x onerror=alert(1)>") == "\\<img src=x onerror=alert\\(1\\)\\>"
    # a word joiner (U+2060) after the scheme: GitHub's Markdown would make a link of the bare text
    assert plain("[click](http://evil)") == "\\[click\\]\\(http\u2060\\://evil\\)"
    assert plain("www.evil.example a@b.example") == "www\u2060\\.evil\\.example a\u2060@b\\.example"
    assert plain(":red[big] $x$") == "\\:red\\[big\\] \\$x\\$"


def test_inspect_asks_for_the_camera_only_when_it_is_turned_on(app):
    app.switch_page("pages/inspect.py").run()
    _ok(app)
    assert not app.get("camera_input")  # drawn, it would ask every browser for its camera
    app.toggle(key="camera_on").set_value(True).run()
    _ok(app)
    assert len(app.get("camera_input")) == 1


def test_pictures_held_for_class_statistics_are_bounded(app, monkeypatch):
    import senet_viz.data

    monkeypatch.setattr(senet_viz.data, "MAX_HELD_PICTURES", 3)
    app.switch_page("pages/class_patterns.py").run()
    app.radio(key="stats_source").set_value("batches").run()

    def add(cls: str, seeds: list[int]):
        app.text_input(key="batch_class").set_value(cls).run()
        uploader = _uploader(app, f"batch_files_{app.session_state['batch_no']}")
        for s in seeds:
            uploader.upload(f"{cls}{s}.png", _png(s, (32, 32)), "image/png")
        app.run()
        app.button[[b.label for b in app.button].index("Add batch")].click().run()

    add("cat", [1, 2])
    assert len(app.session_state["labelled"]) == 2 and not app.error
    add("dog", [3, 4])  # 4 > 3: refused, nothing added
    assert len(app.session_state["labelled"]) == 2
    assert len(app.error) == 1 and "at most 3 pictures are held" in app.error[0].value.replace("\\", "")

"""Class names are user text (a weights file's metadata, typed in the sidebar): on every page and
Lesson step they stay text, never Markdown, HTML, a directive, LaTeX or a link."""

from __future__ import annotations

import json
import re

import pytest
import torch
from app_support import run_app, uploader
from safetensors.torch import save

from senet_viz.models.project import PROJECT_MODELS

#: Ten names that would each turn into markup somewhere if left raw.
HOSTILE = ["**BOLD0**", "<b>HTML1</b>", "[LINK2](http://x.example)", ":red[RED3]", "$LATEX4^2$", "=SUM(5)",
           "_ITALIC6_", "`CODE7`", "<img src=x onerror=alert(8)>", "# HEADING9"]
#: What each name looks like where it became markup: the raw name in a Markdown body, the tag in HTML.
RAW_MARKDOWN = [re.compile(r"(?<!\\)\*\*BOLD0"), re.compile(r"(?<!\\)\[LINK2(?!\\)\]\("), re.compile(r"(?<!\\):red\["),
                re.compile(r"(?<!\\)\$LATEX4"), re.compile(r"(?<!\\)_ITALIC6(?!\\)_"), re.compile(r"(?<!\\)`CODE7"),
                re.compile(r"(?<!\\)<b>HTML1"), re.compile(r"(?<!\\)<img src")]
RAW_HTML = [re.compile(r"<b>HTML1"), re.compile(r"<img src")]
PAGES = ["pages/inspect.py", "pages/compare.py", "pages/class_patterns.py", "pages/equations.py",
         "pages/architecture.py", "pages/ablation.py", "pages/lesson.py"]


def _weights() -> bytes:
    torch.manual_seed(3)
    return save(PROJECT_MODELS["se_resnet20_cifar10"].build().state_dict(), metadata={"class_names": json.dumps(HOSTILE)})


def _walk(node):
    yield node
    for child in getattr(node, "children", {}).values():
        yield from _walk(child)


def _leaks(at) -> list[str]:
    found = []
    for node in _walk(at._tree):
        proto = getattr(node, "proto", None)
        if proto is None:
            continue
        kind = proto.DESCRIPTOR.name
        text = proto.label if kind == "Metric" else str(proto)  # a metric's value is shown as text
        if "plotly" in kind.lower():
            spec = proto.spec if hasattr(proto, "spec") else text
            found += [f"plotly: {p.pattern}" for p in RAW_HTML if p.search(spec)]
        elif any(name in text for name in ("BOLD0", "HTML1", "LINK2", "RED3", "LATEX4", "ITALIC6", "CODE7", "src=x")):
            if kind.lower() in ("arrownamedataframe", "arrow", "dataframe", "selectbox", "multiselect", "textinput",
                                "vegaliteChart".lower(), "arrowvegalitechart", "text", "code", "json"):
                continue  # shown as text by the browser (tables, widget values, plain text, Vega-Lite's canvas)
            found += [f"{kind}: {p.pattern} in {text[:200]!r}" for p in RAW_MARKDOWN if p.search(text)]
    return found


@pytest.fixture(scope="module")
def hostile_app(tmp_path_factory):
    data = _weights()
    at = run_app()
    at.radio(key="weights_choice").set_value("file").run()
    uploader(at, "weights_file").upload("hostile.safetensors", data).run()
    # statistics of these weights under these names, as Class patterns computes them: the pages that
    # draw classes against each other (Compare, Lesson steps 6-8, Ablation) then show every name
    path = tmp_path_factory.mktemp("hostile") / "hostile.safetensors"
    path.write_bytes(data)
    import senet_viz

    model = senet_viz.load_model("se_resnet20_cifar10", weights=path)
    torch.manual_seed(4)
    batches = [(torch.randn(20, 3, 32, 32), torch.arange(20) % 10)]
    at.session_state["computed_stats"] = senet_viz.class_statistics(model, batches, class_names=HOSTILE)
    return at


@pytest.mark.parametrize("page", PAGES)
def test_class_names_stay_text_on_every_page(hostile_app, page):
    at = hostile_app.switch_page(page).run()
    assert not at.exception, [e.value for e in at.exception]
    assert _leaks(at) == []


@pytest.mark.parametrize("step", range(10))
def test_class_names_stay_text_on_every_lesson_step(hostile_app, step):
    at = hostile_app.switch_page("pages/lesson.py")
    at.session_state["lesson_step"] = step
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert _leaks(at) == []

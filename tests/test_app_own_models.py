"""A practitioner's own network in the app: uploaded weights with their own classes and names,
and networks built by code only where the operator allows them."""

from __future__ import annotations

import json

import pytest
import torch
from app_support import assert_ok, run_app, uploader
from safetensors.torch import save

from senet_viz.models.project import PROJECT_MODELS

NAMES = ["north", "east", "south", "west"]


def _four_class_file(metadata: dict | None) -> bytes:
    """An SE-ResNet-20 whose classifier has 4 outputs, as a fine-tune to 4 classes saves it."""
    torch.manual_seed(1)
    return save(PROJECT_MODELS["se_resnet20_cifar10"].build(num_classes=4).state_dict(), metadata=metadata)


def _inspect_with_upload(data: bytes, names: str | None = None):
    at = run_app()
    at.radio(key="weights_choice").set_value("file").run()
    uploader(at, "weights_file").upload("compass.safetensors", data).run()
    if names is not None:
        at.text_input(key="class_names_text").set_value(names).run()
    at.switch_page("pages/inspect.py").run()
    return at


def _shown_classes(at) -> set[str]:
    table = at.dataframe[0].value
    return set(table["class"])


def test_uploaded_weights_bring_their_class_count_and_names():
    at = _inspect_with_upload(_four_class_file({"class_names": json.dumps(NAMES)}))
    assert_ok(at)
    assert _shown_classes(at) == set(NAMES)
    assert at.metric[0].value in NAMES


def test_names_typed_in_the_sidebar_name_the_classes():
    at = _inspect_with_upload(_four_class_file(None), names="up, down, left, right")
    assert_ok(at)
    assert _shown_classes(at) == {"up", "down", "left", "right"}


def test_names_of_the_wrong_count_are_one_line_and_the_app_goes_on():
    at = _inspect_with_upload(_four_class_file(None), names="a, b, c")
    assert not at.exception
    assert len(at.error) == 1 and "3 class names given, but the network has 4 classes" in at.error[0].value
    assert at.metric[0].value in ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                                  "truck")  # the embedded default, shown instead


def test_a_network_from_code_is_refused_unless_the_operator_allows_it(monkeypatch):
    monkeypatch.delenv("SENET_VIZ_ALLOW_CODE_MODELS", raising=False)
    at = run_app(model="handwritten_se:build_selayer")
    assert not at.exception
    assert len(at.error) == 1 and "networks built by code are off on this server" in at.error[0].value
    assert "handwritten_se" not in " ".join(c.value for c in at.sidebar.caption if "Running" in c.value)


@pytest.mark.parametrize("how", ["link", "sidebar"])
def test_a_network_from_code_where_allowed(monkeypatch, how):
    monkeypatch.setenv("SENET_VIZ_ALLOW_CODE_MODELS", "1")
    at = run_app(model="handwritten_se:build_semodule") if how == "link" else run_app()
    if how == "sidebar":
        at.selectbox(key="model_choice").set_value("other…").run()
        at.text_input(key="model_other").set_value("handwritten_se:build_semodule").run()
    at.switch_page("pages/inspect.py").run()
    assert_ok(at)
    running = " ".join(c.value for c in at.sidebar.caption if "Running" in c.value)
    assert "handwritten\\_se\\:build\\_semodule" in running or "handwritten_se:build_semodule" in running
    assert "6 SE blocks" in running

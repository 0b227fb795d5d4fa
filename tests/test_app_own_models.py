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


def _code_name_in_sidebar(at):
    at.selectbox(key="model_choice").set_value("other…").run()
    at.text_input(key="model_other").set_value("handwritten_se:build_semodule").run()
    return at


@pytest.mark.parametrize("how", ["link", "sidebar"])
def test_a_stranger_runs_no_code_even_where_the_operator_allows_it(monkeypatch, how):
    monkeypatch.setenv("SENET_VIZ_ALLOW_CODE_MODELS", "1")
    monkeypatch.setattr("senet_viz.models.code.load_code", _must_not_run)
    at = run_app(model="handwritten_se:build_semodule") if how == "link" else _code_name_in_sidebar(run_app())
    assert not at.exception
    assert len(at.error) == 1 and "run only for a browser on this server's own machine" in at.error[0].value.replace("\\", "")
    monkeypatch.setenv("SENET_VIZ_LECTURER_PASSWORD", "sesame")
    if how == "sidebar":  # a wrong password gains nothing
        at.run().text_input(key="code_password").set_value("open").run()
        assert len(at.error) == 1 and "wrong lecturer password" in at.error[0].value


def _must_not_run(*args, **kwargs):
    raise AssertionError("code was imported and called for a stranger")


@pytest.mark.parametrize("how", ["link", "sidebar", "password"])
def test_a_network_from_code_for_the_person_at_the_machine(monkeypatch, how):
    from ui import trust

    monkeypatch.setenv("SENET_VIZ_ALLOW_CODE_MODELS", "1")
    if how == "password":
        monkeypatch.setenv("SENET_VIZ_LECTURER_PASSWORD", "sesame")
        at = _code_name_in_sidebar(run_app())
        at.text_input(key="code_password").set_value("sesame").run()
    else:  # a browser at http://127.0.0.1:PORT on a server listening on :: (tests/test_browser.py drives a real one)
        monkeypatch.setattr(trust, "client_address", lambda: "::ffff:127.0.0.1")
        at = run_app(model="handwritten_se:build_semodule") if how == "link" else _code_name_in_sidebar(run_app())
    at.switch_page("pages/inspect.py").run()
    assert_ok(at)
    running = " ".join(c.value for c in at.sidebar.caption if "Running" in c.value)
    assert "handwritten\\_se\\:build\\_semodule" in running or "handwritten_se:build_semodule" in running
    assert "6 SE blocks" in running


def _ten_class_file() -> bytes:
    torch.manual_seed(2)
    return save(PROJECT_MODELS["se_resnet20_cifar10"].build().state_dict())


def test_a_server_path_typed_as_class_names_is_never_opened(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("".join(f"SECRET-LINE-{i}\n" for i in range(10)))  # as many lines as the network has classes
    at = _inspect_with_upload(_ten_class_file(), names=str(secret))
    shown = " ".join(str(e.proto) for e in (*at.main, *at.sidebar))
    assert "SECRET-LINE" not in shown
    assert len(at.error) == 1 and "1 class names given, but the network has 10 classes" in at.error[0].value.replace("\\", "")


@pytest.mark.parametrize("upload", [("compass.json", json.dumps(NAMES).encode()), ("compass.txt", "\n".join(NAMES).encode()),
                                    ("bad.txt", b"\xff\xfe\x00")])
def test_class_names_come_from_an_uploaded_file(upload):
    at = run_app()
    at.radio(key="weights_choice").set_value("file").run()
    uploader(at, "weights_file").upload("compass.safetensors", _four_class_file(None)).run()
    uploader(at, "class_names_file").upload(*upload).run()
    at.switch_page("pages/inspect.py").run()
    if upload[0] == "bad.txt":
        assert len(at.error) == 1 and "bad.txt: not a UTF-8 text file" in at.error[0].value.replace("\\", "")
    else:
        assert_ok(at)
        assert _shown_classes(at) == set(NAMES)


def test_a_link_to_a_huge_network_is_one_line_and_the_default_goes_on():
    at = run_app(model="regnety_2560", weights="random")
    assert not at.exception
    assert len(at.error) == 1 and "regnety_2560 has 1,283 million parameters" in at.error[0].value.replace("\\", "")
    assert "se_resnet20_cifar10" in " ".join(c.value for c in at.sidebar.caption if "Running" in c.value).replace("\\", "")

"""A practitioner's own SE network: class counts and names from the weights file, hand-written SE
blocks found by what they do, a registered SE type, networks from code, one line per mistake."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from conftest import ROOT, random_picture
from safetensors.torch import save_file
from torch import nn

from senet_viz.capture import capture
from senet_viz.cli import main
from senet_viz.errors import ClassNamesError, UnknownModel, WeightsUnavailable
from senet_viz.models import blocks, load_model
from senet_viz.models.blocks import register_se_module


@pytest.fixture(scope="module")
def seresnet18_files(tmp_path_factory):
    """seresnet18 state dicts as a fine-tune would save them: 5 classes bare, 3 with names."""
    import timm

    root = tmp_path_factory.mktemp("own")
    torch.manual_seed(0)
    save_file(timm.create_model("seresnet18", num_classes=5).state_dict(), str(root / "five.safetensors"))
    save_file(timm.create_model("seresnet18", num_classes=3).state_dict(), str(root / "three.safetensors"),
              metadata={"class_names": json.dumps(["ant", "bee", "wasp"])})
    random_picture(1, (120, 90)).save(root / "pic.png")
    return root


def _cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(list(argv))
    out, err = capsys.readouterr()
    return rc, out, err


def test_the_class_count_comes_from_the_weights_and_names_from_classes(seresnet18_files, capsys):
    root = seresnet18_files
    rc, out, err = _cli(capsys, "inspect", str(root / "pic.png"), "--model", "seresnet18", "--weights",
                        str(root / "five.safetensors"), "--classes", "a,b,c,d,e", "--top", "5", "--json")
    assert rc == 0, err
    top = json.loads(out)["pictures"][0]["top"]
    assert sorted(name for name, _ in top) == ["a", "b", "c", "d", "e"]
    rc, out, err = _cli(capsys, "inspect", str(root / "pic.png"), "--model", "seresnet18", "--weights",
                        str(root / "five.safetensors"), "--top", "5", "--json")
    assert rc == 0, err
    assert sorted(name for name, _ in json.loads(out)["pictures"][0]["top"]) == [f"class {i}" for i in range(5)]


def test_names_in_the_safetensors_metadata_and_beside_the_file(seresnet18_files, tmp_path):
    assert load_model("seresnet18", weights=seresnet18_files / "three.safetensors").class_names == ["ant", "bee", "wasp"]
    (seresnet18_files / "five.labels.txt").write_text("one\ntwo\nthree\nfour\nfive\n")
    try:
        model = load_model("seresnet18", weights=seresnet18_files / "five.safetensors")
        assert model.class_names == ["one", "two", "three", "four", "five"]
        # given names win over the file's
        assert load_model("seresnet18", weights=seresnet18_files / "five.safetensors",
                          classes=["v", "w", "x", "y", "z"]).class_names == ["v", "w", "x", "y", "z"]
    finally:
        (seresnet18_files / "five.labels.txt").unlink()


def test_wrong_names_and_a_file_for_another_network_are_one_line(seresnet18_files, capsys):
    root = seresnet18_files
    rc, out, err = _cli(capsys, "inspect", str(root / "pic.png"), "--model", "seresnet18", "--weights",
                        str(root / "three.safetensors"), "--classes", "a,b,c,d,e")
    assert rc == 2 and err.count("\n") == 1 and "5 class names given, but the network has 3 classes" in err
    rc, out, err = _cli(capsys, "inspect", str(root / "pic.png"), "--model", "seresnet34", "--weights",
                        str(root / "three.safetensors"))
    assert rc == 2 and err.count("\n") == 1 and "first missing: layer1.2" in err


def test_a_layer_of_another_shape_is_named_with_both_shapes(tmp_path):
    import timm

    state = timm.create_model("seresnet18", num_classes=3).state_dict()
    state["layer2.0.se.fc1.weight"] = torch.zeros(16, 128, 1, 1)  # r = 8 where the network has r = 16
    save_file(state, str(tmp_path / "wide.safetensors"))
    with pytest.raises(WeightsUnavailable, match=r"layer2\.0\.se\.fc1\.weight is \(16, 128, 1, 1\) in the file, "
                                                 r"\(8, 128, 1, 1\) in the network"):
        load_model("seresnet18", weights=tmp_path / "wide.safetensors")


def test_a_torchvision_network_takes_its_class_count_from_the_file(tmp_path):
    import torchvision

    net = torchvision.models.get_model("mobilenet_v3_small", weights=None, num_classes=7)
    save_file(net.state_dict(), str(tmp_path / "seven.safetensors"))
    (tmp_path / "names.json").write_text(json.dumps(list("abcdefg")))
    model = load_model("mobilenet_v3_small", weights=tmp_path / "seven.safetensors", classes=tmp_path / "names.json")
    assert model.class_names == list("abcdefg")
    assert capture(model, [random_picture(0)]).logits.shape == (1, 7)


def test_every_hand_written_block_is_found_and_nothing_else(handwritten_selayer, handwritten_semodule,
                                                          handwritten_squeeze_excite):
    for model in (handwritten_selayer, handwritten_semodule, handwritten_squeeze_excite):
        assert [b.name for b in model.blocks] == ["SE_2_1", "SE_2_2", "SE_3_1", "SE_3_2", "SE_4_1", "SE_4_2"]
        assert [b.path for b in model.blocks] == [f"layers.{i}.se" for i in range(6)]
        assert [b.channels for b in model.blocks] == [16, 16, 32, 32, 64, 64]
    # the Sequential that outputs s (no multiplication) is the SE block's inside, not a block
    assert handwritten_squeeze_excite.blocks[0].adapter.bn == "se.1"


def test_a_module_that_looks_like_se_but_does_not_scale_its_input_is_not_a_block():
    class AddsInstead(nn.Module):  # the SE layers, but U + s instead of U * s
        def __init__(self) -> None:
            super().__init__()
            self.fc = nn.Sequential(nn.Linear(8, 2), nn.ReLU(), nn.Linear(2, 8), nn.Sigmoid())

        def forward(self, x):
            return x + self.fc(x.mean((2, 3)))[:, :, None, None]

    net = nn.Sequential(nn.Conv2d(3, 8, 3), AddsInstead(), nn.Flatten(), nn.LazyLinear(4))
    net(torch.zeros(1, 3, 8, 8))
    assert blocks.discover(net.eval(), (3, 8, 8)) == []


def test_max_squeeze_is_recognised_as_such():
    class MaxSE(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.fc1, self.act, self.fc2, self.gate = nn.Linear(8, 4), nn.SiLU(), nn.Linear(4, 8), nn.Hardsigmoid()

        def forward(self, x):
            return x * self.gate(self.fc2(self.act(self.fc1(x.amax((2, 3))))))[:, :, None, None]

    net = nn.Sequential(nn.Conv2d(3, 8, 3), MaxSE()).eval()
    found = blocks.discover(net, (3, 8, 8))
    assert [(b.path, b.adapter.squeeze) for b in found] == [("1", "max")]


class _Squash(nn.Module):
    """A gate no discovery knows by name: 1 / (1 + exp(-x)) written out."""

    def forward(self, x):
        return 1 / (1 + torch.exp(-x))


class _CustomSE(nn.Module):
    def __init__(self, c: int) -> None:
        super().__init__()
        self.down, self.relu, self.up, self.squash = nn.Linear(c, 4), nn.ReLU(), nn.Linear(4, c), _Squash()

    def forward(self, x):
        s = self.squash(self.up(self.relu(self.down(x.mean((2, 3))))))
        return x * s[:, :, None, None]


def test_a_registered_se_type_is_captured_exactly(monkeypatch):
    monkeypatch.setattr(blocks, "ADAPTERS", dict(blocks.ADAPTERS))
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), _CustomSE(8), nn.Conv2d(8, 16, 3, stride=2), _CustomSE(16),
                        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 3))
    from senet_viz import wrap

    with pytest.raises(UnknownModel, match="register_se_module"):
        wrap(net, input_size=(3, 16, 16))
    register_se_module(_CustomSE, fc1="down", act="relu", fc2="up", gate="squash")
    model = wrap(net, input_size=(3, 16, 16), class_names=["x", "y", "z"])
    assert [b.name for b in model.blocks] == ["SE_2_1", "SE_3_1"]
    x = torch.randn(2, 3, 16, 16, generator=torch.Generator().manual_seed(0))
    cap = capture(model, x, maps=["SE_2_1", "SE_3_1"])
    for b in model.blocks:
        u = cap.inputs[b.name]
        # float32 throughout, the same ops in another order: rounding only
        np.testing.assert_allclose(cap.squeeze[b.name], u.mean(axis=(2, 3)), rtol=1e-5, atol=1e-6)
        with torch.no_grad():
            s = b.module.squash(b.module.up(b.module.relu(b.module.down(torch.from_numpy(cap.squeeze[b.name])))))
        np.testing.assert_allclose(cap.excitation[b.name], s.numpy(), rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(cap.outputs[b.name], u * cap.excitation[b.name][:, :, None, None], rtol=1e-6, atol=1e-7)
    with pytest.raises(TypeError):
        register_se_module(object, fc1="a", act="b", fc2="c", gate="d")


PICTURE = str(sorted((ROOT / "assets" / "gallery" / "cifar10" / "cat").glob("*.jpg"))[0])


def test_a_network_from_code_in_the_cli(capsys):
    rc, out, err = _cli(capsys, "inspect", PICTURE, "--model", "handwritten_se:build_selayer", "--weights", "random",
                        "--json")
    assert rc == 0, err
    report = json.loads(out)["pictures"][0]["blocks"]
    assert list(report) == ["SE_2_1", "SE_2_2", "SE_3_1", "SE_3_2", "SE_4_1", "SE_4_2"]


def test_weights_and_names_for_a_network_from_code(tmp_path):
    import handwritten_se

    save_file(handwritten_se.build_selayer(num_classes=4).state_dict(), str(tmp_path / "four.safetensors"),
              metadata={"classes": "n,e,s,w"})
    model = load_model("handwritten_se:build_selayer", weights=tmp_path / "four.safetensors")
    assert model.class_names == ["n", "e", "s", "w"] and model.input_size == (3, 32, 32)
    assert capture(model, [random_picture(3)]).logits.shape == (1, 4)


@pytest.mark.parametrize(("name", "message"), [
    ("no_such_package.models:build", "no module named 'no_such_package'"),
    ("handwritten_se:no_such_function", "has no function 'no_such_function'"),
    ("handwritten_se:build_not_a_module", "returned str, not a torch nn.Module"),
    ("handwritten_se:build_plain", "found no SE blocks"),
    ("handwritten_se:SELayer", "calling it failed: TypeError"),
    ("handwritten se:build", "a network from code is named package.module:function"),
])
def test_mistakes_with_a_network_from_code_are_one_line(name, message, capsys):
    rc, out, err = _cli(capsys, "inspect", PICTURE, "--model", name, "--weights", "random")
    assert rc == 2 and err.count("\n") == 1 and message in err, err


def test_class_names_files_are_read_and_checked(tmp_path):
    from senet_viz.models.classes import class_names, read_names

    (tmp_path / "n.json").write_text(json.dumps({"classes": ["a", "b"]}))
    (tmp_path / "n.txt").write_text("a\nb\n\n")
    assert read_names(tmp_path / "n.json") == read_names(str(tmp_path / "n.txt")) == read_names("a, b") == ["a", "b"]
    for bad in ("a,,b", "[1, {}]", str(tmp_path / "missing.txt")):
        with pytest.raises(ClassNamesError):
            read_names(bad)
    with pytest.raises(ClassNamesError, match="twice"):
        class_names(2, given="a,a", weights=None)


def test_loading_a_model_leaves_the_process_as_it_found_it(tmp_path, monkeypatch):
    import sys

    import torch

    from senet_viz.models import load_model

    (tmp_path / "builds_here.py").write_text("from handwritten_se import build_semodule as build\n")
    monkeypatch.chdir(tmp_path)
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    path_before, tf32 = list(sys.path), (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
    a = load_model("se_resnet20_cifar10", weights="random", device="cpu")
    load_model("seresnet18", weights="random", device="cpu")
    load_model("builds_here:build", device="cpu")  # imported from the working folder
    assert torch.equal(torch.rand(3), expected)  # the caller's random numbers go on as if nothing was loaded
    assert sys.path == path_before and "builds_here" in sys.modules
    assert (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) == tf32
    b = load_model("se_resnet20_cifar10", weights="random", device="cpu")  # random weights: the same on every load
    assert all(torch.equal(x, y) for x, y in zip(a.net.state_dict().values(), b.net.state_dict().values()))


def test_an_se_module_is_registered_once_unless_replaced():
    import pytest
    from torch import nn

    from senet_viz.models.blocks import ADAPTERS, register_se_module

    class MySE(nn.Module):
        pass

    try:
        register_se_module(MySE, fc1="a", act="b", fc2="c", gate="d")
        register_se_module(MySE, fc1="a", act="b", fc2="c", gate="d")  # the same again: harmless
        with pytest.raises(ValueError, match="MySE is registered already"):
            register_se_module(MySE, fc1="down", act="b", fc2="c", gate="d")
        register_se_module(MySE, fc1="down", act="b", fc2="c", gate="d", replace=True)
        assert ADAPTERS[MySE].fc1 == "down"
    finally:
        ADAPTERS.pop(MySE, None)

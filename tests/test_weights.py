import pickle
import time

import pytest
import torch
from safetensors.torch import save_file

from senet_viz.errors import WeightsUnavailable
from senet_viz.models import load_model


def _state(model):
    return {k: v.clone() for k, v in model.net.state_dict().items()}


def _perturbed(se20):
    return {k: (v + 0.5 if v.is_floating_point() else v) for k, v in _state(se20).items()}


def test_safetensors_round_trip(se20, tmp_path):
    state = _perturbed(se20)
    save_file(state, str(tmp_path / "w.safetensors"))
    loaded = load_model("se_resnet20_cifar10", weights=tmp_path / "w.safetensors", device="cpu")
    for k, v in loaded.net.state_dict().items():
        torch.testing.assert_close(v, state[k], rtol=0, atol=0)
    assert loaded.weights.endswith("w.safetensors") and not loaded.random_weights


def test_pth_through_weights_only(se20, tmp_path):
    state = _perturbed(se20)
    torch.save({"state_dict": state, "epoch": 3}, tmp_path / "w.pth")
    loaded = load_model("se_resnet20_cifar10", weights=str(tmp_path / "w.pth"), device="cpu")
    torch.testing.assert_close(loaded.net.fc.weight, state["fc.weight"])


class _Exploit:
    def __init__(self, target):
        self.target = target

    def __reduce__(self):
        return (open, (self.target, "w"))


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")  # the crafted file is protocol 4 on purpose
def test_a_crafted_pickle_is_refused_and_runs_nothing(tmp_path):
    target = tmp_path / "pwned"
    path = tmp_path / "evil.pth"
    torch.save({"fc.weight": _Exploit(str(target))}, path, pickle_protocol=2)
    assert not target.exists()
    with pytest.raises(WeightsUnavailable, match="refused"):
        load_model("se_resnet20_cifar10", weights=path, device="cpu")
    assert not target.exists()
    # a plain pickle (not a torch zip) is refused too
    raw = tmp_path / "raw.pt"
    raw.write_bytes(pickle.dumps(_Exploit(str(target))))
    with pytest.raises(WeightsUnavailable):
        load_model("se_resnet20_cifar10", weights=raw, device="cpu")
    assert not target.exists()


def test_wrong_missing_and_corrupt_files(tmp_path):
    with pytest.raises(WeightsUnavailable, match="no such weights file"):
        load_model("se_resnet20_cifar10", weights=tmp_path / "none.safetensors", device="cpu")
    other = load_model("resnet20_cifar10", weights="random", device="cpu")
    save_file(dict(other.net.state_dict()), str(tmp_path / "plain.safetensors"))
    with pytest.raises(WeightsUnavailable, match="does not fit se_resnet20_cifar10"):
        load_model("se_resnet20_cifar10", weights=tmp_path / "plain.safetensors", device="cpu")
    (tmp_path / "bad.safetensors").write_bytes(b"\x00garbage" * 10)
    with pytest.raises(WeightsUnavailable, match="not a readable safetensors"):
        load_model("se_resnet20_cifar10", weights=tmp_path / "bad.safetensors", device="cpu")
    (tmp_path / "bad.pth").write_bytes(b"garbage")
    with pytest.raises(WeightsUnavailable, match="not a readable PyTorch"):
        load_model("se_resnet20_cifar10", weights=tmp_path / "bad.pth", device="cpu")
    (tmp_path / "w.txt").write_text("x")
    with pytest.raises(WeightsUnavailable, match="must be"):
        load_model("se_resnet20_cifar10", weights=tmp_path / "w.txt", device="cpu")


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """This machine as an offline one, whatever its network: empty hub caches, and every
    connection refused as an unplugged network refuses it."""
    import socket

    import huggingface_hub.constants

    def unreachable(*args, **kwargs):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.setattr(socket.socket, "connect", unreachable)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "hf"))
    return tmp_path


@pytest.mark.parametrize("hub_offline", ["1", "0"])
def test_offline_pretrained_weights_give_one_clear_error_quickly(offline, monkeypatch, hub_offline):
    monkeypatch.setenv("HF_HUB_OFFLINE", hub_offline)  # told it is offline, or finding out
    start = time.perf_counter()
    with pytest.raises(WeightsUnavailable, match="seresnet50.a1_in1k: pretrained weights") as info:
        load_model("seresnet50.a1_in1k", device="cpu")
    assert "load a local weights file" in str(info.value) and "--weights" not in str(info.value) and "\n" not in str(info.value)
    assert time.perf_counter() - start < 30
    assert not any((offline / "hf").rglob("*.safetensors"))


def test_torchvision_offline_weights(offline):
    with pytest.raises(WeightsUnavailable, match="efficientnet_b0") as info:
        load_model("efficientnet_b0", device="cpu")
    assert "\n" not in str(info.value)
    assert not any((offline / "torch").rglob("*.pth"))


def test_unknown_names_and_models_without_se():
    from senet_viz.errors import UnknownModel

    with pytest.raises(UnknownModel, match="unknown model"):
        load_model("not_a_model", weights="random")
    with pytest.raises(UnknownModel, match="no SE blocks"):
        load_model("resnet18", weights="random")
    assert load_model("resnet50", weights="random").blocks == []  # the cost baseline


def test_registry_lists_the_required_names():
    from senet_viz.models import list_models

    names = {e.name for e in list_models()}
    for n in ["se_resnet20_cifar10", "resnet20_cifar10", "seresnet50.a1_in1k", "legacy_seresnet50.in1k",
              "seresnext50_32x4d.racm_in1k", "senet154.gluon_in1k", "mobilenet_v3_large", "efficientnet_b0", "regnet_y_400mf"]:
        assert n in names


@pytest.mark.parametrize("name,first,last,count", [
    ("seresnet50", ("SE_2_1", "layer1.0.se"), ("SE_5_3", "layer4.2.se"), 16),
    ("legacy_seresnet50", ("SE_2_3", "layer1.2.se_module"), ("SE_4_6", "layer3.5.se_module"), 16),
    ("se_resnet20_cifar10", ("SE_2_1", "layer1.0.se"), ("SE_4_3", "layer3.2.se"), 9),
])
def test_blocks_are_named_as_in_the_paper(name, first, last, count):
    m = load_model(name, weights="random", device="cpu")
    by_name = {b.name: b for b in m.blocks}
    assert len(m.blocks) == count
    assert by_name[first[0]].path == first[1] and by_name[last[0]].path == last[1]
    assert [b.stage for b in m.blocks] == sorted(b.stage for b in m.blocks)

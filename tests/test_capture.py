"""Eqs. 2-4 checked independently on every block, and capture through one model from many threads."""

from __future__ import annotations

import copy
import importlib
import threading

import numpy as np
import pytest
import torch
from conftest import random_picture

from senet_viz.capture import capture, uninstall

MODELS = ["se20", "seresnet50", "legacy_seresnet50", "mobilenet",
          # hand-written SE-ResNets, their blocks recognised by what they do (tests/handwritten_se.py)
          "handwritten_selayer", "handwritten_semodule", "handwritten_squeeze_excite"]


def _layer(x: torch.Tensor, layer: torch.nn.Module) -> torch.Tensor:
    """W x + b in float64, from the layer's own parameters (Linear or 1x1 Conv2d)."""
    w = layer.weight.detach().cpu().double().reshape(layer.weight.shape[0], -1)
    return x.double() @ w.T + (layer.bias.detach().cpu().double() if layer.bias is not None else 0)


def _independent(model, x):
    """U and s * U from hooks of our own, on the host."""
    seen = {}
    handles = []
    for b in model.blocks:
        handles.append(b.module.register_forward_hook(lambda m, a, out, n=b.name: seen.__setitem__(n, (a[0].to("cpu", copy=True), out.to("cpu", copy=True)))))
    try:
        with torch.no_grad():
            model.net(x)
    finally:
        for h in handles:
            h.remove()
    return seen


@pytest.mark.parametrize("fixture", MODELS)
def test_squeeze_excitation_and_scale_are_exact_on_every_block(fixture, request):
    model = request.getfixturevalue(fixture)
    pictures = [random_picture(i, (64, 56)) for i in range(3)]
    x = model.batch(pictures)
    cap = capture(model, x)
    ref = _independent(model, x)
    assert cap.block_names == [b.name for b in model.blocks] and len(cap.block_names) > 0
    for b in model.blocks:
        u, out = ref[b.name]
        assert u.abs().max() > 0, f"{b.name}: U is all zero, the check would prove nothing"
        z = cap.squeeze[b.name]
        s = cap.excitation[b.name]
        assert z.shape == s.shape == (3, b.channels)
        np.testing.assert_allclose(z, u.mean(dim=(2, 3)).numpy(), rtol=1e-5, atol=1e-6)
        # s from the block's own weights: fc1 -> (bn) -> delta -> fc2 -> gate
        h = _layer(torch.from_numpy(z), b.part("fc1"))
        if b.part("bn") is not None:
            h = copy.deepcopy(b.part("bn")).cpu().double()(h[:, :, None, None])[:, :, 0, 0]
        h = copy.deepcopy(b.part("act")).cpu()(h.clone())
        s_ref = copy.deepcopy(b.part("gate")).cpu()(_layer(h, b.part("fc2")))
        # float32 network against a float64 recomputation: rounding only, far below any mix-up
        np.testing.assert_allclose(s, s_ref.numpy(), rtol=1e-4, atol=1e-5)
        # the block's output is U * s with the s the network multiplied by
        np.testing.assert_allclose(out.numpy(), (u * torch.from_numpy(s)[:, :, None, None]).numpy(), rtol=1e-6, atol=1e-6)


def test_maps_hold_u_and_its_scaled_version(se20):
    cap = capture(se20, [random_picture(1)], maps=["SE_3_2"])
    u, out, s = cap.inputs["SE_3_2"], cap.outputs["SE_3_2"], cap.excitation["SE_3_2"]
    assert u.shape == (1, 32, 16, 16) and set(cap.inputs) == {"SE_3_2"}
    np.testing.assert_allclose(out, u * s[:, :, None, None], atol=1e-6)
    np.testing.assert_allclose(cap.squeeze["SE_3_2"], u.mean(axis=(2, 3)), atol=1e-6)


def test_large_batches_run_in_chunks_with_the_same_numbers(se20):
    x = se20.batch([random_picture(i) for i in range(10)])
    whole, chunked = capture(se20, x, batch_size=64), capture(se20, x, batch_size=3)
    for name in whole.block_names:
        np.testing.assert_allclose(whole.excitation[name], chunked.excitation[name], atol=1e-6)
    np.testing.assert_allclose(whole.logits, chunked.logits, atol=1e-5)


def test_prediction_helpers(se20):
    cap = capture(se20, [random_picture(3), random_picture(4)])
    assert cap.probs.shape == (2, 10) and np.allclose(cap.probs.sum(1), 1)
    top = cap.top(3)
    assert len(top) == 2 and len(top[0]) == 3 and top[0][0][1] >= top[0][1][1] >= top[0][2][1]
    assert top[0][0][0] == se20.class_names[cap.predicted()[0]]
    assert cap.fingerprint().shape == (9, 64)


def _hook_count(net):
    """Module hooks, and observers of the project's SE blocks."""
    return sum(len(m._forward_hooks) + len(m._forward_pre_hooks) + (getattr(m, "observer", None) is not None)
               for m in net.modules())


def test_hooks_are_inert_outside_a_capture_and_removable():
    from senet_viz.models import load_model

    model = load_model("se_resnet20_cifar10", weights="random", device="cpu")
    assert _hook_count(model.net) == 0
    capture(model, [random_picture(0)])
    assert _hook_count(model.net) == len(model.blocks)  # one observer per SEBlock (timm's modules: two hooks)
    capture(model, [random_picture(1)], maps=["SE_2_1"])
    installed = _hook_count(model.net)
    assert installed == 3 * len(model.blocks)  # U and s * U, once some capture asked for maps
    capture(model, [random_picture(1)], maps=["SE_3_1"])
    capture(model, [random_picture(1)])
    assert _hook_count(model.net) == installed  # installed once, not per call
    with torch.no_grad():  # a plain forward records nothing anywhere
        model.net(torch.zeros(1, 3, 32, 32))
    assert model.net.training is False
    uninstall(model)
    assert _hook_count(model.net) == 0


def test_a_failing_forward_leaves_no_active_capture(se20):
    with pytest.raises(RuntimeError):
        capture(se20, torch.zeros(1, 5, 32, 32))  # wrong channel count
    cap = capture(se20, [random_picture(0)])
    assert len(cap) == 1 and all(v.shape[0] == 1 for v in cap.excitation.values())


@pytest.mark.parametrize("fixture", ["se20", "seresnet50", "handwritten_selayer"])
def test_sixteen_threads_on_one_model_give_the_sequential_results(fixture, request):
    model = request.getfixturevalue(fixture)
    size = (40, 40) if fixture == "se20" else (96, 96)
    pictures = [random_picture(100 + i, size) for i in range(16)]
    sequential = [capture(model, [p]) for p in pictures]
    results: list = [None] * 16
    errors = []
    barrier = threading.Barrier(16)

    def work(i):
        try:
            barrier.wait()
            for _ in range(2):
                results[i] = capture(model, [pictures[i]])
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    for seq, par in zip(sequential, results):
        np.testing.assert_array_equal(seq.logits, par.logits)
        for name in seq.block_names:
            np.testing.assert_array_equal(seq.squeeze[name], par.squeeze[name])
            np.testing.assert_array_equal(seq.excitation[name], par.excitation[name])
    assert model.net.training is False


class _OutOfMemoryAbove:
    """Wraps a network: device out-of-memory for batches larger than ``limit``."""

    def __init__(self, net, limit):
        self.net, self.limit, self.calls = net, limit, []

    def __call__(self, x):
        self.calls.append(x.shape[0])
        if x.shape[0] > self.limit:
            self.net(x[:1])  # hooks fire for part of the forward first, as in a real OOM
            raise torch.OutOfMemoryError("simulated")
        return self.net(x)


def test_out_of_memory_retries_with_smaller_batches(se20, monkeypatch):
    import dataclasses

    x = se20.batch([random_picture(i) for i in range(8)])
    expected = capture(se20, x)
    flaky = dataclasses.replace(se20, net=_OutOfMemoryAbove(se20.net, 2))
    monkeypatch.setattr(flaky, "lock", se20.lock)
    flaky._capture_hooks = getattr(se20, "_capture_hooks", None)
    got = capture(flaky, x, batch_size=8)
    assert flaky.net.calls[:3] == [8, 4, 2] and "retried with batches of 2" in got.notes[-1]
    np.testing.assert_allclose(got.logits, expected.logits, atol=1e-5)
    for name in expected.block_names:  # nothing from the failed attempts is left in the record
        assert got.excitation[name].shape == expected.excitation[name].shape
        np.testing.assert_allclose(got.excitation[name], expected.excitation[name], atol=1e-6)


def test_out_of_memory_for_one_picture_on_the_cpu_is_one_clear_error(se20):
    import dataclasses

    from senet_viz.errors import SenetVizError

    broken = dataclasses.replace(se20, net=_OutOfMemoryAbove(se20.net, 0))
    broken._capture_hooks = getattr(se20, "_capture_hooks", None)
    with pytest.raises(SenetVizError, match="out of memory"):
        capture(broken, [random_picture(0)])


class _DeviceOutOfMemory(torch.nn.Module):
    """A network whose every forward runs out of device memory, as a full GPU would; a copy of it
    (``cpu_twin``'s deepcopy) runs normally, as the network does on the CPU."""

    def __init__(self, net):
        super().__init__()
        self.net, self.home = net, id(self)

    def forward(self, x):
        if id(self) == self.home:
            self.net(x[:1])  # hooks fire for part of the forward first, as in a real OOM
            raise torch.OutOfMemoryError("simulated")
        return self.net(x)


def test_out_of_memory_on_a_gpu_falls_back_to_a_cpu_copy(monkeypatch):
    import dataclasses

    capture_module = importlib.import_module("senet_viz.capture")  # the module; senet_viz.capture is the function
    from senet_viz.models import load_model

    model = load_model("se_resnet20_cifar10", weights="random", device="cpu")
    reference = capture(model, [random_picture(4), random_picture(5)])
    gpu_like = dataclasses.replace(model, net=_DeviceOutOfMemory(model.net))
    real_forward = capture_module._forward

    def as_if_cuda(m, *args):
        m.device = torch.device("meta")  # any non-CPU device: the path a CUDA model takes
        try:
            return real_forward(m, *args)
        finally:
            m.device = torch.device("cpu")

    monkeypatch.setattr(capture_module, "_forward", as_if_cuda)
    got = capture(gpu_like, [random_picture(4), random_picture(5)], batch_size=2)
    assert got.notes == ["out of memory on meta: retried with batches of 1",
                         "out of memory even for one picture: ran on the CPU instead"]
    twin = gpu_like._cpu_twin
    assert twin is not gpu_like.net and twin.net is not model.net  # a real copy ran, not the network itself
    assert all(p.device.type == "cpu" for p in twin.parameters())
    assert not any(a.data_ptr() == b.data_ptr() for a, b in zip(twin.parameters(), model.net.parameters()))
    # the copy computes what the network does (same weights, same kernels): to float32 rounding
    np.testing.assert_allclose(got.logits, reference.logits, rtol=1e-5, atol=1e-6)
    for b in model.blocks:
        np.testing.assert_allclose(got.excitation[b.name], reference.excitation[b.name], rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(got.squeeze[b.name], reference.squeeze[b.name], rtol=1e-5, atol=1e-6)


def test_maps_are_bounded_by_a_memory_budget(se20, monkeypatch):
    capture_module = importlib.import_module("senet_viz.capture")  # the module; senet_viz.capture is the function
    from senet_viz.errors import SenetVizError

    monkeypatch.setattr(capture_module, "MAPS_BUDGET", 100_000)
    capture(se20, [random_picture(0)], maps=["SE_4_3"])  # 2 x 64 x 8 x 8 floats fit
    with pytest.raises(SenetVizError, match="MiB"):
        capture(se20, [random_picture(i) for i in range(4)], maps=["SE_2_1"])


def test_a_capture_serialises_its_numbers_exactly(se20):
    import csv
    import io

    cap = capture(se20, [random_picture(1), random_picture(2)])
    rows = list(csv.DictReader(io.StringIO(cap.csv(["a, b.png", "c.png"]).decode())))
    assert len(rows) == 2 * sum(b.channels for b in se20.blocks)
    row = next(r for r in rows if r["picture"] == "c.png" and r["block"] == "SE_4_3" and r["channel"] == "5")
    assert float(row["s"]) == pytest.approx(float(cap.excitation["SE_4_3"][1, 5]), rel=1e-7)
    assert {r["picture"] for r in rows} == {"a, b.png", "c.png"}
    with np.load(io.BytesIO(cap.npz(["a", "c"]))) as f:
        np.testing.assert_array_equal(f["squeeze/SE_2_1"], cap.squeeze["SE_2_1"])
        assert list(f["pictures"]) == ["a", "c"] and f["logits"].shape == (2, 10)


def test_z_s_and_logits_come_to_the_host_as_views_of_one_buffer(se20):
    """From a GPU, one transfer: every block's z and s and the logits are slices of one host
    array, in block order, with the numbers the per-tensor way gives (run here on the CPU)."""
    from senet_viz.capture import gather, record

    x = torch.stack([se20.preprocess(random_picture(i)) for i in range(3)])
    rec, logits = record(se20, x, batch_size=2)  # two chunks
    names = [b.name for b in se20.blocks]
    z, s, lg = gather(rec, logits, names, one_copy=True)
    arrays = [*z.values(), *s.values(), lg]
    base = arrays[0].base
    assert base is not None and all(a.base is base for a in arrays)
    assert all(a.flags.c_contiguous and a.dtype == np.float32 for a in arrays)
    assert list(z) == list(s) == names and lg.shape == (3, 10)
    z2, s2, lg2 = gather(rec, logits, names, one_copy=False)
    for name in names:
        np.testing.assert_array_equal(z[name], z2[name])
        np.testing.assert_array_equal(s[name], s2[name])
        np.testing.assert_array_equal(z[name], torch.cat([t.reshape(t.shape[0], -1) for t in rec.squeeze[name]]).numpy())
    np.testing.assert_array_equal(lg, lg2)


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_a_capture_on_cuda_copies_to_the_host_once():
    from torch.profiler import ProfilerActivity, profile

    from senet_viz.models import load_model

    model = load_model("se_resnet20_cifar10", weights="random", device="cuda")
    x = torch.randn(8, 3, 32, 32, device="cuda")
    capture(model, x)
    with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
        cap = capture(model, x)
    copies = [e for e in prof.events() if "Memcpy DtoH" in e.name or "Memcpy Device -> Pageable" in e.name]
    assert len(copies) == 1, [e.name for e in copies]
    assert len(cap) == 8

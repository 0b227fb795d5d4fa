"""What a stranger's browser can make the server do, bounded: loopback that is loopback, password
tries, signed ids, spreadsheet cells, and networks and weights files counted before they are built."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import Counter

import pytest
import torch

from senet_viz.guard import Limiter, Signer, is_loopback, spreadsheet_cell, through_proxy
from senet_viz.models.budget import MAX_CLASSES, MAX_PARAMS, OverBudget, parameter_count
from senet_viz.models.cache import ModelCache
from senet_viz.rooms import answers_csv


def test_loopback_is_this_machine_in_every_spelling():
    for local in ("127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1", "[::1]", "::ffff:7f00:1"):
        assert is_loopback(local), local
    for remote in ("192.168.1.20", "10.0.0.1", "::ffff:192.168.1.20", "fe80::1%eth0", "", None, "localhost", "not an ip"):
        assert not is_loopback(remote), remote


def test_a_request_through_a_proxy_is_from_elsewhere():
    assert through_proxy({"X-Forwarded-For": "127.0.0.1"}) and through_proxy({"x-real-ip": "1.2.3.4"})
    assert through_proxy({"Forwarded": "for=127.0.0.1"}) and not through_proxy({"Host": "x"}) and not through_proxy(None)


def test_the_limiter_counts_per_key_and_overall_in_a_sliding_window():
    now = [0.0]
    lim = Limiter(per_key=2, overall=3, window=60, clock=lambda: now[0])
    assert lim.allow("a") and lim.allow("a") and not lim.allow("a")
    assert lim.wait("a") == pytest.approx(60.0)
    assert lim.allow("b") and not lim.allow("c")  # the process-wide ceiling
    now[0] = 60.5
    assert lim.allow("a") and lim.allow("c")


def test_signed_ids_are_refused_when_invented_or_altered():
    signer = Signer(b"k" * 32, "voter")
    token = signer.issue()
    ident, _, tag = token.partition(".")
    assert signer.verify(token) == ident
    for bad in (ident, "0" * 32, f"{ident}.{tag[:-1]}0" if tag[-1] != "0" else f"{ident}.{tag[:-1]}1",
                f"{'a' * 32}.{tag}", token.upper(), "", None, Signer(b"o" * 32, "voter").issue(),
                Signer(b"k" * 32, "other purpose").issue()):
        assert signer.verify(bad) is None, bad


def test_cells_that_would_start_a_formula_are_inert():
    assert [spreadsheet_cell(v) for v in ("=1+1", "+1", "-2", "@SUM(A1)", "\t=x", "cat", 3)] == \
        ["'=1+1", "'+1", "'-2", "'@SUM(A1)", "'\t=x", "cat", 3]
    csv = answers_csv({"0:0123456789": {"prompt": "=HYPERLINK(\"http://x\")", "choices": ["@cmd", "dog"], "answer": 0}},
                      {"0:0123456789": Counter({0: 2})}, {}).decode()
    assert "'=HYPERLINK" in csv and "'@cmd" in csv and "\n=" not in csv and ",=" not in csv and ",@" not in csv


def test_parameters_are_counted_without_their_storage():
    import timm
    import torchvision

    assert parameter_count(lambda: timm.create_model("seresnet50", pretrained=False)) == 28_088_024
    # torchvision's RegNet computes its widths with real tensors: counted with parameters moved to meta
    assert parameter_count(lambda: torchvision.models.get_model("regnet_y_400mf", weights=None)) == 4_344_144
    assert MAX_PARAMS >= parameter_count(lambda: timm.create_model("senet154", pretrained=False, num_classes=21_843))
    assert MAX_CLASSES >= 21_843


def _peak_growth(code: str) -> dict:
    """Run ``code`` (which sets ``error``) in a fresh interpreter after importing torch and timm; the
    growth of the process's peak resident memory it caused, in MiB, and the error."""
    script = f"""
import json, resource, timm, torch, torchvision
from senet_viz.models import load_model
from senet_viz.models.budget import MAX_PARAMS
def peak(): return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
before = peak()
error = None
try:
{chr(10).join('    ' + line for line in code.strip().splitlines())}
except Exception as exc:
    error = f"{{type(exc).__name__}}: {{exc}}"
print(json.dumps({{"mib": peak() - before, "error": error}}))
"""
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_an_80_byte_weights_file_cannot_make_a_four_million_class_network(tmp_path):
    from safetensors.torch import save_file

    bomb = tmp_path / "bomb.safetensors"
    save_file({"fc.weight": torch.zeros(4_000_000, 0)}, str(bomb))
    assert bomb.stat().st_size < 100
    got = _peak_growth(f"load_model('se_resnet20_cifar10', weights={str(bomb)!r})")
    assert got["error"].startswith("OverBudget: bomb.safetensors: its classifier has 4,000,000 classes"), got
    assert got["mib"] < 300, got  # 998 MiB when the network was built with the file's class count


def test_a_link_cannot_make_the_server_build_a_billion_parameter_network():
    got = _peak_growth("load_model('regnety_2560', weights='random', max_params=MAX_PARAMS)")
    assert got["error"].startswith("OverBudget: regnety_2560 has 1,283 million parameters"), got
    assert got["mib"] < 1024, got  # 4.5 GiB when it was built


class _Fake:
    def __init__(self, n: int) -> None:
        self.net = torch.nn.Linear(n, 1, bias=False)


def test_the_model_cache_is_bounded_by_count_and_by_parameters():
    built = []

    def build(n):
        built.append(n)
        return _Fake(n)

    cache = ModelCache(max_models=3, max_params=250)
    for n in (100, 100, 50):
        cache.get(("m", n), lambda n=n: build(n))
    assert built == [100, 50] and cache.keys() == [("m", 100), ("m", 50)]
    cache.get(("m", 120), lambda: build(120))  # 270 > 250: the oldest goes
    assert cache.keys() == [("m", 50), ("m", 120)] and cache.total() == 170
    for n in (1, 2, 3):
        cache.get(("m", n), lambda n=n: build(n))
    assert len(cache.keys()) == 3
    cache.get(("m", 900), lambda: build(900))  # larger than the budget alone: held, and alone
    assert cache.keys() == [("m", 900)]
    with pytest.raises(OverBudget):
        cache.get(("m", "bad"), lambda: (_ for _ in ()).throw(OverBudget("no")))
    assert ("m", "bad") not in cache.keys()


def test_the_model_cache_builds_one_model_at_a_time():
    import threading
    import time

    cache, running, most = ModelCache(max_models=8, max_params=10**9), [0], [0]
    lock = threading.Lock()

    def build(n):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        time.sleep(0.05)
        with lock:
            running[0] -= 1
        return _Fake(n)

    threads = [threading.Thread(target=cache.get, args=(("m", n), lambda n=n: build(n))) for n in range(1, 7)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert most[0] == 1 and len(cache.keys()) == 6

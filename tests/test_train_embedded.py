"""The epoch plan of scripts/train_embedded.py."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("train_embedded", Path(__file__).resolve().parents[1] / "scripts" / "train_embedded.py")
te = importlib.util.module_from_spec(spec)
spec.loader.exec_module(te)

SOLO = {"se_resnet20_cifar10": 0.6, "resnet20_cifar10": 0.5, "se_resnet56_cifar10": 1.5, "resnet56_cifar10": 1.2}


def test_all_four_at_once_when_the_first_pair_gets_its_full_schedule():
    shared = {"se_resnet20_cifar10": 1.0, "resnet20_cifar10": 0.9, "se_resnet56_cifar10": 2.5, "resnet56_cifar10": 2.0}
    plan = te.plan_epochs(SOLO, shared, 300, 200, 60)
    assert plan == {"se_resnet20_cifar10": 200, "resnet20_cifar10": 200, "se_resnet56_cifar10": 120, "resnet56_cifar10": 120}


def test_the_first_pair_alone_when_sharing_would_shorten_it():
    shared = {m: 4 * s for m, s in SOLO.items()}
    plan = te.plan_epochs(SOLO, shared, 300, 200, 60)
    assert plan == {"se_resnet20_cifar10": 200, "resnet20_cifar10": 200}  # 300 s // (0.6 + 0.5 s) = 272
    assert te.plan_epochs(SOLO, shared, 111, 200, 60) == {"se_resnet20_cifar10": 100, "resnet20_cifar10": 100}


def test_a_failed_shared_measurement_or_too_little_time_plans_less_not_more():
    inf = {m: float("inf") for m in SOLO}
    assert te.plan_epochs(SOLO, inf, 300, 200, 60) == {"se_resnet20_cifar10": 200, "resnet20_cifar10": 200}
    assert te.plan_epochs(SOLO, inf, 50, 200, 60) == {}

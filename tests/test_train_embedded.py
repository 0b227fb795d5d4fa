"""The epoch plan of scripts/train_embedded.py."""

import importlib.util
from pathlib import Path

spec = importlib.util.spec_from_file_location("train_embedded", Path(__file__).resolve().parents[1] / "scripts" / "train_embedded.py")
te = importlib.util.module_from_spec(spec)
spec.loader.exec_module(te)

SOLO = {"se_resnet20_cifar10": 0.6, "resnet20_cifar10": 0.5, "se_resnet56_cifar10": 1.5, "resnet56_cifar10": 1.2}


def test_the_first_pair_gets_its_full_schedule_before_the_second_gets_any():
    plan = te.plan_epochs(SOLO, 400, 200, 60)
    assert plan == {"se_resnet20_cifar10": 200, "resnet20_cifar10": 200, "se_resnet56_cifar10": 66, "resnet56_cifar10": 66}
    assert te.plan_epochs(SOLO, 400, 200, 60, pairs=1) == {"se_resnet20_cifar10": 200, "resnet20_cifar10": 200}


def test_too_little_time_plans_fewer_epochs_or_leaves_a_pair_out():
    assert te.plan_epochs(SOLO, 111, 200, 60) == {"se_resnet20_cifar10": 100, "resnet20_cifar10": 100}
    assert te.plan_epochs(SOLO, 300, 200, 60) == {"se_resnet20_cifar10": 200, "resnet20_cifar10": 200}  # 80 s left: 29 epochs
    assert te.plan_epochs(SOLO, 50, 200, 60) == {}


def test_weight_averaging_epochs_count_against_the_budget():
    plan = te.plan_epochs(SOLO, 111, 200, 60, pairs=1, swa_epochs=20)
    assert plan == {"se_resnet20_cifar10": 80, "resnet20_cifar10": 80}  # (80 + 20) x 1.1 s <= 111 s

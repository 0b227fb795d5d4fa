"""Train the project's CIFAR-10 models side by side on one GPU within a time budget.

    python scripts/train_embedded.py --data-dir DIR --out-dir OUT [--budget-s 480] [--max-epochs 200] [--swa-epochs 20]

DIR holds ``train.tar.gz`` and ``test.tar.gz``. The script
1. decodes both archives once into the cache that the trainings share;
2. times training steps (CUDA graphs, bf16) of each model alone and scales them to an epoch;
3. plans epochs: the ResNet-20 pair (se_resnet20_cifar10 and its twin resnet20_cifar10) gets
   up to ``--max-epochs``, the ResNet-56 pair whatever the budget leaves, each pair's twins the
   same number, a pair left out below ``--min-epochs``. The plan adds up the times alone: on an
   H200, four such trainings at once each ran four times slower than alone (8.4 vs 2.1 s per
   epoch), so the GPU shares out its time rather than overlapping small trainings;
4. runs every planned ``python -m senet_viz train`` at once, each stopped at the deadline, and
   writes ``plan.json`` (timings, epochs, the exact commands, what finished) and one log per model.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PAIRS = [("se_resnet20_cifar10", "resnet20_cifar10"), ("se_resnet56_cifar10", "resnet56_cifar10")]
#: Seconds kept back from the budget for each training's start (imports, CUDA, data), its test
#: evaluation and writing its files.
RESERVE_S = 60.0


def plan_epochs(seconds: dict[str, float], budget_s: float, max_epochs: int, min_epochs: int,
                pairs: int = len(PAIRS), swa_epochs: int = 0) -> dict[str, int]:
    """One-cycle epochs per model, pairs in priority order, as if the trainings ran one after
    another; each also runs ``swa_epochs`` of weight averaging."""
    plan, left = {}, budget_s
    for pair in PAIRS[:pairs]:
        per_epoch = sum(seconds[m] for m in pair)
        epochs = min(max_epochs, int(left // per_epoch) - swa_epochs)
        if epochs < min_epochs:
            continue
        plan.update({m: epochs for m in pair})
        left -= (epochs + swa_epochs) * per_epoch
    return plan


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, required=True)
    ap.add_argument("--out-dir", type=Path, required=True)
    ap.add_argument("--budget-s", type=float, default=480.0, help="wall-clock seconds for all of it, from the start")
    ap.add_argument("--max-epochs", type=int, default=200)
    ap.add_argument("--min-epochs", type=int, default=60)
    ap.add_argument("--safety", type=float, default=0.85, help="share of the remaining budget the plan may fill")
    ap.add_argument("--batch-size", type=int, default=128)
    ap.add_argument("--lr", type=float, default=0.2)
    ap.add_argument("--weight-decay", type=float, default=5e-4)
    ap.add_argument("--swa-epochs", type=int, default=0, help="then this many epochs of weight averaging")
    ap.add_argument("--swa-lr", type=float, default=0.05)
    ap.add_argument("--pairs", type=int, default=len(PAIRS), help="train the first N pairs (1: the ResNet-20 pair)")
    args = ap.parse_args()
    t0 = time.monotonic()
    deadline = t0 + args.budget_s
    args.out_dir.mkdir(parents=True, exist_ok=True)

    import torch

    from senet_viz.data import open_source
    from senet_viz.train import decoded_arrays, seconds_per_epoch

    train_data, test_data = args.data_dir / "train.tar.gz", args.data_dir / "test.tar.gz"
    decoded_arrays(open_source(str(train_data)))
    open_source(str(test_data))
    report: dict = {"device": torch.cuda.get_device_name() if torch.cuda.is_available() else "cpu",
                    "torch": torch.__version__, "decode_s": round(time.monotonic() - t0, 1)}
    print(f"data ready in {report['decode_s']} s", flush=True)

    seconds = {m: seconds_per_epoch(m, batch_size=args.batch_size) for pair in PAIRS[: args.pairs] for m in pair}
    report["solo_seconds_per_epoch"] = {m: round(s, 2) for m, s in seconds.items()}
    print("seconds per epoch, alone:", report["solo_seconds_per_epoch"], flush=True)
    window = (deadline - time.monotonic() - RESERVE_S) * args.safety
    plan = plan_epochs(seconds, window, args.max_epochs, args.min_epochs, args.pairs, args.swa_epochs)
    report.update(window_s=round(window, 1), epochs=plan)
    print("plan:", plan, flush=True)

    procs = {}
    for model, epochs in plan.items():
        cmd = [sys.executable, "-m", "senet_viz", "--threads", "2", "train", "--model", model,
               "--data", str(train_data), "--test-data", str(test_data),
               "--out", str(args.out_dir / f"{model}.safetensors"), "--epochs", str(epochs), "--seed", "0",
               "--batch-size", str(args.batch_size), "--lr", str(args.lr), "--weight-decay", str(args.weight_decay), "--no-progress"]
        if args.swa_epochs:
            cmd += ["--swa-epochs", str(args.swa_epochs), "--swa-lr", str(args.swa_lr)]
        log = open(args.out_dir / f"{model}.log", "w")
        procs[model] = (subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), log, cmd)
    report["commands"] = {m: "python -m " + " ".join(c[2:]) for m, (_, _, c) in procs.items()}
    report["finished"] = {}
    for model, (proc, log, _) in procs.items():
        try:
            rc = proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = "stopped at the deadline"
        log.close()
        report["finished"][model] = {"rc": rc, "after_s": round(time.monotonic() - t0, 1)}
        print(model, report["finished"][model], flush=True)
    (args.out_dir / "plan.json").write_text(json.dumps(report, indent=1) + "\n")
    return 0 if all(f["rc"] == 0 for f in report["finished"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())

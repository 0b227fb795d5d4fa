"""Where capture's cost over a plain forward goes: torch.profiler on both, side by side.

    .venv/bin/python benchmarks/profile_capture.py [--device cuda] [--batch 1] [--model se_resnet20_cifar10]

Prints the operators (and, on CUDA, the copies and synchronisations) that a capture adds to
the plain forward, by total time over ``--steps`` runs.
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from senet_viz.capture import capture  # noqa: E402
from senet_viz.models import load_model  # noqa: E402


def _totals(fn, steps: int, cuda: bool) -> tuple[Counter, Counter]:
    """Per operator: (host time in us, calls) summed over ``steps`` runs."""
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if cuda else [])
    for _ in range(3):
        fn()
    with profile(activities=acts) as prof:
        for _ in range(steps):
            fn()
        if cuda:
            torch.cuda.synchronize()
    times, calls = Counter(), Counter()
    for e in prof.key_averages():
        times[e.key] += e.self_cpu_time_total
        calls[e.key] += e.count
    return times, calls


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="se_resnet20_cifar10")
    ap.add_argument("--weights", default=None, help="'random' for a model without shipped weights")
    ap.add_argument("--device", default="auto")
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--steps", type=int, default=50)
    args = ap.parse_args()
    model = load_model(args.model, weights=args.weights, device=args.device)
    x = torch.randn(args.batch, *model.input_size, device=model.device)
    cuda = model.device.type == "cuda"

    def plain():
        with torch.inference_mode():
            model.net(x)
        if cuda:
            torch.cuda.synchronize()

    def captured():
        capture(model, x, batch_size=args.batch)

    pt, pc = _totals(plain, args.steps, cuda)
    ct, cc = _totals(captured, args.steps, cuda)
    total_p, total_c = sum(pt.values()), sum(ct.values())
    print(f"{args.model} batch {args.batch} on {model.device}: host self time per run "
          f"{total_p / args.steps:.0f} us plain, {total_c / args.steps:.0f} us capture")
    print(f"{'operator':45} {'extra us/run':>12} {'calls/run plain -> capture':>28}")
    extra = {k: ct[k] - pt.get(k, 0) for k in ct}
    for k, v in sorted(extra.items(), key=lambda kv: -kv[1])[:15]:
        print(f"{k[:45]:45} {v / args.steps:12.1f} {pc.get(k, 0) / args.steps:13.1f} -> {cc[k] / args.steps:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

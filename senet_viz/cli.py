"""python -m senet_viz: models, inspect, cost, stats, train, evaluate.

Errors a user can cause print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import SenetVizError


def _threads(n: int | None) -> None:
    import torch

    # Deliberate: one thread per core, and never more than the machine has.
    torch.set_num_threads(n or max(1, min(torch.get_num_threads(), __import__("os").cpu_count() or 1)))


def cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    card = train(
        args.model, args.data, args.test_data, Path(args.out), epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, seed=args.seed, device=args.device, progress=not args.no_progress,
    )
    if "test" in card:
        print(f"top1={card['test']['top1']:.4f} n={card['test']['n']}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m senet_viz", description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: one per core)")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("train", help="train one of the project's CIFAR models")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="training pictures: folder, archive or cifar10:train")
    p.add_argument("--test-data", default=None, help="test pictures for the model card")
    p.add_argument("--out", required=True, help="output .safetensors (the model card goes beside it as .json)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.2)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        _threads(args.threads)
        return args.func(args)
    except SenetVizError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130

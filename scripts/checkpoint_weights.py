"""The network weights a training checkpoint holds at its epoch, as a .safetensors file that
``python -m senet_viz evaluate --weights`` reads; the file's metadata says where they came from.

    python scripts/checkpoint_weights.py CHECKPOINT OUT.safetensors --from "checkpoint committed in c7c1ae6"

Used once per model for the accuracy at the end of the one-cycle phase (``evaluate --record
one-cycle-end``): the weights before averaging, which the finished model does not keep.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch
from safetensors.torch import save_file


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", type=Path)
    ap.add_argument("out", type=Path)
    ap.add_argument("--from", dest="origin", required=True, help="where the checkpoint came from, in words")
    args = ap.parse_args()
    ckpt = torch.load(args.checkpoint, map_location="cpu", weights_only=True)
    definition = json.loads(ckpt["definition"])
    tensors = {k: v.detach().contiguous() for k, v in ckpt["model"].items()}
    save_file(tensors, str(args.out), metadata={"name": definition["model"], "epoch": str(ckpt["epoch"]), "from": args.origin})
    print(f"{args.out}: {definition['model']} after epoch {ckpt['epoch']} of {definition['epochs'] + definition['swa_epochs']}")


if __name__ == "__main__":
    main()

#!/usr/bin/env bash
# The embedded pair's training run, defined once: SE-ResNet-20, then its twin without SE, same
# recipe and seed (140 one-cycle epochs, then 20 of weight averaging).
#
#   nice -n 10 scripts/train_cpu_pair.sh        # train, resuming where the last session stopped
#   scripts/train_cpu_pair.sh save              # before a session ends: the checkpoint (and any
#                                               # finished weights and cards) into assets/training/
#
# Training reads and writes runs/training/ (ignored by git, so commits during a session do not
# carry a checkpoint each). On a fresh checkout a checkpoint committed in assets/training/ is
# copied there first; `save` copies it back, to be committed; a finished model's checkpoint is
# removed by the training itself, and `save` removes the committed one then.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/datasets/cifar10}
WORK=runs/training
KEEP=assets/training
mkdir -p "$WORK" "$KEEP"
MODELS=(se_resnet20_cifar10 resnet20_cifar10)

if [ "${1:-}" = "save" ]; then
  for model in "${MODELS[@]}"; do
    if [ -f "$WORK/$model.safetensors" ]; then
      cp "$WORK/$model.safetensors" "$WORK/$model.json" "$KEEP/"
      rm -f "$KEEP/$model.ckpt.pt"
    elif [ -f "$WORK/$model.ckpt.pt" ]; then
      cp "$WORK/$model.ckpt.pt" "$KEEP/$model.ckpt.pt.tmp" && mv "$KEEP/$model.ckpt.pt.tmp" "$KEEP/$model.ckpt.pt"
    fi
  done
  ls -la "$KEEP"
  exit 0
fi

for model in "${MODELS[@]}"; do
  if [ -f "$KEEP/$model.safetensors" ] || [ -f "$WORK/$model.safetensors" ] \
    || grep -q '"segments"' "assets/weights/$model.json" 2>/dev/null; then  # shipped from this run
    echo "$model: done"
    continue
  fi
  if [ -f "$KEEP/$model.ckpt.pt" ] && [ ! -f "$WORK/$model.ckpt.pt" ]; then
    cp "$KEEP/$model.ckpt.pt" "$WORK/$model.ckpt.pt"
  fi
  .venv/bin/python -m senet_viz --threads "${THREADS:-2}" train --model "$model" \
    --data "$DATA/train.tar.gz" --test-data "$DATA/test.tar.gz" \
    --out "$WORK/$model.safetensors" \
    --epochs 140 --swa-epochs 20 --swa-lr 0.05 --batch-size 256 --lr 0.4 --seed 0 --no-progress
done

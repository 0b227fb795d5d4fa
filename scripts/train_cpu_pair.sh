#!/usr/bin/env bash
# The embedded pair's training run, defined once: SE-ResNet-20, then its twin without SE, same
# recipe and seed. Each resumes from its checkpoint in assets/training/ (committed at the end of a
# working session) and leaves its weights and card there when done; the checkpoint is then removed.
# Run it niced from the repository root: nice -n 10 scripts/train_cpu_pair.sh
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/datasets/cifar10}
for model in se_resnet20_cifar10 resnet20_cifar10; do
  if [ -f "assets/training/$model.safetensors" ]; then
    echo "$model: done (assets/training/$model.safetensors)"
    continue
  fi
  .venv/bin/python -m senet_viz --threads "${THREADS:-2}" train --model "$model" \
    --data "$DATA/train.tar.gz" --test-data "$DATA/test.tar.gz" \
    --out "assets/training/$model.safetensors" \
    --epochs 140 --swa-epochs 20 --swa-lr 0.05 --batch-size 256 --lr 0.4 --seed 0 --no-progress
done

#!/usr/bin/env bash
# The film of the shipped SE-ResNet-20: its training run replayed from the definition its card
# records (scripts/train_cpu_pair.sh: same model, data, schedule, seed, precision and threads),
# with statistics of z and s on the film's probe after every epoch.
#
#   nice -n 10 scripts/replay_film.sh        # replay, resuming where the last session stopped
#   scripts/replay_film.sh save              # before a session ends: checkpoint and film so far
#                                            # into assets/training/film/, to be committed
#   .venv/bin/python scripts/assemble_film.py   # the film artefact from what is replayed so far
#
# The replay reads and writes runs/film/ (ignored by git). The replay is not the shipped run:
# assemble_film.py compares its training loss with the card's history at every replayed epoch.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${DATA:-../shared/datasets/cifar10}
WORK=runs/film
KEEP=assets/training/film
MODEL=se_resnet20_cifar10
mkdir -p "$WORK"

if [ "${1:-}" = "save" ]; then
  mkdir -p "$KEEP"
  for f in "$MODEL.ckpt.pt" "$MODEL.film.npz"; do
    [ -f "$WORK/$f" ] && cp "$WORK/$f" "$KEEP/$f.tmp" && mv "$KEEP/$f.tmp" "$KEEP/$f"
  done
  ls -la "$KEEP"
  exit 0
fi

for f in "$MODEL.ckpt.pt" "$MODEL.film.npz"; do
  if [ -f "$KEEP/$f" ] && [ ! -f "$WORK/$f" ]; then cp "$KEEP/$f" "$WORK/$f"; fi
done
exec .venv/bin/python -m senet_viz --threads "${THREADS:-2}" train --model "$MODEL" \
  --data "$DATA/train.tar.gz" --test-data "$DATA/test.tar.gz" \
  --out "$WORK/$MODEL.safetensors" --film-probe 50 \
  --epochs 140 --swa-epochs 20 --swa-lr 0.05 --batch-size 256 --lr 0.4 --seed 0 --no-progress

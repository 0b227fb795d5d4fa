"""The film artefact of the shipped SE-ResNet-20 (assets/films/), from what is replayed so far.

    .venv/bin/python scripts/assemble_film.py [--data ../shared/datasets/cifar10/test.tar.gz]

Frames, each on the same probe (the first 50 test pictures of each class):
- ``replayed``: every epoch of the replay so far (scripts/replay_film.sh, runs/film/), each
  replayed epoch's training loss compared with the card's history (the largest gap is recorded;
  a replay further than 1e-3 from it at any epoch is refused: then it is not the shipped run);
- ``checkpoint``: the run's own checkpoints committed in git history at epochs the replay has not
  reached (where it has, the replayed weights are compared with the checkpoint's);
- ``final``: the shipped (averaged) weights, at epoch 160, tied to their SHA-256.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from senet_viz.artefacts import film_file, read_card  # noqa: E402
from senet_viz.data import open_source, sha256_file  # noqa: E402
from senet_viz.film import FILM_PROBE, Film, frame_stats, load_film, probe_indices  # noqa: E402
from senet_viz.models.project import PROJECT_MODELS, weights_file  # noqa: E402
from senet_viz.train import decoded_arrays, normalise  # noqa: E402

MODEL = "se_resnet20_cifar10"
CHECKPOINT = f"assets/training/{MODEL}.ckpt.pt"
MAX_LOSS_GAP = 1e-3


def checkpoints_in_history() -> list[tuple[int, str]]:
    """(epoch, commit) of every checkpoint of the model's run committed in git."""
    log = subprocess.run(["git", "log", "--format=%H %s", "--", CHECKPOINT], cwd=ROOT, capture_output=True, text=True,
                         check=True).stdout
    found = {}
    for line in log.splitlines():
        commit, subject = line.split(" ", 1)
        if "after epoch" in subject:
            epoch = int(subject.split("after epoch ")[1].split()[0])
            found.setdefault(epoch, commit)
    return sorted(found.items())


def checkpoint_state(commit: str) -> dict:
    blob = subprocess.run(["git", "show", f"{commit}:{CHECKPOINT}"], cwd=ROOT, capture_output=True, check=True).stdout
    return torch.load(io.BytesIO(blob), map_location="cpu", weights_only=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared/datasets/cifar10/test.tar.gz"))
    ap.add_argument("--replay", default=str(ROOT / f"runs/film/{MODEL}.film.npz"))
    ap.add_argument("--out", default=str(film_file(MODEL)))
    args = ap.parse_args()
    torch.set_num_threads(2)

    card = read_card(MODEL)
    history = {h["epoch"]: h["loss"] for h in card["history"]}
    test = open_source(args.data)
    x, y = decoded_arrays(test)
    idx = probe_indices(y, FILM_PROBE)
    x_norm, labels = normalise(torch.from_numpy(x[idx])), torch.from_numpy(y[idx]).long()
    probe = {"source": Path(args.data).name, "sha256": test.checksum, "per_class": FILM_PROBE, "pictures": len(idx),
             "which": f"the first {FILM_PROBE} pictures of each class, in the source's order"}

    replay = load_film(args.replay)
    if replay.probe.get("sha256") != test.checksum or replay.probe.get("per_class") != FILM_PROBE:
        print("error: the replay's probe is not this one", file=sys.stderr)
        return 2
    replayed = [e for e in replay.epochs if replay.sources[e] == "training" and e in history]
    gaps = {e: abs(replay.losses[e] - history[e]) for e in replayed}
    worst = max(gaps.values()) if gaps else None
    if worst is None or worst > MAX_LOSS_GAP:
        print(f"error: the replay's training loss is {worst} from the card's history at most: not the shipped run",
              file=sys.stderr)
        return 2

    film = Film(MODEL, replay.class_names, replay.blocks, probe)
    for e in replayed:
        film.frames[e], film.sources[e], film.losses[e] = replay.frames[e], "replayed", replay.losses[e]

    net = PROJECT_MODELS[MODEL].build()
    compared = {}
    for epoch, commit in checkpoints_in_history():
        ckpt = checkpoint_state(commit)
        net.load_state_dict(ckpt["model"])
        stats = frame_stats(net, x_norm, labels, film.class_names)
        if epoch in film.frames:  # the replay reached this checkpoint: how far are the two apart?
            mine = film.stats(epoch)
            compared[epoch] = max(float(np.abs(mine.excitation_mean(b) - stats.excitation_mean(b)).max())
                                  for b in film.blocks)
            continue
        film.add(epoch, stats, "checkpoint", history.get(epoch))

    net.load_state_dict(load_file(str(weights_file(MODEL))))
    total = card["epochs"] + (card.get("swa") or {}).get("epochs", 0)
    film.add(total, frame_stats(net, x_norm, labels, film.class_names), "final", history.get(total))
    film.weights_sha256 = sha256_file(weights_file(MODEL))
    assert film.weights_sha256 == card["weights_sha256"]
    film.replay = {
        "max_loss_gap": worst, "epochs": replayed, "loss_gaps": {str(e): round(g, 6) for e, g in gaps.items()},
        "compared_with_checkpoints": {str(e): v for e, v in compared.items()},
        "how": "scripts/replay_film.sh: the run's recorded definition (seed 0, batch 256, one-cycle to lr 0.4 over "
               "140 epochs, 20 of averaging at 0.05, bf16 autocast on an AVX-512 BF16 CPU, 2 threads); "
               "checkpoint frames from the run's own checkpoints in git; final: the shipped averaged weights",
    }
    out = film.save(args.out)
    print(json.dumps({"frames": len(film.epochs), "replayed": f"{replayed[0]}-{replayed[-1]}" if replayed else None,
                      "checkpoints": sorted(e for e, s in film.sources.items() if s == "checkpoint"),
                      "max_loss_gap": worst, "compared_with_checkpoints": compared,
                      "bytes": out.stat().st_size, "out": str(out)}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

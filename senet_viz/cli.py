"""senet-viz (or python -m senet_viz): models, inspect, cost, stats, evaluate, ablate, train, app.

Errors a user can cause print one line to stderr and exit with status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import SenetVizError


def _threads(n: int | None) -> None:
    import torch

    from .machine import threads

    # Deliberate: one intra-op thread per core this process may use (torch's default can exceed
    # the cores a container is given), or exactly what --threads / SENET_VIZ_THREADS ask for.
    torch.set_num_threads(threads(n))


def _load(args: argparse.Namespace):
    from .models import load_model

    return load_model(args.model, weights=args.weights, device=args.device, classes=args.classes)


def cmd_models(args: argparse.Namespace) -> int:
    from .models import list_models, weights_available

    print(f"{'name':32} {'family':12} {'weights here':13} description")
    for e in list_models():
        here = "yes" if weights_available(e.name) else "download"
        print(f"{e.name:32} {e.family:12} {here:13} {e.description}")
    print("Any other timm name with SE modules loads too (e.g. seresnet101, seresnext26d_32x4d).")
    return 0


def cmd_inspect(args: argparse.Namespace) -> int:
    import json

    from .capture import capture
    from .images import load_image

    model = _load(args)
    images = [load_image(p) for p in args.images]
    cap = capture(model, images)
    report = []
    for i, path in enumerate(args.images):
        blocks = {
            name: {
                "channels": int(cap.excitation[name].shape[1]),
                "s_mean": float(cap.excitation[name][i].mean()),
                "s_min": float(cap.excitation[name][i].min()),
                "s_max": float(cap.excitation[name][i].max()),
                "z_mean": float(cap.squeeze[name][i].mean()),
            }
            for name in cap.block_names
        }
        report.append({"picture": str(path), "top": cap.top(args.top)[i], "blocks": blocks})
    if args.out:
        from .npzio import save_npz

        save_npz(args.out, cap.arrays(pictures=[str(p) for p in args.images]))
    if args.json:
        print(json.dumps({"model": model.label, "weights": model.weights, "pictures": report}, indent=1))
        return 0
    print(f"model {model.label} on {model.device}, weights: {model.weights}")
    for item in report:
        print(f"\n{item['picture']}")
        for cls, p in item["top"]:
            print(f"  {p:7.2%}  {cls}")
        print(f"  {'block':8} {'C':>5} {'mean s':>7} {'min s':>7} {'max s':>7} {'mean z':>8}")
        for name, b in item["blocks"].items():
            print(f"  {name:8} {b['channels']:5d} {b['s_mean']:7.3f} {b['s_min']:7.3f} {b['s_max']:7.3f} {b['z_mean']:8.3f}")
    return 0


def cmd_cost(args: argparse.Namespace) -> int:
    from .cost import cost
    from .models import load_model

    model = load_model(args.model, weights="random", device="cpu")  # the architecture alone
    rep = cost(model, args.r)
    print(f"{rep.model}: input {rep.input_size}, r = {rep.reduction:g}")
    print(f"{'block':8} {'stage':>5} {'C':>5} {'h':>5} {'params':>10} {'MFLOPs':>9}")
    for b in rep.blocks:
        mark = f"  (C/r = {b.channels / rep.reduction:g}, raised to the floor)" if b.floored else ""
        print(f"{b.name:8} {b.stage:5d} {b.channels:5d} {b.hidden:5d} {b.params:10,d} {b.flops / 1e6:9.3f}{mark}")
    print(f"\n{'stage':5} {'N_s':>4} {'C_s':>5} {'SE params':>11} {'Eq. 5':>11}")
    for s in rep.stages:
        print(f"{s.stage:5d} {s.blocks:4d} {s.channels:5d} {s.params:11,d} {s.eq5_params:11,.0f}")
    print(f"\nparameters: {rep.base_params / 1e6:.2f}M without SE -> {rep.total_params / 1e6:.2f}M with SE "
          f"(+{rep.overhead_pct:.2f}%); Eq. 5 predicts {rep.eq5_params / 1e6:.3f}M, counted {rep.se_params / 1e6:.3f}M")
    gap = rep.eq5_gap()
    print(f"counted - Eq. 5 = {gap.counted - gap.eq5:,.0f}: bottleneck floor {gap.floor:,.0f}, biases {gap.biases:,}, "
          f"other (rounding, mixed widths) {gap.other:,.0f}")
    print(f"without the last stage's SE: +{rep.overhead_without_last_stage_pct:.2f}%")
    print(f"FLOPs (multiply-adds): {(rep.total_flops - rep.se_flops) / 1e9:.3f}G -> {rep.total_flops / 1e9:.3f}G "
          f"(+{rep.flops_overhead_pct:.2f}%)")
    return 0


def cmd_evaluate(args: argparse.Namespace) -> int:
    from .data import open_source
    from .evaluate import evaluate

    model = _load(args)
    source = open_source(args.data).limit_per_class(args.limit_per_class)
    if len(source.class_names) != len(model.class_names):
        from .errors import DataError

        raise DataError(f"{args.data} has {len(source.class_names)} classes, {model.name} has {len(model.class_names)}")
    res = evaluate(model.net, model.preprocess, source, model.device, limit=args.limit, progress=not args.no_progress)
    for name, acc in res["per_class"].items():
        print(f"{name:16} {acc:.4f}")
    print(f"correct={res['correct']}")
    if args.record:
        _record_check(model, args, source, res)
    print(f"top1={res['top1']:.4f} n={res['n']}")
    return 0


def _record_check(model, args: argparse.Namespace, source, res: dict) -> None:
    """Write this evaluation into the model card, so tests can reproduce it exactly: ``--record``
    of the shipped weights into its ``checks``; ``--record one-cycle-end`` of ``--weights`` made
    by ``scripts/checkpoint_weights.py`` from the run's checkpoint at the end of its one-cycle
    phase into its ``one_cycle_end`` (what weight averaging changed)."""
    import json
    import shlex

    from .errors import WeightsUnavailable
    from .models.project import card_file

    path = card_file(model.name)
    if model.family != "project" or not path.is_file():
        raise WeightsUnavailable(f"{model.name}: --record needs a project model with its card")
    card = json.loads(path.read_text())
    check = {"data": source.origin, "sha256": source.checksum, "limit_per_class": args.limit_per_class,
             "limit": args.limit, "n": res["n"], "correct": res["correct"], "top1": res["top1"], "outcomes": res["outcomes"],
             "command": "python -m senet_viz " + shlex.join(sys.argv[1:])}
    if args.record == "one-cycle-end":
        made = _checkpoint_origin(args.weights, model.name, card)
        card["one_cycle_end"] = {**check, **made, "weights_sha256": model.weights_sha256}
    elif args.weights is not None:
        raise WeightsUnavailable(f"{model.name}: --record writes the shipped weights' check; other weights only with "
                                 "--record one-cycle-end")
    else:
        card["checks"] = [c for c in card.get("checks", []) if c.get("command") != check["command"]] + [check]
        card["weights_sha256"] = model.weights_sha256  # the checks were made with these weights
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(card, indent=1) + "\n")
    tmp.replace(path)


def _checkpoint_origin(weights: str | None, name: str, card: dict) -> dict:
    """Epoch and origin of weights written by ``scripts/checkpoint_weights.py`` (its metadata),
    which must be this model's at the last epoch of its one-cycle phase."""
    from safetensors import safe_open

    from .errors import WeightsUnavailable

    meta = {}
    if weights and weights.endswith(".safetensors"):
        with safe_open(weights, framework="pt") as f:
            meta = f.metadata() or {}
    if meta.get("name") != name or "epoch" not in meta:
        raise WeightsUnavailable(f"--record one-cycle-end needs --weights made by scripts/checkpoint_weights.py from "
                                 f"{name}'s checkpoint")
    if int(meta["epoch"]) != card.get("epochs"):
        raise WeightsUnavailable(f"{weights}: weights after epoch {meta['epoch']}; the one-cycle phase of {name} "
                                 f"ends after epoch {card.get('epochs')}")
    return {"epoch": int(meta["epoch"]), "from": meta.get("from", "")}


def cmd_stats(args: argparse.Namespace) -> int:
    import shlex

    from .collect import compute_stats, distributed_context
    from .data import open_source

    model = _load(args)
    source = open_source(args.data).limit_per_class(args.limit_per_class)
    result = compute_stats(
        model, source, batch_size=args.batch_size, workers=args.workers, progress=not args.no_progress,
        autocast=None if args.bf16 is None else args.bf16 == "on", decode=args.decode,
    )
    rank, world = distributed_context()
    if world > 1:
        import torch.distributed as dist

        dist.destroy_process_group()
    if rank != 0:
        return 0
    result.meta["command"] = "python -m senet_viz " + shlex.join(sys.argv[1:])
    path = result.save(args.out)
    print(f"{'block':8} {'specificity':>11} {'s>0.9':>7} {'s<0.1':>7} {'mean s':>7}")
    for row in result.summary():
        print(f"{row['block']:8} {row['specificity']:11.4f} {row['saturated_high']:7.1%} "
              f"{row['saturated_low']:7.1%} {row['mean_s']:7.3f}")
    decoding = result.meta["decoding"]
    where = f"decoded in batches on {decoding['batched_on']}" if decoding["batched_on"] else "decoded one by one"
    print(f"{result.total} pictures in {result.meta['seconds']:.1f}s ({where}; "
          f"{decoding['one_by_one']} through the one picture loader) -> {path}")
    return 0


def cmd_ablate(args: argparse.Namespace) -> int:
    import json
    import shlex

    from .ablation import stage_accuracy
    from .data import open_source

    model = _load(args)
    source = open_source(args.data)
    means = None
    if args.stats:
        from .stats import load_stats

        st = load_stats(args.stats)
        means = {b: st.overall_mean(b) for b in st.blocks}
    res = stage_accuracy(model, source, limit=args.limit, means=means)
    res.update(model=model.name, weights=model.weights, weights_sha256=model.weights_sha256, data=source.origin, data_sha256=source.checksum,
               command="python -m senet_viz " + shlex.join(sys.argv[1:]))
    for key, acc in res["top1"].items():
        print(f"{key:16} top1={acc:.4f}")
    if args.out:
        from pathlib import Path

        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps(res, indent=1) + "\n")
    return 0


def cmd_train(args: argparse.Namespace) -> int:
    from .train import train

    card = train(
        args.model, args.data, args.test_data, Path(args.out), epochs=args.epochs, batch_size=args.batch_size,
        lr=args.lr, weight_decay=args.weight_decay, decay_on=args.decay_on, se_weight_decay=args.se_weight_decay, seed=args.seed, device=args.device, progress=not args.no_progress,
        graphs=None if args.graphs is None else args.graphs == "on", init=args.init, swa_epochs=args.swa_epochs,
        swa_lr=args.swa_lr, checkpoint=Path(args.checkpoint) if args.checkpoint else None,
        film_probe=args.film_probe, stop_after=args.stop_after,
    )
    if card is None:
        return 0
    if "test" in card:
        print(f"top1={card['test']['top1']:.4f} n={card['test']['n']}")
    return 0


def version() -> str:
    """The installed distribution's version, else the package's own (a checkout)."""
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    from . import __version__

    try:
        return installed("senet-viz")
    except PackageNotFoundError:
        return __version__


def cmd_app(args: argparse.Namespace) -> int:
    """Streamlit runs the app from this installation (or checkout), with the app's own settings;
    options given here (``--server.port 8600``) pass through to Streamlit and win."""
    import os

    from .resources import app_dir, streamlit_options

    script = app_dir() / "app.py"
    if not script.is_file():
        raise SenetVizError(f"the app's files are not installed here (no {script})")
    passed = [a for a in args.streamlit_args if a != "--"]
    os.execv(sys.executable, [sys.executable, "-m", "streamlit", "run", str(script), *streamlit_options(), *passed])
    return 0  # not reached: Streamlit runs in this process's place


def build_parser() -> argparse.ArgumentParser:
    from .film import FILM_PROBE

    prog = "senet-viz" if Path(sys.argv[0]).name == "senet-viz" else "python -m senet_viz"
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {version()}")
    parser.add_argument("--threads", type=int, default=None, help="CPU threads for torch (default: one per core)")
    sub = parser.add_subparsers(dest="command", required=True)

    def model_args(p: argparse.ArgumentParser) -> None:
        p.add_argument("--model", default="se_resnet20_cifar10",
                       help="a name from `models`, any timm SE name, or package.module:function (a network your code builds)")
        p.add_argument("--weights", default=None,
                       help="'random', or a local .safetensors/.pth file (its classifier sets the class count)")
        p.add_argument("--classes", default=None,
                       help="class names: a,b,c or a .txt/.json file (default: the weights file's metadata or labels file)")
        p.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")

    sub.add_parser("models", help="the registry, with whether weights are available here").set_defaults(func=cmd_models)

    p = sub.add_parser("inspect", help="prediction and z, s of every SE block for pictures")
    p.add_argument("images", nargs="+")
    model_args(p)
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--out", default=None, help="write logits, squeeze/<block>, excitation/<block> to this .npz")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_inspect)

    p = sub.add_parser("cost", help="parameters and FLOPs of the SE modules, per block and stage")
    p.add_argument("model")
    p.add_argument("--r", type=float, default=None, help="recompute for this reduction ratio")
    p.set_defaults(func=cmd_cost)

    p = sub.add_parser("evaluate", help="accuracy on labelled pictures")
    model_args(p)
    p.add_argument("--data", required=True, help="folder, archive or cifar10[:test]")
    p.add_argument("--limit", type=int, default=None, help="only the first N pictures")
    p.add_argument("--limit-per-class", type=int, default=None, help="only the first N pictures of each class")
    p.add_argument("--record", nargs="?", const="shipped", choices=["shipped", "one-cycle-end"], default=None,
                   help="write the result into the model card: the shipped weights' checks, or (one-cycle-end, with "
                   "--weights from scripts/checkpoint_weights.py) the accuracy before weight averaging")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_evaluate)

    p = sub.add_parser("stats", help="per-class statistics of z and s for every SE block")
    p.add_argument("data", help="folder, archive or cifar10[:train|:test]")
    model_args(p)
    p.add_argument("--out", required=True, help="output .npz")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--workers", type=int, default=None,
                   help="DataLoader processes reading and decoding pictures (default: one per core)")
    p.add_argument("--decode", choices=["auto", "device", "cpu"], default="auto",
                   help="where JPEGs are decoded in batches: on the model's GPU (auto, when it has one) or the CPU")
    p.add_argument("--limit-per-class", type=int, default=None)
    p.add_argument("--bf16", choices=["on", "off"], default=None, help="bf16 autocast (default: on CUDA only)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_stats)

    p = sub.add_parser("ablate", help="accuracy with SE switched off (s := 1) per stage")
    model_args(p)
    p.add_argument("--data", required=True)
    p.add_argument("--limit", type=int, default=None)
    p.add_argument("--stats", default=None, help="statistics of the model: also replace s by its all-class mean")
    p.add_argument("--out", default=None, help="write the result as JSON")
    p.set_defaults(func=cmd_ablate)

    p = sub.add_parser("train", help="train one of the project's CIFAR models")
    p.add_argument("--model", required=True)
    p.add_argument("--data", required=True, help="training pictures: folder, archive or cifar10:train")
    p.add_argument("--test-data", default=None, help="test pictures for the model card")
    p.add_argument("--out", required=True, help="output .safetensors (the model card goes beside it as .json)")
    p.add_argument("--epochs", type=int, default=40)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=0.2)
    p.add_argument("--weight-decay", type=float, default=5e-4)
    p.add_argument("--decay-on", choices=["weights", "all"], default="weights",
                   help="weights: convolution and classifier weights only (no decay on biases, BatchNorm, SE layers); "
                        "all: every parameter (the recipe of earlier shipped models)")
    p.add_argument("--se-weight-decay", type=float, default=0.0, help="with --decay-on weights: decay on the SE layers' W1, W2")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    p.add_argument("--graphs", choices=["on", "off"], default=None,
                   help="run forward and backward as CUDA graphs (default: on CUDA only)")
    p.add_argument("--init", default=None, help="start from these weights (.safetensors) instead of a random init")
    p.add_argument("--swa-epochs", type=int, default=0, help="epochs of stochastic weight averaging after the one-cycle epochs")
    p.add_argument("--swa-lr", type=float, default=0.05, help="the constant learning rate while averaging")
    p.add_argument("--checkpoint", default=None,
                   help="the run's checkpoint: resumed when present, removed when the run is done (default: beside --out)")
    p.add_argument("--film-probe", type=int, default=FILM_PROBE, metavar="N",
                   help="record the run's film: statistics of z and s on the first N test pictures of each class after "
                        f"every epoch, beside --out as .film.npz (needs --test-data; default {FILM_PROBE}, 0: none)")
    p.add_argument("--stop-after", type=int, default=None, metavar="EPOCHS",
                   help="stop after this many epochs with the checkpoint written (the same command resumes)")
    p.add_argument("--no-progress", action="store_true")
    p.set_defaults(func=cmd_train)

    p = sub.add_parser("app", help="start the app (Streamlit); Streamlit's options pass through, e.g. --server.port 8600",
                       prefix_chars="\0")  # every argument after 'app' is Streamlit's
    p.add_argument("streamlit_args", nargs=argparse.REMAINDER, help="options for streamlit run")
    p.set_defaults(func=cmd_app)
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
    except BrokenPipeError:  # the reader went away (senet-viz models | head): nothing more to say
        sys.stderr.close()
        return 0

"""The benchmark suite: one process, ratios against the plain forward.

    .venv/bin/python benchmarks/run.py [--quick] [--skip-app] [--data ARCHIVE]

Measures
- capture / plain forward at batch 1 and 64 (embedded model; seresnet50 at batch 1 and 8 on
  the CPU, 1 and 64 on CUDA), the plain forward on a hook-free copy of the network;
- single-picture inspect latency p50 / p95, warm (decode + preprocess + capture + top-5);
- statistics end to end (archive in, statistics out) in pictures/s against the bare forward,
  with the default loader workers (one per core); on CUDA also seresnet50 on 224-pixel JPEGs;
- peak memory (RSS) of the statistics command for 1,000 and 10,000 pictures;
- app cold start to the first rendered page in headless Chromium, and a rerun after a widget change.
Writes benchmarks/results/<date>-<device>.json and rewrites the table in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from senet_viz.capture import capture, install, uninstall  # noqa: E402
from senet_viz.images import load_image  # noqa: E402
from senet_viz.models import load_model  # noqa: E402

DEFAULT_DATA = ROOT.parent / "shared" / "datasets" / "cifar10" / "test.tar.gz"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _time(fn, device, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        _sync(device)
        t = time.perf_counter()
        fn()
        _sync(device)
        out.append(time.perf_counter() - t)
    return out


def capture_overhead(model, batch: int, repeats: int) -> dict:
    """Interleaved runs of the network with no hook at all (plain: the capture hooks taken
    off before each run, untimed), a capture (hooks put back, untimed), and the network with
    the hooks installed but no capture running (inert), so drift of the machine affects all
    alike. The ratio is capture / plain. (Not a copy of the network as the plain side: a
    freshly copied network runs a few per cent faster than the loaded one here, its weights
    laid out anew, which would be counted against the capture.)"""
    x = torch.randn(batch, *model.input_size, device=model.device)

    def plain():
        with torch.inference_mode():
            model.net(x)

    def captured():
        capture(model, x, batch_size=batch)

    for _ in range(3):
        plain()
        captured()
    p, c, i = [], [], []
    for _ in range(repeats):
        uninstall(model)
        p += _time(plain, model.device, 1)
        install(model)
        c += _time(captured, model.device, 1)
        i += _time(plain, model.device, 1)
    mp, mc, mi = statistics.median(p), statistics.median(c), statistics.median(i)
    return {"batch": batch, "plain_ms": 1000 * mp, "capture_ms": 1000 * mc, "ratio": mc / mp,
            "inert_hooks_ms": 1000 * mi, "inert_ratio": mi / mp}


def inspect_latency(model, repeats: int) -> dict:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (480, 640, 3), dtype=np.uint8)).save(buf, "JPEG")
    data = buf.getvalue()

    def once():
        cap = capture(model, [load_image(data)])
        cap.top(5)

    for _ in range(3):
        once()
    t = np.array(_time(once, model.device, repeats)) * 1000
    return {"p50_ms": float(np.percentile(t, 50)), "p95_ms": float(np.percentile(t, 95)), "n": repeats}


def bare_forward_per_s(model, batch: int, pictures: int) -> float:
    """The network alone at ``batch``, as the statistics run it: on CUDA bf16 and channels_last,
    on the CPU float32 (best of 3)."""
    x = torch.randn(batch, *model.input_size, device=model.device)
    n_batches = max(1, pictures // batch)
    cuda = model.device.type == "cuda"
    if cuda:
        x = x.contiguous(memory_format=torch.channels_last)

    def bare():
        with torch.inference_mode(), torch.autocast("cuda", dtype=torch.bfloat16, enabled=cuda):
            for _ in range(n_batches):
                model.net(x)

    bare()
    return n_batches * batch / min(_time(bare, model.device, 3))


def stats_throughput(model, source, label: str, batch: int = 256, workers: int | None = None, decode: str = "auto") -> dict:
    """Statistics end to end (pictures on disk in, statistics out) against the bare forward."""
    from senet_viz.collect import compute_stats

    before = bare_forward_per_s(model, batch, len(source))
    t = time.perf_counter()
    st = compute_stats(model, source, batch_size=batch, workers=workers, decode=decode)
    end_to_end = st.total / (time.perf_counter() - t)
    after = bare_forward_per_s(model, batch, len(source))
    forward = 2 / (1 / before + 1 / after)  # the mean time, measured on both sides of the run (a drifting machine)
    return {"model": label, "pictures": st.total, "workers": st.meta["decoding"]["workers"],
            "decoded_on": st.meta["decoding"]["batched_on"], "one_by_one": st.meta["decoding"]["one_by_one"],
            "end_to_end_per_s": end_to_end, "bare_forward_per_s": forward, "ratio": end_to_end / forward}


def jpeg_folder(root: Path, pictures: int, size: int = 224, classes: int = 10) -> Path:
    """``pictures`` photo-like JPEGs of size x size in ``classes`` class folders (smooth colour
    fields with noise, quality 90), made once per size and count."""
    from PIL import Image

    folder = root / f"jpeg-{size}-{pictures}"
    if folder.is_dir():
        return folder
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:size, 0:size] / size
    for k in range(pictures):
        a = rng.uniform(1, 6, 6)
        img = np.stack([np.sin(a[0] * x + a[1] * y), np.cos(a[2] * y - a[3] * x), np.sin(a[4] * x * y + a[5])], -1)
        img = (127 + 100 * img + rng.normal(0, 12, img.shape)).clip(0, 255).astype(np.uint8)
        path = folder / f"class{k % classes}" / f"{k:05d}.jpg"
        path.parent.mkdir(parents=True, exist_ok=True)
        Image.fromarray(img).save(path, quality=90)
    return folder


def stats_peak_memory(data: Path, per_class: int) -> dict:
    # RSS (resident now) after the imports and after the run; VmHWM is the high-water mark,
    # which the imports of a CUDA build of torch alone can set.
    code = (
        "import torch; torch.set_num_threads(2); from senet_viz.cli import main\n"
        "def rss(f): return next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith(f + ':'))\n"
        "print('BASE', rss('VmRSS'))\n"
        f"rc = main(['stats', {str(data)!r}, '--out', '/tmp/bench-stats.npz', '--limit-per-class', '{per_class}', "
        "'--no-progress', '--batch-size', '256'])\n"
        "print('AFTER', rss('VmRSS'), 'HWM', rss('VmHWM'))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout

    def field(name):
        return int(out.split(name)[1].split()[0]) / 1024

    return {"pictures": per_class * 10, "rss_after_imports_mib": field("BASE"), "rss_after_stats_mib": field("AFTER"),
            "high_water_mib": field("HWM"), "growth_mib": field("AFTER") - field("BASE")}


def app_timings() -> dict:
    from browser_support import app_server, ensure_chromium, launch, wait_rendered
    from playwright.sync_api import sync_playwright

    if ensure_chromium() is None:
        return {"skipped": "no Chromium"}
    t0 = time.perf_counter()
    with app_server() as (url, _), sync_playwright() as p:
        started = time.perf_counter() - t0
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        t = time.perf_counter()
        page.goto(f"{url}/inspect")
        wait_rendered(page)
        page.wait_for_selector(".js-plotly-plot")
        first = time.perf_counter() - t
        reruns = []
        for name in ["SE_2_1", "SE_3_2", "SE_4_3", "SE_2_3", "SE_4_1"]:
            page.locator("[data-testid='stSelectbox']").filter(has_text="Block for the detailed views").click()
            t = time.perf_counter()
            page.get_by_role("option", name=name, exact=True).click()
            page.wait_for_selector(f"text=z and s in {name}")
            wait_rendered(page)
            reruns.append(time.perf_counter() - t)
        browser.close()
    return {"server_start_s": started, "cold_first_page_s": started + first, "first_page_after_start_s": first,
            "rerun_p50_s": float(np.median(reruns)), "rerun_max_s": float(max(reruns))}


def write_markdown(result: dict, path: Path) -> None:
    r = result
    rows = [f"| capture / plain, {c['model']}, batch {c['batch']} | {c['ratio']:.3f} ({c['plain_ms']:.2f} ms → {c['capture_ms']:.2f} ms)"
            + (f"; hooks installed, no capture: {c['inert_ratio']:.3f}" if "inert_ratio" in c else "") + " |"
            for c in r["capture_overhead"]]
    rows += [f"| inspect latency, {k} (warm) | p50 {v['p50_ms']:.1f} ms, p95 {v['p95_ms']:.1f} ms |" for k, v in r["inspect_latency"].items()]
    stats = r.get("stats", [])
    for s in [stats] if isinstance(stats, dict) else stats:  # one dict in results made before several were measured
        where = f", decoded on {s['decoded_on']}, {s['one_by_one']} one by one" if "decoded_on" in s else ""
        rows.append(f"| statistics end to end, {s.get('model', 'se_resnet20_cifar10')}, {s['pictures']:,} pictures, "
                    f"{s['workers']} workers{where} | {s['end_to_end_per_s']:.0f} pictures/s, "
                    f"{s['ratio']:.2f} of the bare forward ({s['bare_forward_per_s']:.0f}/s) |")
    for m in r.get("stats_memory", []):
        rows.append(f"| statistics memory, {m['pictures']:,} pictures | RSS {m['rss_after_imports_mib']:.0f} MiB after imports → "
                    f"{m['rss_after_stats_mib']:.0f} MiB after the run (+{m['growth_mib']:.0f}); high-water {m['high_water_mib']:.0f} MiB |")
    a = r.get("app", {})
    if "cold_first_page_s" in a:
        rows.append(f"| app cold start to first rendered page (Inspect) | {a['cold_first_page_s']:.1f} s (server {a['server_start_s']:.1f} s) |")
        rows.append(f"| app rerun after a widget change | p50 {a['rerun_p50_s']:.2f} s, max {a['rerun_max_s']:.2f} s |")
    table = "\n".join(["| measure | result |", "| --- | --- |", *rows])
    block = (f"<!-- bench:{r['device']} -->\n### {r['device_name']}, {r['date']}\n\nMachine: {r['machine']}; torch {r['torch']}, "
             f"{r['threads']} threads. Command: `{r['command']}`\n\n{table}\n<!-- /bench:{r['device']} -->")
    text = path.read_text() if path.exists() else "# Benchmarks\n\nMade by `benchmarks/run.py`; raw results in `benchmarks/results/`.\n\n"
    start, end = f"<!-- bench:{r['device']} -->", f"<!-- /bench:{r['device']} -->"
    if start in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end):]
    else:
        text = text.rstrip() + "\n\n" + block + "\n"
    path.write_text(text)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer repeats and pictures (a smoke run)")
    ap.add_argument("--skip-app", action="store_true")
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--memory-only", action="store_true", help="only the statistics memory rows (updates the last results)")
    args = ap.parse_args()
    if args.memory_only:
        out = sorted((ROOT / "benchmarks" / "results").glob("*.json"))[-1]
        result = json.loads(out.read_text())
        result["stats_memory"] = [stats_peak_memory(args.data, 100), stats_peak_memory(args.data, 1000)]
        out.write_text(json.dumps(result, indent=1) + "\n")
        write_markdown(result, ROOT / "docs" / "benchmarks.md")
        print(json.dumps(result["stats_memory"], indent=1))
        return 0
    torch.set_num_threads(os.cpu_count() or 1)
    reps = 5 if args.quick else 30
    model = load_model("se_resnet20_cifar10", device=args.device)
    big = load_model("seresnet50", weights="random", device=args.device)
    dev = model.device
    result = {
        "date": dt.date.today().isoformat(), "device": dev.type,
        "device_name": torch.cuda.get_device_name(dev) if dev.type == "cuda" else f"CPU, {os.cpu_count()} cores",
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(), "torch": torch.__version__,
        "threads": torch.get_num_threads(), "command": "python benchmarks/run.py " + " ".join(sys.argv[1:]),
        "capture_overhead": [
            {"model": "se_resnet20_cifar10", **capture_overhead(model, 1, reps * 12)},  # short runs: more of them
            {"model": "se_resnet20_cifar10", **capture_overhead(model, 64, reps)},
            {"model": "seresnet50 (random)", **capture_overhead(big, 1, max(5, reps // 3))},
            {"model": "seresnet50 (random)", **capture_overhead(big, 8 if dev.type == "cpu" else 64, max(5, reps // 3))},
        ],
        "inspect_latency": {"se_resnet20_cifar10": inspect_latency(model, reps * 2),
                            "seresnet50 (random)": inspect_latency(big, max(10, reps // 2))},
    }
    print(json.dumps(result, indent=1), flush=True)
    uninstall(model)
    from senet_viz.data import open_source

    result["stats"] = []
    if args.data.exists():
        source = open_source(args.data).limit_per_class(100 if args.quick else 1000)
        result["stats"].append(stats_throughput(model, source, "se_resnet20_cifar10"))
        if dev.type == "cuda":  # tiny JPEGs: the CPU workers' decoder against the GPU's
            result["stats"].append(stats_throughput(model, source, "se_resnet20_cifar10", decode="cpu"))
        result["stats_memory"] = [stats_peak_memory(args.data, 100), stats_peak_memory(args.data, 1000)]
    if dev.type == "cuda":  # an ImageNet network on 224-pixel JPEGs (on the CPU it would take many minutes)
        folder = jpeg_folder(Path(os.environ.get("SENET_VIZ_CACHE", Path.home() / ".cache" / "senet_viz")) / "bench",
                             1000 if args.quick else 5000)
        result["stats"].append(stats_throughput(big, open_source(folder), "seresnet50 (random), 224-pixel JPEGs"))
    if not args.skip_app:
        result["app"] = app_timings()
    print(json.dumps({k: result[k] for k in ("stats", "stats_memory", "app") if k in result}, indent=1))
    out = ROOT / "benchmarks" / "results" / f"{result['date']}-{dev.type}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    write_markdown(result, ROOT / "docs" / "benchmarks.md")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

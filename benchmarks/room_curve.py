"""The lecture-hall curve from ``room_load.py`` results: a table (Markdown) and a chart of the
seconds a step change takes to reach the students and of the server's CPU, against students.

    .venv/bin/python benchmarks/room_curve.py benchmarks/results/2026-12-04-room-*-cpu.json --chart docs/img/room-load.png
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np


def load(paths: list[Path]) -> list[dict]:
    runs = []
    for path in paths:
        run = json.loads(path.read_text())
        if "per_step" in run and all("p95" in s for s in run["per_step"]):
            run["file"] = path.name
            runs.append(run)
    return sorted(runs, key=lambda r: (r.get("processes", 1), r["students"], r["file"]))


def label(run: dict) -> str:
    n = run.get("processes", 1)
    return "1 process" if n == 1 and not run.get("proxy") else f"{n} processes behind nginx"


def table(runs: list[dict]) -> str:
    rows = ["| students | server | every step reached all | p95 per step (worst step) | slowest | CPU per step change "
            "| CPU per idle second | memory before → peak → after expiry | results |",
            "| --- | --- | --- | --- | --- | --- | --- | --- | --- |"]
    for r in runs:
        steps = r["per_step"]
        worst = max(steps, key=lambda s: s["p95"])
        cpu = [s["server_cpu_s"] for s in steps]
        m = r["rss_mib"]
        left = sum(s["left_behind"] for s in steps)
        rows.append(
            f"| {r['students']} | {label(r)} | {'yes' if left == 0 else f'no: {left} left behind'} "
            f"| {min(s['p95'] for s in steps):.2f}-{worst['p95']:.2f} s (step {worst['step']}) "
            f"| {max(s['max'] for s in steps):.2f} s | {min(cpu):.2f}-{max(cpu):.2f} s "
            f"| {r['server_cpu_per_s_while_following']:.3f} s | {m['before']:.0f} → {m['peak']:.0f} → "
            f"{m['after_expiry']:.0f} MiB ({100 * (m['after_expiry'] / m['before'] - 1):+.0f}%) | `{r['file']}` |")
    return "\n".join(rows)


def chart(runs: list[dict], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.8))
    for kind, marker in (("1 process", "o"), ("2 processes behind nginx", "s")):
        mine = [r for r in runs if label(r) == kind]
        if not mine:
            continue
        n = [r["students"] for r in mine]
        worst = [max(s["p95"] for s in r["per_step"]) for r in mine]
        slowest = [max(s["max"] for s in r["per_step"]) for r in mine]
        cpu = [np.mean([s["server_cpu_s"] for s in r["per_step"]]) for r in mine]
        idle = [r["server_cpu_per_s_while_following"] for r in mine]
        left.plot(n, worst, marker=marker, label=f"{kind}: p95 of the worst step")
        left.plot(n, slowest, marker=marker, linestyle=":", label=f"{kind}: slowest student")
        right.plot(n, cpu, marker=marker, label=f"{kind}: per step change (mean)")
        right.plot(n, idle, marker=marker, linestyle=":", label=f"{kind}: per idle second")
    left.axhline(2.0, color="grey", linewidth=0.8)
    left.set(xlabel="students", ylabel="seconds until the step reaches them", title="A step change reaching the class")
    right.set(xlabel="students", ylabel="server CPU seconds", title="What it costs the server")
    for ax in (left, right):
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)
    fig.tight_layout()
    out.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(out, dpi=120)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("results", nargs="+", type=Path)
    ap.add_argument("--chart", type=Path)
    args = ap.parse_args()
    runs = load(args.results)
    print(table(runs))
    if args.chart:
        chart(runs, args.chart)


if __name__ == "__main__":
    main()

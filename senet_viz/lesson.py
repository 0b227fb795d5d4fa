"""Predict, then reveal: multiple-choice questions whose answers are measured on the loaded model.

Each function takes what the model has (statistics, ablation results, cost, cards) and returns a
``Question`` whose right choice and explanation come from those numbers; the wrong choices are
the other plausible values of the same quantity. Nothing here is written for one set of weights.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .cost import CostReport
from .narrative import accuracy_difference, stage_specificity
from .stats import ExcitationStats


@dataclass(frozen=True)
class Step:
    key: str
    title: str
    needs: str = ""  # "stats", "ablation" or "twin": what the loaded weights must have for its question


#: The lesson's path through the paper, one screen each.
STEPS = (
    Step("problem", "Every channel treated alike"),
    Step("squeeze", "Squeeze: a feature map becomes one number (Eq. 2)"),
    Step("excite", "Excitation: a gate computed from all channels (Eq. 3)"),
    Step("scale", "Scale: every map times its gate (Eq. 4)"),
    Step("fingerprint", "One picture's fingerprint"),
    Step("pair", "Two pictures differ"),
    Step("classes", "Classes by stage: the paper's figure", needs="stats"),
    Step("ablation", "SE switched off", needs="ablation"),
    Step("cost", "What it costs (Eq. 5)"),
    Step("twin", "SE against its twin", needs="twin"),
)


@dataclass(frozen=True)
class Question:
    prompt: str
    choices: list[str]
    answer: int  # index into choices
    explanation: str

    def is_right(self, choice: int) -> bool:
        return choice == self.answer


def separating_stage(stats: ExcitationStats) -> Question:
    """Which stage's excitations differ most between classes (between/within variance ratio)?"""
    spec = stage_specificity(stats)
    stages = list(spec)
    best = max(stages, key=spec.get)
    trail = ", ".join(f"stage {s}: {v:.2f}" for s, v in spec.items())
    return Question(
        "In which stage do the excitations s differ most from class to class?",
        [f"stage {s}" for s in stages], stages.index(best),
        f"Measured on {stats.total:,} pictures as the between-class over within-class variance of s, averaged over "
        f"a stage's blocks: {trail}. Stage {best} separates the classes most.")


def _buckets(value: float, width: float, unit: str = "points", count: int = 4) -> tuple[list[str], int]:
    """``count`` ranges of ``width`` points, one of them holding ``value``: the choices of a 'how much' question."""
    k = int(max(value, 0.0) // width)
    first = max(0, k - count // 2)
    ranges = [(first + i) * width for i in range(count)]
    labels = [f"{lo:g} to {lo + width:g} {unit}" for lo in ranges]
    return labels, k - first


def ablation_drop(result: dict, group: str) -> Question:
    """How much test accuracy is lost when s := 1 in ``group`` (a stage ablation result)?"""
    top1 = result["top1"]
    drop = 100 * (top1["none"] - top1[f"off: {group}"])
    width = 2.0 if drop < 8 else 10.0
    choices, answer = _buckets(drop, width)
    return Question(
        f"The trained network keeps its weights; s is set to 1 in {group}. How much test accuracy does it lose?",
        choices, answer,
        f"Measured on {result['n']:,} test pictures: {100 * top1['none']:.2f}% as trained, "
        f"{100 * top1[f'off: {group}']:.2f}% with s := 1 in {group}, a drop of {drop:.2f} points. The network was "
        "trained with its gates, so removing them also removes the scale it learned to expect.")


def se_parameter_share(report: CostReport, without_last_stage: bool = False) -> Question:
    """How many parameters does SE add (in % of the network without SE)?"""
    share = report.overhead_without_last_stage_pct if without_last_stage else report.overhead_pct
    width = 2.0 if share < 10 else 5.0
    choices, answer = _buckets(share, width, unit="%")
    where = " if the last stage has no SE blocks" if without_last_stage else ""
    return Question(
        f"How many parameters does SE add to {report.model} at r = {report.reduction:g}{where}, "
        "relative to the same network without SE?",
        choices, answer,
        f"Counted from the modules: {report.se_params:,} SE parameters on {report.base_params:,} without SE, "
        f"{report.overhead_pct:.2f}%; without the last stage's SE blocks {report.overhead_without_last_stage_pct:.2f}% "
        f"(the last stage holds {report.stages[-1].params / max(1, report.se_params):.0%} of them).")


def closer_to_class(stats: ExcitationStats, block: str, cls: str, pictures: dict[str, np.ndarray]) -> Question:
    """Which of two pictures has s closest (mean |difference| over channels) to the class mean of ``cls``?"""
    k = stats.class_names.index(cls)
    mean = stats.excitation_mean(block)[k]
    names = list(pictures)
    distance = {n: float(np.abs(pictures[n] - mean).mean()) for n in names}
    best = min(names, key=distance.get)
    return Question(
        f"In {block}, which picture's excitation s lies closer to the mean s of the class '{cls}'?",
        names, names.index(best),
        "Mean |s − class mean| over the channels: " + ", ".join(f"{n}: {d:.3f}" for n, d in distance.items())
        + f" (class mean over {int(stats.count[k]):,} pictures).")


def beats_twin(card: dict, twin: dict) -> Question:
    """Does SE beat its twin without SE by more than the noise of the test set?"""
    diff, lo, hi, paired = accuracy_difference(card, twin)
    choices = ["yes, beyond the noise", "no difference beyond the noise", "the twin without SE is better, beyond the noise"]
    answer = 0 if lo > 0 else 2 if hi < 0 else 1
    return Question(
        f"{card['name']} and {twin['name']} were trained alike, one with SE, one without. Does SE win on the "
        f"{card['test']['n']:,} test pictures?",
        choices, answer,
        f"{100 * card['test']['top1']:.2f}% against {100 * twin['test']['top1']:.2f}%: SE {diff:+.2f} points, 95% interval "
        f"{lo:+.2f} to {hi:+.2f} ({'paired over the same pictures' if paired else 'unpaired'}).")


def gate_length(block: str, channels: int, hidden: int, hw: int) -> Question:
    """How many numbers does one block's gate compute for a picture (one per channel: C)?"""
    values = {channels: "one per channel", hidden: "one per hidden unit", 1: "one for the whole block",
              channels * hw: "one per position and channel"}
    shown = sorted(values)
    return Question(
        f"{block} receives U with C = {channels} feature maps of {hw} positions each. How many numbers does its gate "
        "compute for one picture?",
        [f"{n:,}" for n in shown], shown.index(channels),
        f"{channels}: one factor s_c per channel, the same at every one of the {hw} positions of that channel's map. The "
        f"bottleneck in between has {hidden} hidden units (C/r).")


def squeeze_value(u_map: np.ndarray, channel: int) -> Question:
    """Which number does the squeeze make of one feature map u_c (Eq. 2: its mean)?"""
    values = {"mean": float(u_map.mean()), "largest value": float(u_map.max()), "smallest value": float(u_map.min()),
              "sum": float(u_map.sum())}
    shown = sorted(values, key=values.get)  # in numeric order, so the answer's position says nothing
    h, w = u_map.shape
    return Question(
        f"Channel {channel}'s map u_{channel} has {h}×{w} = {h * w} values. Which number does the squeeze pass on as "
        f"z_{channel}?",
        [f"{values[k]:.4f}" for k in shown], shown.index("mean"),
        f"z_{channel} is the mean of the map (global average pooling): {values['mean']:.4f}. The other choices were its "
        f"largest value {values['largest value']:.4f}, its smallest {values['smallest value']:.4f} and its sum "
        f"{values['sum']:.2f}.")


def damped_channels(s: np.ndarray, block: str) -> Question:
    """How many of a block's channels does this picture's gate damp below one half?"""
    below = int((s < 0.5).sum())
    bins = [(int(part[0]), int(part[-1])) for part in np.array_split(np.arange(len(s) + 1), min(4, len(s) + 1))]
    labels = [f"{lo} to {hi} channels" for lo, hi in bins]
    answer = next(i for i, (lo, hi) in enumerate(bins) if lo <= below <= hi)
    return Question(
        f"The gate of {block} gives each of its {len(s)} channels a factor s_c between 0 and 1. For this picture, how many "
        "channels are damped below one half?",
        labels, answer,
        f"{below} of {len(s)} channels have s_c < 0.5 (s from {s.min():.3f} to {s.max():.3f}, mean {s.mean():.3f}).")


def stage_means(per_block: dict[str, float]) -> dict[int, float]:
    """The mean of a per-block figure over each stage's blocks (blocks named SE_<stage>_<block>)."""
    by_stage: dict[int, list[float]] = {}
    for name, value in per_block.items():
        by_stage.setdefault(int(name.split("_")[1]), []).append(value)
    return {k: float(np.mean(v)) for k, v in sorted(by_stage.items())}


def _largest_stage(prompt: str, per_stage: dict[int, float], measured: str, closing: str = "") -> Question:
    """'Which stage has the largest ...?': the stages as choices, the measured figures in the reveal."""
    stages = list(per_stage)
    best = max(stages, key=per_stage.get)
    trail = ", ".join(f"stage {s}: {v:.3f}" for s, v in per_stage.items())
    return Question(prompt, [f"stage {s}" for s in stages], stages.index(best),
                    f"{measured}, averaged over a stage's blocks: {trail}." + (f" {closing.format(best=best)}" if closing else ""))


def stage_spread(excitation: dict[str, np.ndarray]) -> dict[int, float]:
    """Per stage, the mean over its blocks of the std of s across channels (one picture)."""
    return stage_means({name: float(np.std(s)) for name, s in excitation.items()})


def varied_stage(excitation: dict[str, np.ndarray]) -> Question:
    """In which stage does one picture's s vary most across channels?"""
    return _largest_stage("In which stage does this picture's excitation vary most from channel to channel?",
                          stage_spread(excitation), "Standard deviation of s over the channels",
                          "Stage {best} reweighs its channels most unevenly.")


def parting_stage(divergence: list) -> Question:
    """In which stage do two pictures' excitations lie furthest apart (``compare.divergence``)?"""
    return _largest_stage("In which stage do the two pictures' excitations differ most?",
                          stage_means({d.name: d.mean_abs for d in divergence}), "Mean |s_a − s_b| over the channels")

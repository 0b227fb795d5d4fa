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

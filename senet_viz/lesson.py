"""Predict, then reveal: multiple-choice questions whose answers are measured on the loaded model.

Each function takes what the model has (statistics, ablation results, cost, cards) and returns a
``Question`` whose right choice and explanation come from those numbers; the wrong choices are
the other plausible values of the same quantity. Nothing here is written for one set of weights.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np

from .cost import CostReport
from .narrative import accuracy_difference, stage_specificity, training_differences
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


def step_from_link(text: str | None) -> tuple[int, str | None]:
    """The 0-based step a link's ``step`` (1-based) names, and one line when it names none of the
    lesson's steps (then step 1). Only ASCII digits count: "²".isdigit() is true, int("²") fails."""
    if text is None or text == "":
        return 0, None
    if text.isascii() and text.isdigit() and 1 <= int(text) <= len(STEPS):
        return int(text) - 1, None
    return 0, f"the link's step '{text[:12]}' is not one of the lesson's steps 1 to {len(STEPS)}: opened step 1"


@dataclass(frozen=True)
class Question:
    prompt: str
    choices: list[str]
    answer: int  # index into choices
    explanation: str

    def is_right(self, choice: int) -> bool:
        return choice == self.answer


def _rng(*parts: object) -> np.random.Generator:
    """A generator seeded by text: the same draw wherever the same question is asked (a room's
    lecturer and students, a link opened again), a different one for another question."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def shuffled(prompt: str, choices: list[str], answer: int, explanation: str, salt: str = "") -> Question:
    """A question with its choices in an order drawn from the question itself (its prompt, the set
    of its choices and ``salt``, e.g. the picture it is asked on; not which one is right), so the
    right choice's position says nothing."""
    order = _rng(prompt, salt, *sorted(choices)).permutation(len(choices))
    return Question(prompt, [choices[i] for i in order], int(np.flatnonzero(order == answer)[0]), explanation)


def _ranges(value: float, widths: list[float], draw: np.random.Generator, *, lower: float | None = None,
            upper: float | None = None, count: int = 4) -> tuple[list[tuple[float, float]], int]:
    """``count`` adjacent ranges [lo, lo + w), one holding ``value`` at a position drawn by ``draw``:
    the choices of a "how much" question. ``widths`` in order of preference (the first is the
    natural one); a narrower one is taken where the drawn position would leave [lower, upper).
    Where no width allows that position (a value at a bound), the nearest position that fits."""
    want = int(draw.integers(count))

    def fits(w: float, j: int) -> bool:
        first = (math.floor(value / w) - j) * w
        return (lower is None or first >= lower - 1e-9) and (upper is None or first + count * w <= upper + 1e-9)

    options = [(abs(j - want), i, w, j) for i, w in enumerate(widths) for j in range(count) if fits(w, j)]
    _, _, w, j = min(options) if options else (0, 0, widths[0], 0)
    first = math.floor(value / w) - j
    return [((first + i) * w, (first + i + 1) * w) for i in range(count)], j


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


def _change(lo: float, hi: float) -> str:
    """A range of accuracy drops in words: drops are losses, negative drops gains."""
    return f"a gain of {0.0 - hi:g} to {0.0 - lo:g} points" if hi <= 0 else f"a loss of {lo:g} to {hi:g} points"


def ablation_drop(result: dict, group: str, *, trained: bool = True) -> Question:
    """How does test accuracy change when s := 1 in ``group`` (a stage ablation result)?"""
    top1 = result["top1"]
    before, after = 100 * top1["none"], 100 * top1[f"off: {group}"]
    drop = before - after
    prompt = (f"The {'trained ' if trained else ''}network keeps its weights{'' if trained else ' (random ones)'}; s is "
              f"set to 1 in {group}. How does its accuracy on {result['n']:,} test pictures change?")
    base = 2.0 if abs(drop) < 8 else 10.0
    ranges, answer = _ranges(drop, [base, base / 2, base / 4], _rng(prompt, before, after))
    change = f"a loss of {drop:.2f} points" if drop >= 0 else f"a gain of {-drop:.2f} points"
    why = (" The network was trained with its gates, so removing them also removes the scale it learned to expect."
           if trained and drop > 0 else "")
    return Question(prompt, [_change(lo, hi) for lo, hi in ranges], answer,
                    f"Measured on {result['n']:,} test pictures: {before:.2f}% with its gates, {after:.2f}% with s := 1 in {group}: {change}.{why}")


def se_parameter_share(report: CostReport, without_last_stage: bool = False) -> Question:
    """How many parameters does SE add (in % of the network without SE)?"""
    share = report.overhead_without_last_stage_pct if without_last_stage else report.overhead_pct
    where = " if the last stage has no SE blocks" if without_last_stage else ""
    prompt = (f"How many parameters does SE add to {report.model} at r = {report.reduction:g}{where}, "
              "relative to the same network without SE?")
    base = 2.0 if share < 10 else 5.0
    ranges, answer = _ranges(share, [base, base / 2, base / 4, base / 10], _rng(prompt, share), lower=0.0)
    return Question(
        prompt, [f"{lo:g} to {hi:g}%" for lo, hi in ranges], answer,
        f"Counted from the modules: {report.se_params:,} SE parameters on {report.base_params:,} without SE, "
        f"{report.overhead_pct:.2f}%; without the last stage's SE blocks {report.overhead_without_last_stage_pct:.2f}% "
        f"(the last stage holds {report.stages[-1].params / max(1, report.se_params):.0%} of them).")


def closer_to_class(stats: ExcitationStats, block: str, classes: list[str], pictures: dict[str, np.ndarray]) -> Question:
    """Which of two pictures has s closest (mean |difference| over channels) to the class mean of a
    class? The class is drawn from ``classes`` (the pictures' own classes, one each), so either
    picture may be the right one; the draw is fixed by the pictures' s, the same for everyone."""
    names = list(pictures)
    candidates = list(dict.fromkeys(classes))
    cls = candidates[int(_rng(block, *candidates, *(np.round(pictures[n], 4).tobytes() for n in names))
                         .integers(len(candidates)))]
    k = stats.class_names.index(cls)
    mean = stats.excitation_mean(block)[k]
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
    alike = not training_differences(card, twin)
    how = "were trained alike" if alike else "were trained differently (" + ", ".join(training_differences(card, twin)) + ")"
    return Question(
        f"{card['name']} and {twin['name']} {how}, one with SE, one without. Does the one with SE win on the "
        f"{card['test']['n']:,} test pictures?",
        choices, answer,
        f"{100 * card['test']['top1']:.2f}% against {100 * twin['test']['top1']:.2f}%: SE {diff:+.2f} points, 95% interval "
        f"{lo:+.2f} to {hi:+.2f} ({'paired over the same pictures' if paired else 'unpaired'}).")


def gate_length(block: str, channels: int, hidden: int, hw: int, picture: str = "") -> Question:
    """How many numbers does one block's gate compute for a picture (one per channel: C)? The
    order of the choices is drawn per ``picture`` (its hash) too: the numbers are the block's."""
    values = {channels: "one per channel", hidden: "one per hidden unit", 1: "one for the whole block",
              channels * hw: "one per position and channel"}
    return shuffled(
        f"{block} receives U: {channels * hw:,} numbers, feature maps of {hw} positions each. How many numbers does its "
        "gate compute for one picture?",
        [f"{n:,}" for n in values], list(values).index(channels),
        f"{channels:,}: one factor s_c per channel (U has {channels} maps of {hw} positions), the same at every position "
        f"of that channel's map. The bottleneck in between has {hidden} hidden units.", salt=picture)


def squeeze_channel(z: np.ndarray) -> int:
    """The channel the squeeze question asks about: the one whose z stands out most (largest |z|)."""
    return int(np.argmax(np.abs(z)))


SQUEEZE_WORDS = {"avg": "mean", "max": "largest value", "avgmax": "half the mean plus half the largest value"}


def squeeze_value(u_map: np.ndarray, channel: int, kind: str = "avg") -> Question:
    """Which number does the squeeze make of one feature map u_c? Eq. 2's mean for the paper's
    squeeze; the block's own squeeze (``kind``: "avg", "max" or timm's "avgmax") decides."""
    values = {"mean": float(u_map.mean()), "largest value": float(u_map.max()), "smallest value": float(u_map.min()),
              "sum": float(u_map.sum())}
    if kind == "avgmax":  # in place of the sum: the squeeze this block really computes
        del values["sum"]
        values[SQUEEZE_WORDS["avgmax"]] = 0.5 * values["mean"] + 0.5 * values["largest value"]
    right = SQUEEZE_WORDS[kind]
    h, w = u_map.shape
    others = ", ".join(f"its {k} {v:.4f}" for k, v in values.items() if k != right)
    how = "global average pooling, Eq. 2" if kind == "avg" else "this block's squeeze, not Eq. 2's mean"
    return shuffled(
        f"Channel {channel}'s map u_{channel} has {h}×{w} = {h * w} values. Which number does the squeeze pass on as "
        f"z_{channel}?",
        [f"{v:.4f}" for v in values.values()], list(values).index(right),
        f"z_{channel} is the {right} of the map ({how}): {values[right]:.4f}. The other choices were {others}.")


#: What each gate's s can be, in words.
GATE_RANGES = {"Sigmoid": "between 0 and 1", "Hardsigmoid": "between 0 and 1", "Tanh": "between −1 and 1",
               "ReLU": "of 0 or more"}


def damped_channels(s: np.ndarray, block: str, gate: str = "Sigmoid") -> Question:
    """How many of a block's channels does this picture's gate damp below one half?"""
    below = int((s < 0.5).sum())
    range_words = GATE_RANGES.get(gate)
    factor = f"a factor s_c {range_words}" if range_words else f"a factor s_c (its gate is {gate})"
    prompt = (f"The gate of {block} gives each of its {len(s)} channels {factor}. For this picture, how many channels "
              "are damped below one half?")
    base = math.ceil((len(s) + 1) / 4)
    ranges, answer = _ranges(below, list(range(base, 0, -1)), _rng(prompt, below, s.round(4).tobytes()),
                             lower=0, upper=len(s) + 1)
    labels = [f"{int(lo)} to {int(hi) - 1} channels" if hi - lo > 1 else f"{int(lo)} channels" for lo, hi in ranges]
    return Question(prompt, labels, answer,
                    f"{below} of {len(s)} channels have s_c < 0.5 (s from {s.min():.3f} to {s.max():.3f}, mean "
                    f"{s.mean():.3f}).")


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

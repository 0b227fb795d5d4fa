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
from .i18n import N_, T, Text, source
from .narrative import accuracy_difference, stage_specificity, training_differences
from .stats import ExcitationStats


@dataclass(frozen=True)
class Step:
    key: str
    title: Text
    needs: str = ""  # "stats", "ablation" or "twin": what the loaded weights must have for its question


#: The lesson's path through the paper, one screen each.
STEPS = (
    Step("problem", T("Every channel treated alike")),
    Step("squeeze", T("Squeeze: a feature map becomes one number (Eq. 2)")),
    Step("excite", T("Excitation: a gate computed from all channels (Eq. 3)")),
    Step("scale", T("Scale: every map times its gate (Eq. 4)")),
    Step("fingerprint", T("One picture's fingerprint")),
    Step("pair", T("Two pictures differ")),
    Step("classes", T("Classes by stage: the paper's figure"), needs="stats"),
    Step("ablation", T("SE switched off"), needs="ablation"),
    Step("cost", T("What it costs (Eq. 5)")),
    Step("twin", T("SE against its twin"), needs="twin"),
)


def step_from_link(text: str | None) -> tuple[int, Text | None]:
    """The 0-based step a link's ``step`` (1-based) names, and one line when it names none of the
    lesson's steps (then step 1). Only ASCII digits count: "²".isdigit() is true, int("²") fails."""
    if text is None or text == "":
        return 0, None
    if text.isascii() and text.isdigit() and 1 <= int(text) <= len(STEPS):
        return int(text) - 1, None
    return 0, T("the link's step '{step}' is not one of the lesson's steps 1 to {last}: opened step 1", step=text[:12],
                last=len(STEPS))


@dataclass(frozen=True)
class Question:
    """Its words are ``Text``: rendered in the language of whoever reads them; their English is
    the question's identity (the same question in a room whatever each screen's language)."""

    prompt: Text
    choices: list[Text | str]
    answer: int  # index into choices
    explanation: Text

    def is_right(self, choice: int) -> bool:
        return choice == self.answer


def _rng(*parts: object) -> np.random.Generator:
    """A generator seeded by text: the same draw wherever the same question is asked (a room's
    lecturer and students, a link opened again), a different one for another question."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return np.random.default_rng(int.from_bytes(digest[:8], "little"))


def shuffled(prompt: Text, choices: list, answer: int, explanation: Text, salt: str = "") -> Question:
    """A question with its choices in an order drawn from the question itself (its prompt, the set
    of its choices and ``salt``, e.g. the picture it is asked on; not which one is right), so the
    right choice's position says nothing."""
    order = _rng(prompt.en, salt, *sorted(map(source, choices))).permutation(len(choices))
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
    trail = tuple(T("stage {stage}: {value:.2f}", stage=s, value=v) for s, v in spec.items())
    return Question(
        T("In which stage do the excitations s differ most from class to class?"),
        [T("stage {stage}", stage=s) for s in stages], stages.index(best),
        T("Measured on {n:,} pictures as the between-class over within-class variance of s, averaged over a stage's "
          "blocks: {trail}. Stage {best} separates the classes most.", n=stats.total, trail=trail, best=best))


def _change(lo: float, hi: float) -> Text:
    """A range of accuracy drops in words: drops are losses, negative drops gains."""
    if hi <= 0:
        return T("a gain of {lo:g} to {hi:g} points", lo=0.0 - hi, hi=0.0 - lo)
    return T("a loss of {lo:g} to {hi:g} points", lo=lo, hi=hi)


def ablation_drop(result: dict, group: str, *, trained: bool = True) -> Question:
    """How does test accuracy change when s := 1 in ``group`` (a stage ablation result)?"""
    top1 = result["top1"]
    before, after = 100 * top1["none"], 100 * top1[f"off: {group}"]
    drop = before - after
    if trained:
        prompt = T("The trained network keeps its weights; s is set to 1 in {group}. How does its accuracy on {n:,} "
                   "test pictures change?", group=group, n=result["n"])
    else:
        prompt = T("The network keeps its weights (random ones); s is set to 1 in {group}. How does its accuracy on "
                   "{n:,} test pictures change?", group=group, n=result["n"])
    base = 2.0 if abs(drop) < 8 else 10.0
    ranges, answer = _ranges(drop, [base, base / 2, base / 4], _rng(prompt.en, before, after))
    change = T("a loss of {value:.2f} points", value=drop) if drop >= 0 else T("a gain of {value:.2f} points", value=-drop)
    measured = dict(n=result["n"], before=before, after=after, group=group, change=change)
    if trained and drop > 0:
        why = T("Measured on {n:,} test pictures: {before:.2f}% with its gates, {after:.2f}% with s := 1 in {group}: "
                "{change}. The network was trained with its gates, so removing them also removes the scale it learned "
                "to expect.", **measured)
    else:
        why = T("Measured on {n:,} test pictures: {before:.2f}% with its gates, {after:.2f}% with s := 1 in {group}: "
                "{change}.", **measured)
    return Question(prompt, [_change(lo, hi) for lo, hi in ranges], answer, why)


def se_parameter_share(report: CostReport, without_last_stage: bool = False) -> Question:
    """How many parameters does SE add (in % of the network without SE)?"""
    share = report.overhead_without_last_stage_pct if without_last_stage else report.overhead_pct
    if without_last_stage:
        prompt = T("How many parameters does SE add to {model} at r = {r:g} if the last stage has no SE blocks, relative "
                   "to the same network without SE?", model=report.model, r=report.reduction)
    else:
        prompt = T("How many parameters does SE add to {model} at r = {r:g}, relative to the same network without SE?",
                   model=report.model, r=report.reduction)
    base = 2.0 if share < 10 else 5.0
    ranges, answer = _ranges(share, [base, base / 2, base / 4, base / 10], _rng(prompt.en, share), lower=0.0)
    return Question(
        prompt, [T("{lo:g} to {hi:g}%", lo=lo, hi=hi) for lo, hi in ranges], answer,
        T("Counted from the modules: {se:,} SE parameters on {base:,} without SE, {share:.2f}%; without the last "
          "stage's SE blocks {without:.2f}% (the last stage holds {last:.0%} of them).", se=report.se_params,
          base=report.base_params, share=report.overhead_pct, without=report.overhead_without_last_stage_pct,
          last=report.stages[-1].params / max(1, report.se_params)))


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
        T("In {block}, which picture's excitation s lies closer to the mean s of the class '{cls}'?", block=block, cls=cls),
        names, names.index(best),
        T("Mean |s − class mean| over the channels: {distances} (class mean over {n:,} pictures).",
          distances=", ".join(f"{n}: {d:.3f}" for n, d in distance.items()), n=int(stats.count[k])))


def beats_twin(card: dict, twin: dict) -> Question:
    """Does SE beat its twin without SE by more than the noise of the test set?"""
    diff, lo, hi, paired = accuracy_difference(card, twin)
    choices = [T("yes, beyond the noise"), T("no difference beyond the noise"),
               T("the twin without SE is better, beyond the noise")]
    answer = 0 if lo > 0 else 2 if hi < 0 else 1
    differences = training_differences(card, twin)
    names = dict(model=card["name"], twin=twin["name"], n=card["test"]["n"])
    if differences:
        prompt = T("{model} and {twin} were trained differently ({differences}), one with SE, one without. Does the one "
                   "with SE win on the {n:,} test pictures?", differences=tuple(differences), **names)
    else:
        prompt = T("{model} and {twin} were trained alike, one with SE, one without. Does the one with SE win on the "
                   "{n:,} test pictures?", **names)
    numbers = dict(se=100 * card["test"]["top1"], twin=100 * twin["test"]["top1"], diff=diff, lo=lo, hi=hi)
    if paired:
        why = T("{se:.2f}% against {twin:.2f}%: SE {diff:+.2f} points, 95% interval {lo:+.2f} to {hi:+.2f} (paired over "
                "the same pictures).", **numbers)
    else:
        why = T("{se:.2f}% against {twin:.2f}%: SE {diff:+.2f} points, 95% interval {lo:+.2f} to {hi:+.2f} (unpaired).",
                **numbers)
    return Question(prompt, choices, answer, why)


def gate_length(block: str, channels: int, hidden: int, hw: int, picture: str = "") -> Question:
    """How many numbers does one block's gate compute for a picture (one per channel: C)? The
    order of the choices is drawn per ``picture`` (its hash) too: the numbers are the block's."""
    values = [channels, hidden, 1, channels * hw]  # one per channel, hidden unit, block, position and channel
    values = list(dict.fromkeys(values))
    return shuffled(
        T("{block} receives U: {numbers:,} numbers, feature maps of {hw} positions each. How many numbers does its gate "
          "compute for one picture?", block=block, numbers=channels * hw, hw=hw),
        [f"{n:,}" for n in values], values.index(channels),
        T("{channels:,}: one factor s_c per channel (U has {channels} maps of {hw} positions), the same at every "
          "position of that channel's map. The bottleneck in between has {hidden} hidden units.", channels=channels,
          hw=hw, hidden=hidden), salt=picture)


def squeeze_channel(z: np.ndarray) -> int:
    """The channel the squeeze question asks about: the one whose z stands out most (largest |z|)."""
    return int(np.argmax(np.abs(z)))


#: What the squeeze makes of a map, by the block's squeeze ("avg", "max" or timm's "avgmax").
SQUEEZE_WORDS = {"avg": "mean", "max": "largest", "avgmax": "avgmax"}
_VALUE_WORDS = {"mean": T("mean"), "largest": T("largest value"), "smallest": T("smallest value"), "sum": T("sum"),
                "avgmax": T("half the mean plus half the largest value")}


def squeeze_value(u_map: np.ndarray, channel: int, kind: str = "avg") -> Question:
    """Which number does the squeeze make of one feature map u_c? Eq. 2's mean for the paper's
    squeeze; the block's own squeeze (``kind``: "avg", "max" or timm's "avgmax") decides."""
    values = {"mean": float(u_map.mean()), "largest": float(u_map.max()), "smallest": float(u_map.min()),
              "sum": float(u_map.sum())}
    if kind == "avgmax":  # in place of the sum: the squeeze this block really computes
        del values["sum"]
        values["avgmax"] = 0.5 * values["mean"] + 0.5 * values["largest"]
    right = SQUEEZE_WORDS[kind]
    h, w = u_map.shape
    others = tuple(T("its {what} {value:.4f}", what=_VALUE_WORDS[k], value=v) for k, v in values.items() if k != right)
    numbers = dict(c=channel, what=_VALUE_WORDS[right], value=values[right], others=others)
    if kind == "avg":
        why = T("z_{c} is the {what} of the map (global average pooling, Eq. 2): {value:.4f}. The other choices were "
                "{others}.", **numbers)
    else:
        why = T("z_{c} is the {what} of the map (this block's squeeze, not Eq. 2's mean): {value:.4f}. The other "
                "choices were {others}.", **numbers)
    return shuffled(
        T("Channel {c}'s map u_{c} has {h}×{w} = {hw} values. Which number does the squeeze pass on as z_{c}?",
          c=channel, h=h, w=w, hw=h * w),
        [f"{v:.4f}" for v in values.values()], list(values).index(right), why)


#: What each gate's s can be, in words.
GATE_RANGES = {"Sigmoid": T("between 0 and 1"), "Hardsigmoid": T("between 0 and 1"), "Tanh": T("between −1 and 1"),
               "ReLU": T("of 0 or more")}


def damped_channels(s: np.ndarray, block: str, gate: str = "Sigmoid") -> Question:
    """How many of a block's channels does this picture's gate damp below one half?"""
    below = int((s < 0.5).sum())
    range_words = GATE_RANGES.get(gate)
    if range_words:
        prompt = T("The gate of {block} gives each of its {channels} channels a factor s_c {range}. For this picture, "
                   "how many channels are damped below one half?", block=block, channels=len(s), range=range_words)
    else:
        prompt = T("The gate of {block} gives each of its {channels} channels a factor s_c (its gate is {gate}). For "
                   "this picture, how many channels are damped below one half?", block=block, channels=len(s), gate=gate)
    base = math.ceil((len(s) + 1) / 4)
    ranges, answer = _ranges(below, list(range(base, 0, -1)), _rng(prompt.en, below, s.round(4).tobytes()),
                             lower=0, upper=len(s) + 1)
    labels = [T("{lo} to {hi} channels", lo=int(lo), hi=int(hi) - 1) if hi - lo > 1 else T("{n} channels", n=int(lo))
              for lo, hi in ranges]
    return Question(prompt, labels, answer,
                    T("{below} of {channels} channels have s_c < 0.5 (s from {low:.3f} to {high:.3f}, mean {mean:.3f}).",
                      below=below, channels=len(s), low=s.min(), high=s.max(), mean=s.mean()))


def stage_means(per_block: dict[str, float]) -> dict[int, float]:
    """The mean of a per-block figure over each stage's blocks (blocks named SE_<stage>_<block>)."""
    by_stage: dict[int, list[float]] = {}
    for name, value in per_block.items():
        by_stage.setdefault(int(name.split("_")[1]), []).append(value)
    return {k: float(np.mean(v)) for k, v in sorted(by_stage.items())}


def _largest_stage(prompt: Text, per_stage: dict[int, float], reveal: str) -> Question:
    """'Which stage has the largest ...?': the stages as choices, the measured figures in the reveal
    (``reveal`` names ``{trail}`` and may name ``{best}``)."""
    stages = list(per_stage)
    best = max(stages, key=per_stage.get)
    trail = tuple(T("stage {stage}: {value:.3f}", stage=s, value=v) for s, v in per_stage.items())
    return Question(prompt, [T("stage {stage}", stage=s) for s in stages], stages.index(best),
                    T(reveal, trail=trail, best=best))


def stage_spread(excitation: dict[str, np.ndarray]) -> dict[int, float]:
    """Per stage, the mean over its blocks of the std of s across channels (one picture)."""
    return stage_means({name: float(np.std(s)) for name, s in excitation.items()})


def varied_stage(excitation: dict[str, np.ndarray]) -> Question:
    """In which stage does one picture's s vary most across channels?"""
    return _largest_stage(T("In which stage does this picture's excitation vary most from channel to channel?"),
                          stage_spread(excitation),
                          N_("Standard deviation of s over the channels, averaged over a stage's blocks: {trail}. Stage "
                             "{best} reweighs its channels most unevenly."))


def parting_stage(divergence: list) -> Question:
    """In which stage do two pictures' excitations lie furthest apart (``compare.divergence``)?"""
    return _largest_stage(T("In which stage do the two pictures' excitations differ most?"),
                          stage_means({d.name: d.mean_abs for d in divergence}),
                          N_("Mean |s_a − s_b| over the channels, averaged over a stage's blocks: {trail}."))

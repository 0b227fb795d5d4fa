"""What the app says about a model's behaviour, computed from its card, statistics and ablation.

Every sentence here is a function of measured numbers, so it changes when the weights change;
none is written for one particular set of weights.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from .evaluate import Z95, paired_difference, unpack_outcomes
from .health import BlockHealth
from .i18n import N_, T, Text, _, ngettext
from .stats import ExcitationStats

if TYPE_CHECKING:
    from .cost import CostReport


def full_test_outcomes(card: dict) -> tuple[str, np.ndarray] | None:
    """(checksum of the test set, per-picture correctness) from a card's full test evaluation:
    its ``test`` entry, or a recorded check over the whole set."""
    for entry in [card.get("test") or {}, *card.get("checks", [])]:
        if entry.get("outcomes") and not entry.get("limit") and not entry.get("limit_per_class"):
            return entry.get("sha256", ""), unpack_outcomes(entry["outcomes"], entry["n"])
    return None


def accuracy_difference(card: dict, twin: dict) -> tuple[float, float, float, bool]:
    """(difference of test top-1, low, high of its 95% interval, paired), in points. Paired
    (McNemar's counts, ``evaluate.paired_difference``) where both cards hold per-picture results
    on the same test set; else the normal interval for two independent proportions, which is
    conservative for two models evaluated on the same pictures."""
    a, b = full_test_outcomes(card), full_test_outcomes(twin)
    if a is not None and b is not None and a[0] == b[0] and a[1].shape == b[1].shape:
        pair = paired_difference(a[1], b[1])
        lo, hi = pair.interval
        return 100 * pair.difference, 100 * lo, 100 * hi, True
    ta, tb = card["test"], twin["test"]
    pa, pb = ta["top1"], tb["top1"]
    se = math.sqrt(pa * (1 - pa) / ta["n"] + pb * (1 - pb) / tb["n"])
    diff = pa - pb
    return 100 * diff, 100 * (diff - Z95 * se), 100 * (diff + Z95 * se), False


#: What two training runs must share for their difference to be SE's: recipe, schedule and seed.
_RUN_FIELDS = {"recipe": N_("recipe"), "epochs": N_("schedule"), "swa": N_("schedule"), "seed": N_("seed"),
               "train_data": N_("training data")}


def training_differences(card: dict, twin: dict) -> list[Text]:
    """What differs between how two project models were trained (precision and where they ran
    aside, which change rounding, not the recipe)."""
    differs = []
    for key, label in _RUN_FIELDS.items():
        x, y = card.get(key), twin.get(key)
        if key == "recipe":
            x, y = ({k: v for k, v in (r or {}).items() if k != "precision"} for r in (x, y))
        if key == "train_data":
            x, y = (x or {}).get("sha256"), (y or {}).get("sha256")
        if x != y and T(label) not in differs:
            differs.append(T(label))
    return differs


def same_training(card: dict, twin: dict) -> str:
    """'same recipe, schedule and seed', or what differs, from the two cards."""
    differs = training_differences(card, twin)
    if not differs:
        return _("same recipe, schedule and seed")
    return _("trained differently: {what} differ", what=tuple(differs))


def gain_sentence(card: dict, twin: dict) -> str:
    diff, lo, hi, paired = accuracy_difference(card, twin)
    numbers = dict(twin=twin["name"], training=same_training(card, twin), top1=twin["test"]["top1"], diff=abs(diff),
                   lo=lo, hi=hi, n=card["test"]["n"], how=_("paired over the same pictures") if paired else _("unpaired"))
    if diff >= 0:
        head = _("The same network without SE (**{twin}**, {training}) reaches **{top1:.2%}**, so SE adds {diff:.2f} "
                 "points (95% interval {lo:+.2f} to {hi:+.2f}, {how}, on {n:,} test pictures)", **numbers)
    else:
        head = _("The same network without SE (**{twin}**, {training}) reaches **{top1:.2%}**, so SE costs {diff:.2f} "
                 "points (95% interval {lo:+.2f} to {hi:+.2f}, {how}, on {n:,} test pictures)", **numbers)
    if lo > 0:
        return _("{head}: a gain larger than the noise of the test set.", head=head)
    if hi < 0:
        return _("{head}: a loss larger than the noise of the test set.", head=head) + " " + _(PAPER_SCALE)
    return _("{head}: within the noise of the test set, so this test cannot tell the two apart.", head=head) + " " + \
        _(PAPER_SCALE)


#: Where the paper measured SE's gain (``../shared/PAPER.md``), for a gain this test cannot show.
PAPER_SCALE = N_("The paper measured its gains on deeper networks: on CIFAR-10, ResNet-110's error went from 6.37% to "
                 "5.21% with SE (its CIFAR-10 table), and on ImageNet, ResNet-50's top-1 error from 24.80% to 23.29% "
                 "(Table 2, standard schedule).")


def verdict(diff: float, lo: float, hi: float) -> str:
    """A difference against the noise of the test set, in words."""
    if lo <= 0 <= hi:
        return _("within the noise of the test set")
    return _("a gain larger than the noise of the test set") if diff > 0 else _("a loss larger than the noise of the test set")


def averaging_sentence(card: dict) -> str | None:
    """What weight averaging did: the shipped (averaged) weights against the same run's weights at
    the end of its one-cycle phase (the card's ``one_cycle_end``, measured once on the same test
    pictures, paired); None when the card holds no such measurement."""
    end, swa = card.get("one_cycle_end"), card.get("swa")
    shipped = full_test_outcomes(card)
    if not end or not swa or shipped is None or end.get("sha256") != shipped[0]:
        return None
    pair = paired_difference(shipped[1], unpack_outcomes(end["outcomes"], end["n"]))
    lo, hi = (100 * x for x in pair.interval)
    diff = 100 * pair.difference
    return _("Weight averaging over the last {epochs} epochs: **{top1:.2%}**, against {end:.2%} for the same run's "
             "weights at the end of its one-cycle phase (epoch {epoch}): {diff:+.2f} points (95% interval {lo:+.2f} to "
             "{hi:+.2f}, paired over the same {n:,} pictures), {verdict}.", epochs=swa["epochs"],
             top1=card["test"]["top1"], end=end["top1"], epoch=end["epoch"], diff=diff, lo=lo, hi=hi, n=end["n"],
             verdict=verdict(diff, lo, hi))


def health_sentence(health: list[BlockHealth]) -> str:
    """How many blocks respond to the picture, naming those that do not."""
    if not health:
        return ""
    n = len(health)
    states = {}
    for h in health:
        states.setdefault(h.state, []).append(h.name)
    parts = []
    if states.get("responsive"):
        parts.append(_("{k} of {n} SE blocks respond to the picture", k=len(states["responsive"]), n=n))
    if states.get("saturated"):
        parts.append(ngettext("{blocks} is saturated near 1 (as the paper's SE_5_2)",
                              "{blocks} are saturated near 1 (as the paper's SE_5_2)", len(states["saturated"]),
                              blocks=", ".join(states["saturated"])))
    if states.get("faint"):
        parts.append(ngettext("{blocks} hardly depends on it", "{blocks} hardly depend on it", len(states["faint"]),
                              blocks=", ".join(states["faint"])))
    if states.get("constant"):
        parts.append(ngettext("{blocks} is constant for all pictures: a fixed channel scale",
                              "{blocks} are constant for all pictures: a fixed channel scale", len(states["constant"]),
                              blocks=", ".join(states["constant"])))
    return _("{parts}.", parts="; ".join(parts))


def stage_specificity(stats: ExcitationStats) -> dict[int, float]:
    """Mean class-specificity (between/within variance ratio) of each stage's blocks."""
    by_stage: dict[int, list[float]] = {}
    for b in stats.blocks:
        by_stage.setdefault(int(b.split("_")[1]), []).append(stats.specificity(b))
    return {s: sum(v) / len(v) for s, v in sorted(by_stage.items())}


def stage_trail(per_stage: dict[int, float], digits: int = 2) -> str:
    """"stage 2: 0.22, stage 3: 0.34" in the current language."""
    return ", ".join(_("stage {stage}: {value}", stage=k, value=f"{v:.{digits}f}") for k, v in per_stage.items())


def pattern_sentence(stats: ExcitationStats) -> str:
    """Whether the paper's pattern (shared early, class-specific late) shows in these statistics."""
    health = {h.name: h for h in stats.health()}
    flat = [b for b in stats.blocks if b in health and health[b].state == "constant"]
    spec = stage_specificity(stats)
    stages = list(spec)
    if len(stages) < 2:
        return ""
    first, last = spec[stages[0]], spec[stages[-1]]
    trail = stage_trail(spec)
    if last > first and last > 1:
        text = _("On this model, class-specificity rises with depth ({trail}): the paper's pattern, classes excited "
                 "alike early and differently late.", trail=trail)
    elif last > first:
        text = _("On this model, class-specificity rises with depth but stays below 1 ({trail}): classes differ only "
                 "weakly.", trail=trail)
    else:
        text = _("On this model, class-specificity does not rise with depth ({trail}): unlike the paper's figure.",
                 trail=trail)
    if flat:
        text += " " + ngettext("{blocks} is constant for all pictures: a fixed channel scale, not a class pattern.",
                               "{blocks} are constant for all pictures: a fixed channel scale, not a class pattern.",
                               len(flat), blocks=", ".join(flat))
    return text


def ablation_sentence(result: dict) -> str:
    """What switching SE off did, from a stage ablation (``ablation.stage_accuracy``)."""
    top1 = result["top1"]
    base = top1["none"]
    drops = {k.split(": ", 1)[1]: 100 * (base - v) for k, v in top1.items() if k.startswith("off: ")}
    means = {k.split(": ", 1)[1]: 100 * (base - v) for k, v in top1.items() if k.startswith("mean: ")}
    if not drops:
        return ""
    worst = max(drops, key=drops.get)
    others = ", ".join(f"{g}: {d:.2f}" for g, d in drops.items() if g != worst)
    text = _("s := 1 costs most in {worst} ({drop:.2f} points); {others}.", worst=worst, drop=drops[worst], others=others)
    if means:
        text += " " + _("Replacing s by its all-class mean, which keeps the scale and removes only what depends on the "
                        "picture, costs {drops} points.", drops=", ".join(f"{g}: {d:.2f}" for g, d in means.items()))
    return text


def class_typicality(s: np.ndarray, class_mean: np.ndarray, class_std: np.ndarray, cls: str) -> str:
    """How far a picture's s lies from its class mean, measured in the class's own within-class
    spread (the std of s over the class's pictures), channel by channel."""
    diff = np.abs(s - class_mean)
    spread = float(class_std.mean())
    ratio = float(diff.mean()) / max(spread, 1e-12)
    inside = float((diff <= class_std).mean())
    numbers = dict(diff=diff.mean(), spread=spread, cls=cls, ratio=ratio, inside=inside)
    if ratio <= 1:
        return _("Mean |difference| {diff:.3f} against a mean within-class std of {spread:.3f} for '{cls}' ({ratio:.1f} "
                 "times it); {inside:.0%} of the channels lie within one std of the class mean: this picture is excited "
                 "like a typical picture of its predicted class.", **numbers)
    if ratio <= 2:
        return _("Mean |difference| {diff:.3f} against a mean within-class std of {spread:.3f} for '{cls}' ({ratio:.1f} "
                 "times it); {inside:.0%} of the channels lie within one std of the class mean: somewhat outside the "
                 "class's usual range.", **numbers)
    return _("Mean |difference| {diff:.3f} against a mean within-class std of {spread:.3f} for '{cls}' ({ratio:.1f} "
             "times it); {inside:.0%} of the channels lie within one std of the class mean: far outside the class's "
             "usual range, an unusual picture for this class.", **numbers)


def cost_sentence(report: CostReport) -> str:
    """What SE costs in parameters for the model of ``report`` and why Eq. 5 is off, from its counts."""
    head = _("Every SE block adds W1 (h × C) and W2 (C × h) with their biases: 2·C·h + h + C parameters, with h = C/r. "
             "Eq. 5 sums 2·C²/r over the blocks (biases left out), so the cost grows with C² and the widest, last "
             "stage pays most.")
    floored = [b for b in report.blocks if b.floored]
    if floored:
        widths = sorted({(b.channels, b.hidden) for b in floored})
        head += " " + _("In {model} at r = {r:g}, {k} of its {n} blocks have fewer than {floor} units by C/r ({widths}) "
                        "and are raised to the floor of {floor} hidden units, so each adds 2·C·{floor} + {floor} + C "
                        "parameters: linear in C, not quadratic.", model=report.model, r=report.reduction,
                        k=len(floored), n=len(report.blocks), floor=widths[0][1],
                        widths=", ".join(f"C = {c}: C/r = {c / report.reduction:g}" for c, _h in widths))
    return head + " " + eq5_sentence(report)


def eq5_sentence(report: CostReport) -> str:
    """Eq. 5's prediction, the counted SE parameters, and what makes up the difference."""
    gap = report.eq5_gap()
    parts = [_("{n:,.0f} from the bottleneck floor", n=gap.floor) if gap.floored else "",
             _("{n:,} biases", n=gap.biases),
             _("{n:,.0f} from rounding C/r and mixed widths", n=gap.other) if round(gap.other) else ""]
    return _("Eq. 5 predicts **{eq5:,.0f}** SE parameters at r = {r:g}; counted: **{counted:,}**, the difference being "
             "{parts}.", eq5=gap.eq5, r=report.reduction, counted=gap.counted, parts=", ".join(p for p in parts if p))

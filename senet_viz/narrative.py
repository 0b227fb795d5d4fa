"""What the app says about a model's behaviour, computed from its card, statistics and ablation.

Every sentence here is a function of measured numbers, so it changes when the weights change;
none is written for one particular set of weights.
"""

from __future__ import annotations

import math

from .health import BlockHealth
from .stats import ExcitationStats

Z95 = 1.959964


def accuracy_difference(card: dict, twin: dict) -> tuple[float, float, float]:
    """(difference of test top-1, low, high of its 95% interval), in points. The interval is
    the normal one for two independent proportions: conservative for two models evaluated on
    the same pictures, whose errors are correlated."""
    a, b = card["test"], twin["test"]
    pa, pb = a["top1"], b["top1"]
    se = math.sqrt(pa * (1 - pa) / a["n"] + pb * (1 - pb) / b["n"])
    diff = pa - pb
    return 100 * diff, 100 * (diff - Z95 * se), 100 * (diff + Z95 * se)


def gain_sentence(card: dict, twin: dict) -> str:
    diff, lo, hi = accuracy_difference(card, twin)
    head = (f"The same network without SE (**{twin['name']}**, same recipe, schedule and seed) reaches "
            f"**{twin['test']['top1']:.2%}**, so SE {'adds' if diff >= 0 else 'costs'} {abs(diff):.2f} points "
            f"(95% interval {lo:+.2f} to {hi:+.2f} on {card['test']['n']:,} test pictures)")
    if lo > 0:
        return head + ": a gain larger than the noise of the test set."
    if hi < 0:
        return head + ": a loss larger than the noise of the test set."
    return head + ": within the noise of the test set, so this test cannot tell the two apart."


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
        parts.append(f"{len(states['responsive'])} of {n} SE blocks respond to the picture")
    if states.get("saturated"):
        parts.append(f"{', '.join(states['saturated'])} {'is' if len(states['saturated']) == 1 else 'are'} "
                     "saturated near 1 (as the paper's SE_5_2)")
    if states.get("faint"):
        parts.append(f"{', '.join(states['faint'])} hardly depend{'s' if len(states['faint']) == 1 else ''} on it")
    if states.get("constant"):
        parts.append(f"{', '.join(states['constant'])} {'is' if len(states['constant']) == 1 else 'are'} constant for "
                     "all pictures: a fixed channel scale")
    return "; ".join(parts) + "."


def stage_specificity(stats: ExcitationStats) -> dict[int, float]:
    """Mean class-specificity (between/within variance ratio) of each stage's blocks."""
    by_stage: dict[int, list[float]] = {}
    for b in stats.blocks:
        by_stage.setdefault(int(b.split("_")[1]), []).append(stats.specificity(b))
    return {s: sum(v) / len(v) for s, v in sorted(by_stage.items())}


def pattern_sentence(stats: ExcitationStats) -> str:
    """Whether the paper's pattern (shared early, class-specific late) shows in these statistics."""
    health = {h.name: h for h in stats.health()}
    flat = [b for b in stats.blocks if b in health and health[b].state == "constant"]
    spec = stage_specificity(stats)
    stages = list(spec)
    if len(stages) < 2:
        return ""
    first, last = spec[stages[0]], spec[stages[-1]]
    trail = ", ".join(f"stage {s}: {v:.2f}" for s, v in spec.items())
    if last > first and last > 1:
        text = (f"On this model, class-specificity rises with depth ({trail}): the paper's pattern, classes excited "
                "alike early and differently late.")
    elif last > first:
        text = f"On this model, class-specificity rises with depth but stays below 1 ({trail}): classes differ only weakly."
    else:
        text = f"On this model, class-specificity does not rise with depth ({trail}): unlike the paper's figure."
    if flat:
        text += f" {', '.join(flat)} {'is' if len(flat) == 1 else 'are'} constant for all pictures: a fixed channel scale, not a class pattern."
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
    text = (f"s := 1 costs most in {worst} ({drops[worst]:.2f} points); "
            + ", ".join(f"{g}: {d:.2f}" for g, d in drops.items() if g != worst) + ".")
    if means:
        text += (" Replacing s by its all-class mean, which keeps the scale and removes only what depends on the "
                 "picture, costs " + ", ".join(f"{g}: {d:.2f}" for g, d in means.items()) + " points.")
    return text

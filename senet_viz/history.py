"""How SE came alive over training, from a model card's history (``train`` writes one row an
epoch: the training loss and, per SE block, the live hidden units and the std of s over a
fixed probe of training pictures), and the training loss beside the twin's (the paper's
training-curve comparison, at this model's scale).

Everything here is computed from the cards; weights without a history (random, a file of
one's own, a library's) get the reason in one line instead.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .i18n import _


@dataclass(frozen=True)
class History:
    """Per epoch: the training loss, and per block (live hidden units, std of s); ``swa_from``
    is the first epoch of weight averaging (its lr jumps, so does the loss), or None."""

    name: str
    epochs: list[int]
    loss: list[float]
    health: dict[str, list[tuple[int, float]]]
    hidden: dict[str, int]
    swa_from: int | None


def history(card: dict | None) -> tuple[History | None, str]:
    """The card's history, or None and why there is none (one line)."""
    if not card:
        return None, _("these weights have no model card, so no training history")
    rows = card.get("history") or []
    if not rows:
        return None, _("the card of {name} records no epochs", name=card.get("name", "?"))
    blocks = list(rows[-1].get("se_health") or {})
    health = {b: [tuple(r["se_health"][b]) for r in rows if b in (r.get("se_health") or {})] for b in blocks}
    health = {b: v for b, v in health.items() if len(v) == len(rows)}
    swa = card.get("swa") or {}
    swa_from = card.get("epochs", 0) + 1 if swa.get("epochs") else None
    return History(card.get("name", ""), [int(r["epoch"]) for r in rows], [float(r["loss"]) for r in rows], health,
                   dict(card.get("se_hidden") or {}), swa_from), ""


def health_table(h: History) -> pd.DataFrame:
    """Long table: epoch, block, live hidden units, std of s."""
    rows = [(e, b, live, std) for b, values in h.health.items() for e, (live, std) in zip(h.epochs, values)]
    return pd.DataFrame(rows, columns=["epoch", "block", "live", "s_std"])


def health_summary(h: History) -> str:
    """One line: the mean std of s and the live units, first epoch against last."""
    if not h.health:
        return _("{name}'s history has no SE health rows.", name=h.name)
    first = [v[0] for v in h.health.values()]
    last = [v[-1] for v in h.health.values()]
    total = sum(h.hidden.get(b, 0) for b in h.health) or None
    loudest = max(h.health, key=lambda b: h.health[b][-1][1])
    numbers = dict(epochs=len(h.epochs), blocks=len(h.health), start=np.mean([x[1] for x in first]), first=h.epochs[0],
                   end=np.mean([x[1] for x in last]), last=h.epochs[-1], loudest=loudest, top=h.health[loudest][-1][1],
                   live_start=sum(x[0] for x in first), live_end=sum(x[0] for x in last), total=total)
    if total is None:
        return _("Over {epochs} epochs the std of s across the probe pictures, averaged over the {blocks} blocks, went from "
                 "{start:.3f} at epoch {first} to {end:.3f} at epoch {last}; {loudest} varies most ({top:.3f}).", **numbers)
    return _("Over {epochs} epochs the std of s across the probe pictures, averaged over the {blocks} blocks, went from "
             "{start:.3f} at epoch {first} to {end:.3f} at epoch {last}; live hidden units {live_start} → {live_end} of "
             "{total}; {loudest} varies most ({top:.3f}).", **numbers)


def loss_table(a: History, b: History) -> pd.DataFrame:
    rows = [(e, a.name, x) for e, x in zip(a.epochs, a.loss)] + [(e, b.name, x) for e, x in zip(b.epochs, b.loss)]
    return pd.DataFrame(rows, columns=["epoch", "model", "loss"])


def loss_summary(a: History, b: History) -> str:
    """One line: the last losses and in how many common epochs ``a`` (SE) was below ``b`` (its twin)."""
    common = sorted(set(a.epochs) & set(b.epochs))
    la, lb = dict(zip(a.epochs, a.loss)), dict(zip(b.epochs, b.loss))
    below = sum(la[e] < lb[e] for e in common)
    end = common[-1] if common else None
    if not common:
        return _("{a} and {b} share no epoch.", a=a.name, b=b.name)
    numbers = dict(end=end, a=a.name, la=la[end], b=b.name, lb=lb[end], below=below, n=len(common), swa=a.swa_from)
    if a.swa_from:
        return _("Training loss at epoch {end}: {a} {la:.4f}, {b} {lb:.4f}; {a} was lower in {below} of the {n} epochs both "
                 "ran (from epoch {swa} the weights are averaged at a higher constant lr, so the loss rises).", **numbers)
    return _("Training loss at epoch {end}: {a} {la:.4f}, {b} {lb:.4f}; {a} was lower in {below} of the {n} epochs both ran.",
             **numbers)

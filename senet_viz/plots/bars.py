"""Bar charts of measured numbers: predictions before and after an ablation, accuracy with SE
switched off by stage, SE parameters by stage, a model against its twin, a class's answers."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..i18n import _, ngettext
from .base import PALETTE, label


def prediction_bars(names: list[str], before: np.ndarray, after: np.ndarray) -> go.Figure:
    """Probabilities of ``names`` as trained and ablated."""
    shown = [label(n) for n in names]
    fig = go.Figure([go.Bar(name=_("as trained"), x=shown, y=before), go.Bar(name=_("ablated"), x=shown, y=after)])
    fig.update_layout(barmode="group", height=320, yaxis_title=_("probability"), margin={"t": 20})
    return fig


def _percent_bar(name: str | None, x: list[str], top1: list[float], **bar) -> go.Bar:
    return go.Bar(name=name, x=x, y=[100 * v for v in top1], text=[f"{100 * v:.2f}%" for v in top1],
                  textposition="outside", **bar)


def ablation_bars(top1: dict[str, float]) -> go.Figure:
    """Top-1 accuracy as trained, with s := 1 and with s := its all-class mean, per stage group
    (an ablation result's ``top1``: ``none``, ``off: GROUP``, ``mean: GROUP``)."""
    groups = [k.split(": ", 1)[1] for k in top1 if k.startswith("off: ")]
    fig = go.Figure([_percent_bar(_("as trained"), [_("none")], [top1["none"]])])
    for prefix, name in (("off", "s := 1"), ("mean", _("s := all-class mean"))):
        keys = [f"{prefix}: {g}" for g in groups if f"{prefix}: {g}" in top1]
        if keys:
            fig.add_trace(_percent_bar(name, [k.split(": ", 1)[1] for k in keys], [top1[k] for k in keys]))
    fig.update_layout(height=380, yaxis_title=_("top-1 accuracy (%)"), yaxis_range=[0, 105], xaxis_title=_("SE switched off in"),
                      margin={"t": 20}, barmode="group")
    return fig


def stage_off_bars(top1: dict[str, float]) -> go.Figure:
    """Top-1 accuracy with s := 1 in each stage, in all and in none."""
    keys = [k for k in top1 if k == "none" or k.startswith("off: ")]
    fig = go.Figure(_percent_bar(None, [_("none") if k == "none" else k.removeprefix("off: ") for k in keys],
                                 [top1[k] for k in keys], marker_color=PALETTE[0]))
    fig.update_layout(height=340, yaxis_title=_("top-1 accuracy (%)"), yaxis_range=[0, 105], xaxis_title=_("s := 1 in"),
                      margin={"t": 20})
    return fig


def se_params_by_stage(report) -> go.Figure:
    """SE parameters per stage as counted (with each stage's share) and as Eq. 5 predicts
    (a ``cost.CostReport``)."""
    stages = [_("stage {stage}", stage=s.stage) for s in report.stages]
    fig = go.Figure(go.Bar(x=stages, y=[s.params for s in report.stages], name=_("counted"),
                           text=[f"{s.params / max(1, report.se_params):.0%}" for s in report.stages], textposition="outside"))
    fig.add_trace(go.Scatter(x=stages, y=[s.eq5_params for s in report.stages], mode="markers", name="Eq. 5",
                             marker={"size": 12, "symbol": "x"}))
    fig.update_layout(height=360, yaxis_title=_("parameters"), margin={"t": 20})
    return fig


def se_params_at_r(at_r, exact=None, r: float = 16) -> go.Figure:
    """SE parameters per stage at reduction ``r``: as built, with C/r exactly where the built
    network floors it (``exact``), and Eq. 5's prediction."""
    stages = [_("stage {stage} (C = {c})", stage=s.stage, c=s.channels) for s in at_r.stages]
    series = [(_("as built"), at_r, PALETTE[0])] + ([(_("C/r exactly, no floor"), exact, PALETTE[3])] if exact is not None
                                                   else [])
    fig = go.Figure([go.Bar(name=name, x=stages, y=[s.params for s in rep.stages], marker_color=colour)
                     for name, rep, colour in series]
                    + [go.Bar(name=_("Eq. 5 (no biases)"), x=stages, y=[s.eq5_params for s in at_r.stages],
                              marker_color=PALETTE[2])])
    fig.update_layout(barmode="group", height=340, yaxis_title=_("SE parameters at r = {r:g}", r=r), margin={"t": 20},
                      legend={"orientation": "h", "y": -0.2})
    return fig


def twin_accuracy(card: dict, twin: dict) -> go.Figure:
    """The test accuracy of a model and of its twin without SE, from their cards."""
    fig = go.Figure(_percent_bar(None, [label(card["name"]), label(twin["name"])],
                                 [card["test"]["top1"], twin["test"]["top1"]], marker_color=[PALETTE[0], PALETTE[3]]))
    fig.update_layout(height=320, yaxis_title=_("top-1 accuracy (%)"), yaxis_range=[0, 105], margin={"t": 20})
    return fig


def answer_counts(choices: list[str], answer: int, counts: dict[int, int]) -> go.Figure:
    """A question's answers per choice, the measured answer in green."""
    total = sum(counts.values())
    values = [counts.get(i, 0) for i in range(len(choices))]
    colours = [PALETTE[2] if i == answer else PALETTE[9] for i in range(len(choices))]
    fig = go.Figure(go.Bar(x=[label(c) for c in choices], y=values, marker_color=colours, text=values, textposition="outside"))
    # choices such as "0.2098" stay names on the axis, not positions on a number line
    fig.update_xaxes(type="category")
    fig.update_layout(height=260, margin={"t": 30, "b": 30}, yaxis_title=_("answers"),
                      yaxis_range=[0, max([1, *counts.values()]) * 1.25],
                      title=ngettext("The class: {n} answer (the measured answer in green)",
                                     "The class: {n} answers (the measured answer in green)", total))
    return fig

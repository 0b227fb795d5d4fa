"""Two pictures, or a picture against a class: where their excitations part ways."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..i18n import _
from .base import (
    MEAN_COLOUR,
    PALETTE,
    Chart,
    _channels,
    _colour,
    hangul_ready,
    label,
)


def divergence_chart(names: list[str], line: list[float], bars: list[float], title: str = "", *,
                     bar_name: str = "mean |s_a − s_b|", line_name: str = "1 − cosine(s_a, s_b)") -> go.Figure:  # symbols
    """Per block, how far two excitations lie apart: bars (mean |s_a - s_b|) and a line on its own
    axis (1 - cosine, or another per-block figure named by ``line_name``)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=names, y=bars, name=bar_name, marker_color=PALETTE[0]), secondary_y=False)
    fig.add_trace(go.Scatter(x=names, y=line, name=line_name, mode="lines+markers",
                             line={"color": PALETTE[1]}), secondary_y=True)
    fig.update_yaxes(title_text=bar_name, secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text=line_name, secondary_y=True, rangemode="tozero")
    fig.update_layout(title=label(title), height=340, margin={"t": 50, "b": 40}, xaxis_title=_("SE block (input → output)"),
                      legend={"orientation": "h", "y": -0.25})
    return fig


def pair_lines(sa: np.ndarray, sb: np.ndarray, labels: tuple[str, str], marked: list[int], title: str = "") -> go.Figure:
    """s of two pictures over the channels of one block, the most different channels marked."""
    x = np.arange(len(sa))
    fig = go.Figure([
        go.Scatter(x=x, y=sa, mode="lines+markers", name=label(labels[0]), line={"color": PALETTE[0]}, marker={"size": 4}),
        go.Scatter(x=x, y=sb, mode="lines+markers", name=label(labels[1]), line={"color": PALETTE[3]}, marker={"size": 4}),
    ])
    for c in marked:
        fig.add_vline(x=c, line={"color": "#9e9e9e", "dash": "dot"})
    fig.add_trace(go.Scatter(x=marked, y=[max(sa[c], sb[c]) for c in marked], mode="markers+text", name=_("most different"),
                             text=[str(c) for c in marked], textposition="top center",
                             marker={"symbol": "triangle-down", "size": 10, "color": "#424242"}))
    fig.update_layout(title=label(title), height=340, xaxis_title=_("channel"), yaxis_title="s", margin={"t": 50, "b": 40},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def band_bars(s: np.ndarray, mean: np.ndarray, std: np.ndarray, title: str = "", name: str | None = None) -> Chart:
    """s of one picture over the channels, beside a class mean with its within-class ±1 std band."""
    at, n = np.arange(len(s), dtype=float), len(s)
    data = pd.DataFrame({"left": at - 0.4, "right": at + 0.4, "centre": at, "channel": at.astype(int), "s": s,
                         "mean": mean, "low": mean - std, "high": mean + std})
    name, channel, mean_name = name or _("this picture"), _("channel"), _("class mean")
    names, colours = [name, mean_name, _("class mean ± std (within class)")], [PALETTE[0], MEAN_COLOUR, "#bdbdbd"]
    layers = [
        {"mark": {"type": "area", "opacity": 0.6},
         "encoding": {"x": _channels("centre", n, channel), "y": {"field": "low", "type": "quantitative", "title": "s"},
                      "y2": {"field": "high"}, "color": _colour(names[2], names, colours)}},
        {"mark": {"type": "bar", "opacity": 0.75},
         "encoding": {"x": _channels("left", n, channel), "x2": {"field": "right"},
                      "y": {"field": "s", "type": "quantitative", "title": "s"}, "y2": {"datum": 0},
                      "color": _colour(name, names, colours),
                      "tooltip": [{"field": "channel", "type": "quantitative", "title": channel},
                                  {"field": "s", "type": "quantitative", "format": ".4f"},
                                  {"field": "mean", "type": "quantitative", "format": ".4f", "title": mean_name}]}},
        {"mark": {"type": "line"},
         "encoding": {"x": _channels("centre", n, channel), "y": {"field": "mean", "type": "quantitative", "title": "s"},
                      "color": _colour(mean_name, names, colours)}},
    ]
    return Chart({"title": title, "height": 300, "layer": layers}, data)


def comparison_static(names: list[str], mean_abs: list[float], sa: np.ndarray, sb: np.ndarray, block: str,
                      labels: tuple[str, str], marked: list[int], title: str, fmt: str = "png") -> bytes:
    """The comparison as one static figure with a title (matplotlib, no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(11, 6.5), layout="constrained")
    top, bottom = fig.subplots(2, 1)
    top.bar(names, mean_abs, color=PALETTE[0])
    top.set_ylabel("mean |s_a − s_b|")
    top.set_xlabel(_("SE block"))
    bottom.plot(sa, "-o", ms=2, color=PALETTE[0], label=labels[0])
    bottom.plot(sb, "-o", ms=2, color=PALETTE[3], label=labels[1])
    for c in marked:
        bottom.axvline(c, color="#9e9e9e", ls=":")
    bottom.set_xlabel(_("channel of {block}", block=block))
    bottom.set_ylabel("s")
    bottom.legend()
    fig.suptitle(title)
    hangul_ready(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150)
    return buf.getvalue()

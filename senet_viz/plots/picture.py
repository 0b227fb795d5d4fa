"""One picture's excitation: its fingerprint, feature maps, vectors of s and channel reweighting."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go

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


def fingerprint(matrix: np.ndarray, blocks: list[str]) -> Chart:
    """A picture's excitation fingerprint: s as a heat map, blocks (rows) by channels; the NaN
    padding of narrower blocks is left blank."""
    rows, cols = np.nonzero(~np.isnan(matrix))
    data = pd.DataFrame({"block": np.asarray(blocks, dtype=object)[rows], "channel": cols, "s": matrix[rows, cols]})
    spec = {
        "height": max(220, 24 * len(blocks) + 100),  # the whole chart, axis and title included
        "mark": {"type": "rect"},
        "encoding": {
            "x": {"field": "channel", "type": "ordinal", "title": _("channel"),
                  "axis": {"labelOverlap": "parity", "labelAngle": 0}},
            "y": {"field": "block", "type": "ordinal", "sort": list(blocks), "title": None, "axis": {"labelOverlap": False}},
            "color": {"field": "s", "type": "quantitative", "scale": {"scheme": "viridis", "domain": [0, 1]}},
            "tooltip": [{"field": "block", "title": _("block")}, {"field": "channel", "type": "quantitative",
                                                                   "title": _("channel")},
                        {"field": "s", "type": "quantitative", "format": ".3f"}],
        },
    }
    return Chart(spec, data)


def feature_map(u: np.ndarray, title: str = "") -> go.Figure:
    """One feature map u_c on a diverging scale centred at 0 (red positive, blue negative)."""
    lim = float(np.abs(u).max()) or 1.0
    fig = go.Figure(go.Heatmap(z=u, zmin=-lim, zmax=lim, colorscale="RdBu_r", colorbar={"title": {"text": "u"}},
                               hovertemplate="(%{y}, %{x}): %{z:.4f}<extra></extra>"))
    fig.update_xaxes(visible=False, constrain="domain")
    fig.update_yaxes(visible=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(title=label(title), height=340, margin={"t": 40, "b": 10, "l": 10, "r": 10}, plot_bgcolor="white")
    return fig


def vector_bars(values: np.ndarray, title: str, *, sort: bool = False, reference: np.ndarray | None = None,
                value_name: str = "value") -> Chart:
    """Bars of a per-channel vector (z or s), optionally sorted by value (the tooltip keeps each
    bar's channel), optionally with a reference line (a class mean)."""
    idx = np.argsort(-values, kind="stable") if sort else np.arange(len(values))
    at = np.arange(len(idx), dtype=float)
    data = pd.DataFrame({"left": at - 0.4, "right": at + 0.4, "centre": at, "channel": idx, "value": values[idx]})
    axis = _("channel (sorted by value)") if sort else _("channel")
    mean_name = _("class mean")
    names, colours = [value_name, mean_name], [PALETTE[0], MEAN_COLOUR]
    layers = [{"mark": {"type": "bar"},
               "encoding": {"x": _channels("left", len(idx), axis), "x2": {"field": "right"},
                            "y": {"field": "value", "type": "quantitative", "title": value_name}, "y2": {"datum": 0},
                            "color": _colour(value_name, names, colours, legend=reference is not None),
                            "tooltip": [{"field": "channel", "type": "quantitative", "title": _("channel")},
                                        {"field": "value", "type": "quantitative", "format": ".4f", "title": value_name}]}}]
    if reference is not None:
        data["reference"] = reference[idx]
        layers.append({"mark": {"type": "line"},
                       "encoding": {"x": _channels("centre", len(idx), axis), "y": {"field": "reference", "type": "quantitative"},
                                    "color": _colour(mean_name, names, colours)}})
    return Chart({"title": title, "height": 280, "layer": layers}, data)


def channel_maps(before: np.ndarray, after: np.ndarray, channels: list[int], s: np.ndarray) -> go.Figure:
    """u_c and s_c * u_c for chosen channels, on one colour scale centred at 0 (top row before,
    bottom after). One heatmap of the maps laid out as tiles with blank gaps, named by its axes'
    tick labels: a single trace draws in a fraction of the time of one subplot per map."""
    lim = float(max(np.abs(before).max(), np.abs(after).max(), 1e-12))
    n, (h, w) = len(channels), before.shape[1:]
    gap = max(1, w // 8)
    mosaic = np.full((2 * h + gap, n * (w + gap) - gap), np.nan, dtype=np.float32)
    where = np.full(mosaic.shape + (3,), -1, dtype=np.int16)  # channel, row, column of each pixel
    yy, xx = np.mgrid[0:h, 0:w]
    for i, c in enumerate(channels):
        for row, maps in ((0, before), (1, after)):
            top, left = row * (h + gap), i * (w + gap)
            mosaic[top : top + h, left : left + w] = maps[i]
            where[top : top + h, left : left + w] = np.stack([np.full_like(yy, c), yy, xx], axis=-1)
    fig = go.Figure(go.Heatmap(z=mosaic, zmin=-lim, zmax=lim, colorscale="RdBu_r", customdata=where, hoverongaps=False,
                               colorbar={"title": {"text": _("value")}},
                               hovertemplate=_("channel {channel}", channel="%{customdata[0]}")
                               + " (%{customdata[1]}, %{customdata[2]}): %{z:.3f}<extra></extra>"))
    fig.update_xaxes(side="top", tickvals=[i * (w + gap) + (w - 1) / 2 for i in range(n)], ticks="",
                     ticktext=[_("channel {channel}, s = {s:.2f}", channel=c, s=s[c]) for c in channels], showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(tickvals=[(h - 1) / 2, h + gap + (h - 1) / 2], ticktext=["u_c", "s_c · u_c"], ticks="", showgrid=False,
                     zeroline=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(height=400, margin={"t": 40, "b": 10, "l": 10, "r": 10}, plot_bgcolor="white")
    return fig




def fingerprint_static(matrix: np.ndarray, blocks: list[str], fmt: str = "png") -> bytes:
    """The excitation fingerprint as a static figure (matplotlib, no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 0.35 * len(blocks) + 1.2), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(np.ma.masked_invalid(matrix), aspect="auto", vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(blocks)), blocks)
    ax.set_xlabel(_("channel"))
    fig.colorbar(im, ax=ax, label="s")
    hangul_ready(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150)
    return buf.getvalue()

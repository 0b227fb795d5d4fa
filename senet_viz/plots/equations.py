"""The excitation of Eq. 3 drawn as a flow from z through the bottleneck to s."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..i18n import _


def excitation_flow(z: np.ndarray, w1: np.ndarray, a: np.ndarray, hidden: np.ndarray, w2: np.ndarray, b: np.ndarray,
                    s: np.ndarray, *, delta_name: str = "ReLU", gate_name: str = "Sigmoid", limit: int = 64) -> go.Figure:
    """Eq. 3 as data flowing left to right, with the live numbers: z -> W1 -> W1 z + b1 -> δ ->
    W2 -> W2 δ + b2 -> s = σ(·). Vectors are strips, weights heatmaps; values that can have either
    sign on a diverging scale centred at 0, s on a sequential one (cividis, readable with colour
    blindness). Beyond ``limit`` channels the first ``limit`` are drawn, and the titles say so."""
    c, h = len(z), len(a)
    k = min(c, limit)
    part = " " + _("(first {k} of {c})", k=k, c=c) if k < c else ""
    panels = [  # (name, heading, values as rows x columns, width share, sequential)
        (f"z{part}", "z", z[:k, None], 1, False),
        (f"W1 ({h}×{c})", f"W1 ({h}×{c})", w1[:, :k], max(4, min(k // 4, 16)), False),
        ("W1 z + b1", "a", a[:, None], 1, False),
        (f"δ = {delta_name}", "δ(a)", hidden[:, None], 1, False),
        (f"W2 ({c}×{h})", f"W2 ({c}×{h})", w2[:k, :], max(2, min(h // 4, 8)), False),
        ("W2 δ + b2", "b", b[:k, None], 1, False),
        (f"s = {gate_name}(·)", "s = σ(b)", s[:k, None], 1, True),
    ]
    gap = 0.025
    unit = (1 - gap * (len(panels) - 1)) / sum(p[3] for p in panels)
    fig, left = go.Figure(), 0.0
    for i, (title, heading, values, share, sequential) in enumerate(panels):
        suffix = "" if i == 0 else str(i + 1)
        right = min(1.0, left + share * unit)
        lim = float(np.abs(values).max()) or 1.0
        fig.add_trace(go.Heatmap(
            z=values, xaxis=f"x{suffix}", yaxis=f"y{suffix}", name=title,
            colorscale="Cividis" if sequential else "RdBu_r", zmin=0 if sequential else -lim, zmax=1 if sequential else lim,
            showscale=sequential, colorbar={"title": {"text": "s"}, "len": 0.9} if sequential else None,
            hovertemplate=title + ": " + _("row {row}, column {column}", row="%{y}", column="%{x}")
            + ": %{z:.4f}<extra></extra>"))
        fig.update_layout({f"xaxis{suffix}": {"domain": [round(left, 6), round(right, 6)], "anchor": f"y{suffix}", "visible": False},
                           f"yaxis{suffix}": {"anchor": f"x{suffix}", "autorange": "reversed", "visible": False}})
        fig.add_annotation(text=heading, x=(left + right) / 2, y=1.0, xref="paper", yref="paper", yanchor="bottom",
                           showarrow=False, font={"size": 12})
        if i:
            fig.add_annotation(text="→", x=left - gap / 2, y=0.5, xref="paper", yref="paper", showarrow=False, font={"size": 18})
        left = right + gap
    fig.update_layout(height=360, margin={"t": 40, "b": 10, "l": 10, "r": 10}, plot_bgcolor="white")
    if part:
        fig.update_layout(margin={"b": 30})
        fig.add_annotation(text=_("channels: the first {k} of {c}", k=k, c=c), x=0, y=-0.02, xref="paper", yref="paper",
                           yanchor="top", showarrow=False, font={"size": 11})
    return fig

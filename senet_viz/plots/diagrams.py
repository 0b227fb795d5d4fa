"""Diagrams of the SE block and of the SE-ResNet and SE-Inception modules."""

from __future__ import annotations

import plotly.graph_objects as go

from ..i18n import _


def se_block_diagram(channels: int | None = None, hidden: int | None = None) -> go.Figure:
    """The SE block drawn as the paper does: U -> squeeze -> excitation -> scale."""
    c = f"C={channels}" if channels else "C"
    h = f"h={hidden}" if hidden else "h = C/r"
    boxes = [
        (0.0, "X", _("input"), "#cfd8dc"), (1.3, "U", f"H×W×{c}<br>F_tr (conv)", "#90caf9"),
        (2.6, "z", f"1×1×{c}<br>" + _("F_sq: global avg pool (Eq. 2)"), "#ffe082"),
        (3.9, "s", f"FC {h} → ReLU<br>→ FC {c} → σ<br>F_ex (Eq. 3)", "#ffab91"),
        (5.2, "X̃", f"H×W×{c}<br>F_scale: s_c · u_c (Eq. 4)", "#a5d6a7"),
    ]
    fig = go.Figure()
    for x, label, text, colour in boxes:
        fig.add_shape(type="rect", x0=x, x1=x + 0.9, y0=0, y1=1, fillcolor=colour, line={"color": "#37474f"})
        fig.add_annotation(x=x + 0.45, y=0.62, text=f"<b>{label}</b>", showarrow=False, font={"size": 22})
        fig.add_annotation(x=x + 0.45, y=0.25, text=text, showarrow=False, font={"size": 11})
    for (x0, *_rest), (x1, *_more) in zip(boxes, boxes[1:]):
        fig.add_annotation(x=x1, y=0.5, ax=x0 + 0.9, ay=0.5, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=3, arrowwidth=2)
    fig.add_annotation(x=5.65, y=1.0, ax=1.75, ay=1.0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                       arrowhead=3, arrowwidth=1.5, arrowcolor="#1565c0")
    fig.add_annotation(x=3.7, y=1.12, text=_("U is rescaled channel by channel"), showarrow=False, font={"color": "#1565c0"})
    fig.update_xaxes(visible=False, range=[-0.1, 6.2])
    fig.update_yaxes(visible=False, range=[-0.1, 1.25])
    fig.update_layout(height=230, margin={"t": 10, "b": 10, "l": 10, "r": 10}, plot_bgcolor="white")
    return fig


def module_diagram(kind: str = "resnet") -> go.Figure:
    """The SE-ResNet module (SE on the residual branch, before the addition) or the SE-Inception module."""
    if kind == "resnet":
        steps = ["X", "residual", "pool", "FC (C/r)", "ReLU", "FC (C)", "Sigmoid", "scale", "identity", "X̃"]
    else:
        steps = ["X", "inception", "pool", "FC (C/r)", "ReLU", "FC (C)", "Sigmoid", "scale", "X̃"]
    words = {"residual": _("Residual (convs)"), "inception": _("Inception module"), "pool": _("Global pooling"),
             "scale": _("Scale"), "identity": "⊕ " + _("identity")}
    fig = go.Figure()
    for i, step in enumerate(steps):
        y = -i
        se_part = step in ("pool", "FC (C/r)", "ReLU", "FC (C)", "Sigmoid", "scale")
        fig.add_shape(type="rect", x0=0, x1=2, y0=y - 0.35, y1=y + 0.35, fillcolor="#ffe0b2" if se_part else "#e3f2fd",
                      line={"color": "#455a64"})
        fig.add_annotation(x=1, y=y, text=words.get(step, step), showarrow=False)
        if i:
            fig.add_annotation(x=1, y=y + 0.35, ax=1, ay=y + 0.65, xref="x", yref="y", axref="x", ayref="y", showarrow=True, arrowhead=2)
    # U itself reaches the scale, which multiplies it by s (Eq. 4): the path that skips the gate
    scale = steps.index("scale")
    fig.add_annotation(x=-0.05, y=-scale, ax=-0.05, ay=-1, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                       arrowhead=2, arrowcolor="#1565c0", arrowwidth=2, name="U to scale")
    fig.add_annotation(x=-0.35, y=-(scale + 1) / 2, text="U (H×W×C)", showarrow=False, font={"color": "#1565c0"}, textangle=-90)
    if kind == "resnet":
        fig.add_annotation(x=2.05, y=-8, ax=2.05, ay=0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=2, arrowcolor="#2e7d32", name="identity")
        fig.add_annotation(x=2.6, y=-4, text=_("identity"), showarrow=False, font={"color": "#2e7d32"}, textangle=-90)
    fig.update_xaxes(visible=False, range=[-0.6, 3])
    fig.update_yaxes(visible=False, range=[-len(steps) + 0.4, 0.6])
    fig.update_layout(title=_("SE-ResNet module") if kind == "resnet" else _("SE-Inception module"), height=520,
                      margin={"t": 40, "b": 10, "l": 10, "r": 10}, plot_bgcolor="white")
    return fig

"""Figure builders. Each returns a Plotly figure, a Vega-Lite ``Chart`` (the per-picture views a
click redraws), or for the static export the bytes of a matplotlib drawing, and never touches
Streamlit or pyplot's global state.
"""

from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .stats import ExcitationStats

# Okabe and Ito's colours (distinguishable with the common colour blindnesses), then two of Tol's.
PALETTE = ["#0072B2", "#D55E00", "#009E73", "#E69F00", "#CC79A7", "#56B4E9", "#F0E442", "#882255", "#999933", "#7F7F7F"]
MEAN_COLOUR = "#222222"


@dataclass(frozen=True)
class Chart:
    """A Vega-Lite chart: its spec without data, and the data as a table. Sent apart, a chart whose
    spec is unchanged from the last run only has its data replaced in the browser, where a Plotly
    figure is built anew (Streamlit keys a Plotly chart by its figure). Titles and labels are
    drawn as plain text: no markup in class or file names is interpreted."""

    spec: dict
    data: pd.DataFrame


# Vega-Lite legends: below the chart, untitled, names never cut short.
_LEGEND = {"orient": "bottom", "title": None, "labelLimit": 0}


def _colour(name: str, names: list[str], colours: list[str], legend: bool = True) -> dict:
    """A layer's colour: its name on a scale shared by the layers, which makes the legend."""
    return {"datum": name, "scale": {"domain": names, "range": colours}, "legend": _LEGEND if legend else None}


def _channels(field: str, n: int, title: str) -> dict:
    """The channel axis of a bar chart: channel k's bar spans k ± 0.4."""
    return {"field": field, "type": "quantitative", "title": title,
            "scale": {"domain": [-0.5, n - 0.5], "nice": False, "zero": False}, "axis": {"tickMinStep": 1}}


def label(text: str) -> str:
    """A class or file name for Plotly, which renders a subset of HTML in labels: made inert."""
    return html.escape(str(text), quote=False)


def _stage(name: str) -> tuple[int, int]:
    m = re.fullmatch(r"SE_(\d+)_(\d+)", name)
    return (int(m.group(1)), int(m.group(2))) if m else (0, 0)


def default_blocks(blocks: list[str]) -> list[str]:
    """The paper's choice: the last block of each stage, and every block of the last stage."""
    if not blocks:
        return []
    stages = [_stage(b)[0] for b in blocks]
    last_stage = max(stages)
    chosen = [b for b, s, nxt in zip(blocks, stages, stages[1:] + [None]) if s != nxt or s == last_stage]
    return chosen


def channel_subset(channels: int, mode: str = "all", n: int = 50) -> np.ndarray:
    """Channel indices: ``all``, the ``first`` n, or n ``sample``d at even spacing (the paper drew 50)."""
    if mode == "all" or n >= channels:
        return np.arange(channels)
    if mode == "first":
        return np.arange(n)
    if mode == "sample":
        return np.unique(np.linspace(0, channels - 1, n).round().astype(int))
    raise ValueError(f"channel subset is all, first or sample, not {mode!r}")


def _grid(n: int, cols: int = 3) -> tuple[int, int]:
    cols = min(cols, max(1, n))
    return (n + cols - 1) // cols, cols


def _class_lines(classes: list[str], show_mean: bool) -> tuple[dict, dict]:
    """Colour and dash of class lines: the palette by class, the mean over all classes dashed."""
    names, colours = list(classes), [PALETTE[j % len(PALETTE)] for j in range(len(classes))]
    dashes = [[1, 0]] * len(classes)
    if show_mean:
        names, colours, dashes = [*names, "all classes"], [*colours, MEAN_COLOUR], [*dashes, [6, 4]]
    colour = {"field": "class", "type": "nominal", "scale": {"domain": names, "range": colours}, "legend": _LEGEND}
    dash = {"field": "class", "type": "nominal", "legend": None, "scale": {"domain": names, "range": dashes}}
    return colour, dash


def excitation_figure(
    stats: ExcitationStats,
    blocks: list[str] | None = None,
    classes: list[str] | None = None,
    *,
    subset: str = "all",
    n: int = 50,
    show_mean: bool = True,
) -> Chart:
    """The paper's excitation figure: class-mean s per channel index, one panel per block."""
    blocks = blocks or default_blocks(stats.blocks)
    classes = classes if classes is not None else stats.class_names[:4]
    parts = []
    for b in blocks:
        mean = stats.excitation_mean(b)
        idx = channel_subset(mean.shape[1], subset, n)
        lines = [(cls, mean[stats.class_names.index(cls), idx]) for cls in classes]
        if show_mean:
            lines.append(("all classes", stats.overall_mean(b)[idx]))
        for cls, values in lines:
            parts.append(pd.DataFrame({"block": b, "class": cls, "index": np.arange(len(idx)), "channel": idx, "s": values}))
    data = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["block", "class", "index", "channel", "s"])
    colour, dash = _class_lines(classes, show_mean)
    cols = min(3, max(1, len(blocks)))
    spec = {
        "facet": {"field": "block", "type": "ordinal", "sort": list(blocks), "title": None, "header": {"labelFontSize": 13}},
        "columns": cols,
        "spec": {
            "width": 1000 // cols - 70, "height": 230,
            "mark": {"type": "line", "strokeWidth": 1.5},
            "encoding": {
                "x": {"field": "index", "type": "quantitative", "title": "channel index", "scale": {"nice": False}},
                "y": {"field": "s", "type": "quantitative", "title": "activation", "scale": {"domain": [0, 1]}},
                "color": colour, "strokeDash": dash,
                "tooltip": [{"field": "class"}, {"field": "block"}, {"field": "channel", "type": "quantitative"},
                            {"field": "s", "type": "quantitative", "format": ".3f"}],
            },
        },
        "resolve": {"scale": {"x": "independent"}},  # each block its own channels
    }
    return Chart(spec, data)


def class_band(stats: ExcitationStats, block: str, cls: str, *, subset: str = "all", n: int = 50) -> Chart:
    """Mean and one standard deviation of s over the pictures of one class."""
    k = stats.class_names.index(cls)
    mean, std = stats.excitation_mean(block)[k], stats.excitation_std(block)[k]
    idx = channel_subset(len(mean), subset, n)
    data = pd.DataFrame({"index": np.arange(len(idx)), "channel": idx, "mean": mean[idx], "low": mean[idx] - std[idx],
                         "high": mean[idx] + std[idx]})
    names, colours = [f"{cls} mean", "± 1 std"], [PALETTE[0], "#9ecae1"]
    x = {"field": "index", "type": "quantitative", "title": "channel index"}
    layers = [
        {"mark": {"type": "area", "opacity": 0.6},
         "encoding": {"x": x, "y": {"field": "low", "type": "quantitative", "title": "activation", "scale": {"domain": [0, 1]}},
                      "y2": {"field": "high"}, "color": _colour("± 1 std", names, colours)}},
        {"mark": {"type": "line"},
         "encoding": {"x": x, "y": {"field": "mean", "type": "quantitative", "title": "activation"},
                      "color": _colour(f"{cls} mean", names, colours),
                      "tooltip": [{"field": "channel", "type": "quantitative"}, {"field": "mean", "type": "quantitative", "format": ".3f", "title": "s"}]}},
    ]
    return Chart({"title": f"{block}: {cls} ({int(stats.count[k])} pictures)", "height": 340, "layer": layers}, data)


def depth_profile(stats: ExcitationStats) -> go.Figure:
    """By depth, one point per block: class-specificity and saturation (top), and the spread of s
    between and within classes in units of s (bottom), which says whether s moves at all."""
    rows = stats.summary()
    names = [r["block"] for r in rows]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, specs=[[{"secondary_y": True}], [{}]])
    fig.add_trace(go.Scatter(x=names, y=[r["specificity"] for r in rows], name="class-specificity", mode="lines+markers"),
                  row=1, col=1, secondary_y=False)
    fig.add_trace(go.Scatter(x=names, y=[r["saturated_high"] for r in rows], name="share s > 0.9", mode="lines+markers",
                             line={"dash": "dot"}), row=1, col=1, secondary_y=True)
    fig.add_trace(go.Scatter(x=names, y=[r["saturated_low"] for r in rows], name="share s < 0.1", mode="lines+markers",
                             line={"dash": "dash"}), row=1, col=1, secondary_y=True)
    fig.add_trace(go.Bar(x=names, y=[r["between_std"] for r in rows], name="std between class means"), row=2, col=1)
    fig.add_trace(go.Bar(x=names, y=[r["within_std"] for r in rows], name="std within a class"), row=2, col=1)
    fig.update_yaxes(title_text="between / within variance", row=1, col=1, secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text="share", row=1, col=1, secondary_y=True, range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title_text="std of s", row=2, col=1, rangemode="tozero")
    fig.update_layout(height=560, margin={"t": 30, "b": 40}, legend={"orientation": "h", "y": -0.12}, barmode="group")
    return fig


def similarity_heatmap(stats: ExcitationStats, block: str) -> Chart:
    """Correlation between the classes' mean excitation vectors, class by class."""
    sim = stats.similarity(block)
    names = list(stats.class_names)
    rows, cols = np.indices(sim.shape)
    data = pd.DataFrame({"row": np.asarray(names, dtype=object)[rows.ravel()], "column": np.asarray(names, dtype=object)[cols.ravel()],
                         "r": sim.ravel()})
    axis = {"type": "ordinal", "sort": names, "title": None, "axis": {"labelOverlap": "parity"}}
    spec = {"title": f"{block}: correlation of class-mean excitation", "height": 460, "mark": {"type": "rect"},
            "encoding": {"x": {"field": "column", **axis}, "y": {"field": "row", **axis},
                         "color": {"field": "r", "type": "quantitative", "scale": {"scheme": "redblue", "domain": [-1, 1], "reverse": True}},
                         "tooltip": [{"field": "row", "title": "class"}, {"field": "column", "title": "against"},
                                     {"field": "r", "type": "quantitative", "format": ".3f"}]}}
    return Chart(spec, data)


def distribution(stats: ExcitationStats, block: str, classes: list[str] | None = None) -> Chart:
    """The distribution of s per class, over all pictures and channels (normalised histograms)."""
    classes = classes if classes is not None else stats.class_names[:4]
    edges = np.linspace(0, 1, stats.bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    hists = [(cls, stats.hist[block][stats.class_names.index(cls)]) for cls in classes] + [("all classes", stats.hist[block].sum(0))]
    data = pd.concat([pd.DataFrame({"class": cls, "s": centres, "share": h.astype(float) / max(1.0, float(h.sum()))})
                      for cls, h in hists], ignore_index=True)
    colour, dash = _class_lines(classes, True)
    spec = {"title": f"{block}: distribution of s", "height": 340, "mark": {"type": "line", "interpolate": "step"},
            "encoding": {"x": {"field": "s", "type": "quantitative", "scale": {"domain": [0, 1]}},
                         "y": {"field": "share", "type": "quantitative"}, "color": colour, "strokeDash": dash,
                         "tooltip": [{"field": "class"}, {"field": "s", "type": "quantitative", "format": ".3f"},
                                     {"field": "share", "type": "quantitative", "format": ".1%"}]}}
    return Chart(spec, data)


def fingerprint(matrix: np.ndarray, blocks: list[str]) -> Chart:
    """A picture's excitation fingerprint: s as a heat map, blocks (rows) by channels; the NaN
    padding of narrower blocks is left blank."""
    rows, cols = np.nonzero(~np.isnan(matrix))
    data = pd.DataFrame({"block": np.asarray(blocks, dtype=object)[rows], "channel": cols, "s": matrix[rows, cols]})
    spec = {
        "height": max(220, 24 * len(blocks) + 100),  # the whole chart, axis and title included
        "mark": {"type": "rect"},
        "encoding": {
            "x": {"field": "channel", "type": "ordinal", "axis": {"labelOverlap": "parity", "labelAngle": 0}},
            "y": {"field": "block", "type": "ordinal", "sort": list(blocks), "title": None, "axis": {"labelOverlap": False}},
            "color": {"field": "s", "type": "quantitative", "scale": {"scheme": "viridis", "domain": [0, 1]}},
            "tooltip": [{"field": "block"}, {"field": "channel", "type": "quantitative"},
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
    axis = "channel (sorted by value)" if sort else "channel"
    names, colours = [value_name, "class mean"], [PALETTE[0], MEAN_COLOUR]
    layers = [{"mark": {"type": "bar"},
               "encoding": {"x": _channels("left", len(idx), axis), "x2": {"field": "right"},
                            "y": {"field": "value", "type": "quantitative", "title": value_name}, "y2": {"datum": 0},
                            "color": _colour(value_name, names, colours, legend=reference is not None),
                            "tooltip": [{"field": "channel", "type": "quantitative"},
                                        {"field": "value", "type": "quantitative", "format": ".4f", "title": value_name}]}}]
    if reference is not None:
        data["reference"] = reference[idx]
        layers.append({"mark": {"type": "line"},
                       "encoding": {"x": _channels("centre", len(idx), axis), "y": {"field": "reference", "type": "quantitative"},
                                    "color": _colour("class mean", names, colours)}})
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
                               colorbar={"title": {"text": "value"}},
                               hovertemplate="channel %{customdata[0]} (%{customdata[1]}, %{customdata[2]}): %{z:.3f}<extra></extra>"))
    fig.update_xaxes(side="top", tickvals=[i * (w + gap) + (w - 1) / 2 for i in range(n)], ticks="",
                     ticktext=[f"channel {c}, s = {s[c]:.2f}" for c in channels], showgrid=False, zeroline=False, constrain="domain")
    fig.update_yaxes(tickvals=[(h - 1) / 2, h + gap + (h - 1) / 2], ticktext=["u_c", "s_c · u_c"], ticks="", showgrid=False,
                     zeroline=False, autorange="reversed", scaleanchor="x")
    fig.update_layout(height=400, margin={"t": 40, "b": 10, "l": 10, "r": 10}, plot_bgcolor="white")
    return fig


def se_block_diagram(channels: int | None = None, hidden: int | None = None) -> go.Figure:
    """The SE block drawn as the paper does: U -> squeeze -> excitation -> scale."""
    c = f"C={channels}" if channels else "C"
    h = f"h={hidden}" if hidden else "h = C/r"
    boxes = [
        (0.0, "X", "input", "#cfd8dc"), (1.3, "U", f"H×W×{c}<br>F_tr (conv)", "#90caf9"),
        (2.6, "z", f"1×1×{c}<br>F_sq: global avg pool (Eq. 2)", "#ffe082"),
        (3.9, "s", f"FC {h} → ReLU<br>→ FC {c} → σ<br>F_ex (Eq. 3)", "#ffab91"),
        (5.2, "X̃", f"H×W×{c}<br>F_scale: s_c · u_c (Eq. 4)", "#a5d6a7"),
    ]
    fig = go.Figure()
    for x, label, text, colour in boxes:
        fig.add_shape(type="rect", x0=x, x1=x + 0.9, y0=0, y1=1, fillcolor=colour, line={"color": "#37474f"})
        fig.add_annotation(x=x + 0.45, y=0.62, text=f"<b>{label}</b>", showarrow=False, font={"size": 22})
        fig.add_annotation(x=x + 0.45, y=0.25, text=text, showarrow=False, font={"size": 11})
    for (x0, *_), (x1, *_) in zip(boxes, boxes[1:]):
        fig.add_annotation(x=x1, y=0.5, ax=x0 + 0.9, ay=0.5, xref="x", yref="y", axref="x", ayref="y",
                           showarrow=True, arrowhead=3, arrowwidth=2)
    fig.add_annotation(x=5.65, y=1.0, ax=1.75, ay=1.0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                       arrowhead=3, arrowwidth=1.5, arrowcolor="#1565c0")
    fig.add_annotation(x=3.7, y=1.12, text="U is rescaled channel by channel", showarrow=False, font={"color": "#1565c0"})
    fig.update_xaxes(visible=False, range=[-0.1, 6.2])
    fig.update_yaxes(visible=False, range=[-0.1, 1.25])
    fig.update_layout(height=230, margin={"t": 10, "b": 10, "l": 10, "r": 10}, plot_bgcolor="white")
    return fig


def module_diagram(kind: str = "resnet") -> go.Figure:
    """The SE-ResNet module (SE on the residual branch, before the addition) or the SE-Inception module."""
    if kind == "resnet":
        steps = ["X", "Residual (convs)", "Global pooling", "FC (C/r)", "ReLU", "FC (C)", "Sigmoid", "Scale", "⊕ identity", "X̃"]
    else:
        steps = ["X", "Inception module", "Global pooling", "FC (C/r)", "ReLU", "FC (C)", "Sigmoid", "Scale", "X̃"]
    fig = go.Figure()
    for i, text in enumerate(steps):
        y = -i
        se_part = text in ("Global pooling", "FC (C/r)", "ReLU", "FC (C)", "Sigmoid", "Scale")
        fig.add_shape(type="rect", x0=0, x1=2, y0=y - 0.35, y1=y + 0.35, fillcolor="#ffe0b2" if se_part else "#e3f2fd",
                      line={"color": "#455a64"})
        fig.add_annotation(x=1, y=y, text=text, showarrow=False)
        if i:
            fig.add_annotation(x=1, y=y + 0.35, ax=1, ay=y + 0.65, xref="x", yref="y", axref="x", ayref="y", showarrow=True, arrowhead=2)
    # U itself reaches the scale, which multiplies it by s (Eq. 4): the path that skips the gate
    scale = steps.index("Scale")
    fig.add_annotation(x=-0.05, y=-scale, ax=-0.05, ay=-1, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                       arrowhead=2, arrowcolor="#1565c0", arrowwidth=2, name="U to scale")
    fig.add_annotation(x=-0.35, y=-(scale + 1) / 2, text="U (H×W×C)", showarrow=False, font={"color": "#1565c0"}, textangle=-90)
    if kind == "resnet":
        fig.add_annotation(x=2.05, y=-8, ax=2.05, ay=0, xref="x", yref="y", axref="x", ayref="y", showarrow=True,
                           arrowhead=2, arrowcolor="#2e7d32", name="identity")
        fig.add_annotation(x=2.6, y=-4, text="identity", showarrow=False, font={"color": "#2e7d32"}, textangle=-90)
    fig.update_xaxes(visible=False, range=[-0.6, 3])
    fig.update_yaxes(visible=False, range=[-len(steps) + 0.4, 0.6])
    fig.update_layout(title="SE-ResNet module" if kind == "resnet" else "SE-Inception module", height=520,
                      margin={"t": 40, "b": 10, "l": 10, "r": 10}, plot_bgcolor="white")
    return fig


def excitation_static(
    stats: ExcitationStats, blocks: list[str] | None = None, classes: list[str] | None = None, *,
    subset: str = "sample", n: int = 50, fmt: str = "png",
) -> bytes:
    """The paper-style excitation figure as PNG, SVG or PDF bytes (matplotlib, no pyplot state)."""
    if fmt not in ("png", "svg", "pdf"):
        raise ValueError(f"format is png, svg or pdf, not {fmt!r}")
    buf = io.BytesIO()
    excitation_matplotlib(stats, blocks, classes, subset=subset, n=n).savefig(buf, format=fmt, dpi=150)
    return buf.getvalue()


def excitation_matplotlib(
    stats: ExcitationStats, blocks: list[str] | None = None, classes: list[str] | None = None, *,
    subset: str = "sample", n: int = 50,
):
    """The paper-style excitation figure as a matplotlib ``Figure`` (no pyplot state): class-mean
    s per channel index, one panel per block, the all-class mean dashed. A notebook shows it as
    it is; ``savefig`` writes it."""
    from matplotlib.figure import Figure

    blocks = blocks or default_blocks(stats.blocks)
    classes = classes if classes is not None else stats.class_names[:4]
    rows, cols = _grid(len(blocks))
    fig = Figure(figsize=(4.2 * cols, 2.9 * rows), layout="constrained")
    axes = fig.subplots(rows, cols, squeeze=False)
    for ax in axes.flat[len(blocks):]:
        ax.set_visible(False)
    for ax, b in zip(axes.flat, blocks):
        mean = stats.excitation_mean(b)
        idx = channel_subset(mean.shape[1], subset, n)
        for j, cls in enumerate(classes):
            ax.plot(mean[stats.class_names.index(cls), idx], color=PALETTE[j % len(PALETTE)], lw=1.2,
                    label=str(cls).replace("$", r"\$"))  # no mathtext from a folder name
        ax.plot(stats.overall_mean(b)[idx], color=MEAN_COLOUR, lw=1.6, ls="--", label="all")
        ax.set_title(b)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("channel index")
        ax.set_ylabel("activation")
    axes.flat[0].legend(fontsize=7, loc="lower left")
    return fig


def fingerprint_static(matrix: np.ndarray, blocks: list[str], fmt: str = "png") -> bytes:
    """The excitation fingerprint as a static figure (matplotlib, no pyplot state)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 0.35 * len(blocks) + 1.2), layout="constrained")
    ax = fig.subplots()
    im = ax.imshow(np.ma.masked_invalid(matrix), aspect="auto", vmin=0, vmax=1, cmap="viridis", interpolation="nearest")
    ax.set_yticks(range(len(blocks)), blocks)
    ax.set_xlabel("channel")
    fig.colorbar(im, ax=ax, label="s")
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150)
    return buf.getvalue()


def divergence_chart(names: list[str], line: list[float], bars: list[float], title: str = "", *,
                     bar_name: str = "mean |s_a − s_b|", line_name: str = "1 − cosine(s_a, s_b)") -> go.Figure:
    """Per block, how far two excitations lie apart: bars (mean |s_a - s_b|) and a line on its own
    axis (1 - cosine, or another per-block figure named by ``line_name``)."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=names, y=bars, name=bar_name, marker_color=PALETTE[0]), secondary_y=False)
    fig.add_trace(go.Scatter(x=names, y=line, name=line_name, mode="lines+markers",
                             line={"color": PALETTE[1]}), secondary_y=True)
    fig.update_yaxes(title_text=bar_name, secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text=line_name, secondary_y=True, rangemode="tozero")
    fig.update_layout(title=label(title), height=340, margin={"t": 50, "b": 40}, xaxis_title="SE block (input → output)",
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
    fig.add_trace(go.Scatter(x=marked, y=[max(sa[c], sb[c]) for c in marked], mode="markers+text", name="most different",
                             text=[str(c) for c in marked], textposition="top center",
                             marker={"symbol": "triangle-down", "size": 10, "color": "#424242"}))
    fig.update_layout(title=label(title), height=340, xaxis_title="channel", yaxis_title="s", margin={"t": 50, "b": 40},
                      legend={"orientation": "h", "y": -0.25})
    return fig


def band_bars(s: np.ndarray, mean: np.ndarray, std: np.ndarray, title: str = "", name: str = "this picture") -> Chart:
    """s of one picture over the channels, beside a class mean with its within-class ±1 std band."""
    at, n = np.arange(len(s), dtype=float), len(s)
    data = pd.DataFrame({"left": at - 0.4, "right": at + 0.4, "centre": at, "channel": at.astype(int), "s": s,
                         "mean": mean, "low": mean - std, "high": mean + std})
    names, colours = [name, "class mean", "class mean ± std (within class)"], [PALETTE[0], MEAN_COLOUR, "#bdbdbd"]
    layers = [
        {"mark": {"type": "area", "opacity": 0.6},
         "encoding": {"x": _channels("centre", n, "channel"), "y": {"field": "low", "type": "quantitative", "title": "s"},
                      "y2": {"field": "high"}, "color": _colour(names[2], names, colours)}},
        {"mark": {"type": "bar", "opacity": 0.75},
         "encoding": {"x": _channels("left", n, "channel"), "x2": {"field": "right"},
                      "y": {"field": "s", "type": "quantitative", "title": "s"}, "y2": {"datum": 0}, "color": _colour(name, names, colours),
                      "tooltip": [{"field": "channel", "type": "quantitative"}, {"field": "s", "type": "quantitative", "format": ".4f"},
                                  {"field": "mean", "type": "quantitative", "format": ".4f", "title": "class mean"}]}},
        {"mark": {"type": "line"},
         "encoding": {"x": _channels("centre", n, "channel"), "y": {"field": "mean", "type": "quantitative", "title": "s"},
                      "color": _colour("class mean", names, colours)}},
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
    top.set_xlabel("SE block")
    bottom.plot(sa, "-o", ms=2, color=PALETTE[0], label=labels[0])
    bottom.plot(sb, "-o", ms=2, color=PALETTE[3], label=labels[1])
    for c in marked:
        bottom.axvline(c, color="#9e9e9e", ls=":")
    bottom.set_xlabel(f"channel of {block}")
    bottom.set_ylabel("s")
    bottom.legend()
    fig.suptitle(title)
    buf = io.BytesIO()
    fig.savefig(buf, format=fmt, dpi=150)
    return buf.getvalue()



def excitation_flow(z: np.ndarray, w1: np.ndarray, a: np.ndarray, hidden: np.ndarray, w2: np.ndarray, b: np.ndarray,
                    s: np.ndarray, *, delta_name: str = "ReLU", gate_name: str = "Sigmoid", limit: int = 64) -> go.Figure:
    """Eq. 3 as data flowing left to right, with the live numbers: z -> W1 -> W1 z + b1 -> δ ->
    W2 -> W2 δ + b2 -> s = σ(·). Vectors are strips, weights heatmaps; values that can have either
    sign on a diverging scale centred at 0, s on a sequential one (cividis, readable with colour
    blindness). Beyond ``limit`` channels the first ``limit`` are drawn, and the titles say so."""
    c, h = len(z), len(a)
    k = min(c, limit)
    part = f" (first {k} of {c})" if k < c else ""
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
            hovertemplate=f"{title}: row %{{y}}, column %{{x}}: %{{z:.4f}}<extra></extra>"))
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
        fig.add_annotation(text=f"channels: the first {k} of {c}", x=0, y=-0.02, xref="paper", yref="paper",
                           yanchor="top", showarrow=False, font={"size": 11})
    return fig


def training_health(table: pd.DataFrame, title: str = "SE health over training") -> Chart:
    """Per block, epoch by epoch: the std of s over the probe pictures (top) and the live hidden
    units (bottom); ``history.health_table``'s layout."""
    blocks = list(dict.fromkeys(table["block"]))
    colour = {"field": "block", "type": "nominal", "sort": blocks,
              "scale": {"range": PALETTE}, "legend": _LEGEND}
    tooltip = [{"field": "block"}, {"field": "epoch", "type": "quantitative"},
               {"field": "s_std", "type": "quantitative", "format": ".3f", "title": "std of s"},
               {"field": "live", "type": "quantitative", "title": "live units"}]
    x = {"field": "epoch", "type": "quantitative", "title": "epoch"}
    spec = {"title": title, "vconcat": [
        {"height": 220, "width": "container", "mark": {"type": "line", "strokeWidth": 1.5},
         "encoding": {"x": x, "y": {"field": "s_std", "type": "quantitative", "title": "std of s"},
                      "color": colour, "tooltip": tooltip}},
        {"height": 120, "width": "container", "mark": {"type": "line", "strokeWidth": 1.5, "interpolate": "step-after"},
         "encoding": {"x": x, "y": {"field": "live", "type": "quantitative", "title": "live hidden units"},
                      "color": colour, "tooltip": tooltip}},
    ]}
    return Chart(spec, table)


def training_loss(table: pd.DataFrame, title: str = "Training loss, with SE and without") -> Chart:
    """The training loss of each model epoch by epoch (``history.loss_table``'s layout)."""
    models = list(dict.fromkeys(table["model"]))
    spec = {"title": title, "height": 300, "mark": {"type": "line", "strokeWidth": 1.5},
            "encoding": {"x": {"field": "epoch", "type": "quantitative"},
                         "y": {"field": "loss", "type": "quantitative", "title": "training loss", "scale": {"zero": False}},
                         "color": {"field": "model", "type": "nominal", "sort": models,
                                   "scale": {"domain": models, "range": [PALETTE[0], PALETTE[3]]}, "legend": _LEGEND},
                         "tooltip": [{"field": "model"}, {"field": "epoch", "type": "quantitative"},
                                     {"field": "loss", "type": "quantitative", "format": ".4f"}]}}
    return Chart(spec, table)

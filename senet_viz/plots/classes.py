"""Class statistics: the paper's excitation figure and its companions (bands, depth, similarity, distribution), with its static export."""

from __future__ import annotations

import io

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..i18n import _
from ..stats import ExcitationStats
from .base import (
    MEAN_COLOUR,
    PALETTE,
    Chart,
    _class_lines,
    _colour,
    _grid,
    channel_subset,
    default_blocks,
    hangul_ready,
)


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
            lines.append((_("all classes"), stats.overall_mean(b)[idx]))
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
                "x": {"field": "index", "type": "quantitative", "title": _("channel index"), "scale": {"nice": False}},
                "y": {"field": "s", "type": "quantitative", "title": _("activation"), "scale": {"domain": [0, 1]}},
                "color": colour, "strokeDash": dash,
                "tooltip": [{"field": "class", "title": _("class")}, {"field": "block", "title": _("block")},
                            {"field": "channel", "type": "quantitative", "title": _("channel")},
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
    mean_name = _("{cls} mean", cls=cls)
    names, colours = [mean_name, "± 1 std"], [PALETTE[0], "#9ecae1"]
    x = {"field": "index", "type": "quantitative", "title": _("channel index")}
    layers = [
        {"mark": {"type": "area", "opacity": 0.6},
         "encoding": {"x": x, "y": {"field": "low", "type": "quantitative", "title": _("activation"),
                                    "scale": {"domain": [0, 1]}},
                      "y2": {"field": "high"}, "color": _colour("± 1 std", names, colours)}},
        {"mark": {"type": "line"},
         "encoding": {"x": x, "y": {"field": "mean", "type": "quantitative", "title": _("activation")},
                      "color": _colour(mean_name, names, colours),
                      "tooltip": [{"field": "channel", "type": "quantitative", "title": _("channel")},
                                  {"field": "mean", "type": "quantitative", "format": ".3f", "title": "s"}]}},
    ]
    return Chart({"title": _("{block}: {cls} ({n} pictures)", block=block, cls=cls, n=int(stats.count[k])), "height": 340,
                  "layer": layers}, data)


def depth_profile(stats: ExcitationStats) -> go.Figure:
    """By depth, one point per block: class-specificity and saturation (top), and the spread of s
    between and within classes in units of s (bottom), which says whether s moves at all."""
    rows = stats.summary()
    names = [r["block"] for r in rows]
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, specs=[[{"secondary_y": True}], [{}]])
    fig.add_trace(go.Scatter(x=names, y=[r["specificity"] for r in rows], name=_("class-specificity"),
                             mode="lines+markers"), row=1, col=1, secondary_y=False)
    fig.add_trace(go.Scatter(x=names, y=[r["saturated_high"] for r in rows], name=_("share s > 0.9"), mode="lines+markers",
                             line={"dash": "dot"}), row=1, col=1, secondary_y=True)
    fig.add_trace(go.Scatter(x=names, y=[r["saturated_low"] for r in rows], name=_("share s < 0.1"), mode="lines+markers",
                             line={"dash": "dash"}), row=1, col=1, secondary_y=True)
    fig.add_trace(go.Bar(x=names, y=[r["between_std"] for r in rows], name=_("std between class means")), row=2, col=1)
    fig.add_trace(go.Bar(x=names, y=[r["within_std"] for r in rows], name=_("std within a class")), row=2, col=1)
    fig.update_yaxes(title_text=_("between / within variance"), row=1, col=1, secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text=_("share"), row=1, col=1, secondary_y=True, range=[0, 1], tickformat=".0%")
    fig.update_yaxes(title_text=_("std of s"), row=2, col=1, rangemode="tozero")
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
    spec = {"title": _("{block}: correlation of class-mean excitation", block=block), "height": 460, "mark": {"type": "rect"},
            "encoding": {"x": {"field": "column", **axis}, "y": {"field": "row", **axis},
                         "color": {"field": "r", "type": "quantitative", "scale": {"scheme": "redblue", "domain": [-1, 1], "reverse": True}},
                         "tooltip": [{"field": "row", "title": _("class")}, {"field": "column", "title": _("against")},
                                     {"field": "r", "type": "quantitative", "format": ".3f"}]}}
    return Chart(spec, data)


def distribution(stats: ExcitationStats, block: str, classes: list[str] | None = None) -> Chart:
    """The distribution of s per class, over all pictures and channels (normalised histograms)."""
    classes = classes if classes is not None else stats.class_names[:4]
    edges = np.linspace(0, 1, stats.bins + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    hists = ([(cls, stats.hist[block][stats.class_names.index(cls)]) for cls in classes]
             + [(_("all classes"), stats.hist[block].sum(0))])
    data = pd.concat([pd.DataFrame({"class": cls, "s": centres, "share": h.astype(float) / max(1.0, float(h.sum()))})
                      for cls, h in hists], ignore_index=True)
    colour, dash = _class_lines(classes, True)
    spec = {"title": _("{block}: distribution of s", block=block), "height": 340,
            "mark": {"type": "line", "interpolate": "step"},
            "encoding": {"x": {"field": "s", "type": "quantitative", "scale": {"domain": [0, 1]}},
                         "y": {"field": "share", "type": "quantitative", "title": _("share")}, "color": colour,
                         "strokeDash": dash,
                         "tooltip": [{"field": "class", "title": _("class")}, {"field": "s", "type": "quantitative", "format": ".3f"},
                                     {"field": "share", "type": "quantitative", "format": ".1%", "title": _("share")}]}}
    return Chart(spec, data)




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
        ax.plot(stats.overall_mean(b)[idx], color=MEAN_COLOUR, lw=1.6, ls="--", label=_("all"))
        ax.set_title(b)
        ax.set_ylim(0, 1.02)
        ax.set_xlabel(_("channel index"))
        ax.set_ylabel(_("activation"))
    axes.flat[0].legend(fontsize=7, loc="lower left")
    return hangul_ready(fig)

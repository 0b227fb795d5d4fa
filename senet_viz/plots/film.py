"""Figures of a training film (``senet_viz.film``): the excitation figure of one block played over
the epochs (Plotly frames with their own slider and play button, so playing costs the server
nothing), and each stage's class-specificity over the epochs."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..film import Film, first_crossing, stage_specificity_over_epochs
from ..i18n import _
from .base import MEAN_COLOUR, PALETTE, label


def frame_label(film: Film, epoch: int, bare: bool = False) -> str:
    """"epoch 60 (checkpoint)", or with ``bare`` "60 (checkpoint)" (beside a label that says epoch)."""
    where = {"final": _("(shipped, averaged)"), "checkpoint": _("(checkpoint)")}.get(film.sources[epoch])
    text = str(epoch) if bare else _("epoch {epoch}", epoch=epoch)
    return f"{text} {where}" if where else text


def _lines(film: Film, epoch: int, block: str, classes: list[str]) -> list[np.ndarray]:
    stats = film.stats(epoch)
    mean = stats.excitation_mean(block)
    return [mean[film.class_names.index(c)] for c in classes] + [stats.overall_mean(block)]


def film_figure(film: Film, block: str, classes: list[str], epoch: int) -> go.Figure:
    """Class-mean s per channel of ``block`` at every epoch of the film, starting at ``epoch``;
    the slider and play button move through the epochs in the browser."""
    every = _("all classes")
    names = [label(c) for c in classes] + [every]
    colours = [PALETTE[j % len(PALETTE)] for j in range(len(classes))] + [MEAN_COLOUR]
    x = np.arange(len(_lines(film, epoch, block, classes)[0]))

    def traces(e: int) -> list[go.Scatter]:
        return [go.Scatter(x=x, y=values, mode="lines", name=n, line={"color": c, "width": 2.2 if n == every else 1.5,
                                                                     "dash": "dash" if n == every else "solid"},
                           hovertemplate=f"{n}<br>" + _("channel {channel}", channel="%{x}")
                           + "<br>s = %{y:.3f}<extra></extra>")
                for values, n, c in zip(_lines(film, e, block, classes), names, colours)]

    frames = [go.Frame(data=traces(e), name=str(e), layout={"title": {"text": f"{block}, {frame_label(film, e)}"}})
              for e in film.epochs]
    steps = [{"method": "animate", "label": str(e), "args": [[str(e)], {"mode": "immediate", "frame": {"duration": 0, "redraw": True},
                                                                         "transition": {"duration": 0}}]}
             for e in film.epochs]
    fig = go.Figure(data=traces(epoch), frames=frames)
    fig.update_layout(
        title=f"{block}, {frame_label(film, epoch)}", height=430, plot_bgcolor="white",
        margin={"t": 50, "b": 10, "l": 10, "r": 10}, xaxis_title=_("channel index"),
        yaxis={"title": _("activation s"), "range": [0, 1.02]},
        updatemenus=[{"type": "buttons", "direction": "down", "x": 0, "y": -0.2, "xanchor": "left", "yanchor": "top",
                      "showactive": False, "pad": {"t": 0, "r": 10},
                      "buttons": [
                          {"label": "▶ " + _("Play"), "method": "animate",
                           "args": [None, {"frame": {"duration": 350, "redraw": True}, "fromcurrent": True,
                                           "transition": {"duration": 0}}]},
                          {"label": "❚❚ " + _("Pause"), "method": "animate",
                           "args": [[None], {"mode": "immediate", "frame": {"duration": 0}, "transition": {"duration": 0}}]}]}],
        sliders=[{"active": film.epochs.index(epoch), "steps": steps, "x": 0.2, "len": 0.8, "y": -0.2,
                  "currentvalue": {"prefix": _("epoch") + " ", "xanchor": "right"}, "pad": {"t": 10}}],
    )
    return fig


def specificity_figure(film: Film, epoch: int | None = None) -> go.Figure:
    """Each stage's class-specificity (between/within variance) over the epochs, the level 1
    marked, and the epoch from which the last stage stays above it."""
    spec = stage_specificity_over_epochs(film)
    epochs = film.epochs
    fig = go.Figure()
    for j, (stage, values) in enumerate(sorted(spec.items())):
        name = _("stage {stage}", stage=stage)
        fig.add_trace(go.Scatter(x=epochs, y=values, mode="lines+markers", name=name,
                                 line={"color": PALETTE[j % len(PALETTE)]}, marker={"size": 4},
                                 hovertemplate=f"{name}<br>" + _("epoch {epoch}", epoch="%{x}")
                                 + "<br>" + _("between/within") + " %{y:.2f}<extra></extra>"))
    fig.add_hline(y=1, line={"color": "#555", "dash": "dot", "width": 1}, annotation_text=_("between = within"),
                  annotation_position="bottom right")
    last = max(spec) if spec else None
    crossed = first_crossing(epochs, spec[last]) if last is not None else None
    if crossed is not None:
        fig.add_vline(x=crossed, line={"color": PALETTE[len(spec) - 1], "dash": "dash", "width": 1},
                      annotation_text=_("stage {stage} first above 1: epoch {epoch}", stage=last, epoch=crossed),
                      annotation_position="top right")
    if epoch is not None:
        fig.add_vline(x=epoch, line={"color": "#999", "width": 1})
    fig.update_layout(title=_("Class-specificity by stage over training"), height=330, plot_bgcolor="white",
                      margin={"t": 50, "b": 40, "l": 10, "r": 10}, xaxis_title=_("epoch"),
                      yaxis_title=_("between/within variance"), legend={"orientation": "h", "y": -0.25})
    return fig

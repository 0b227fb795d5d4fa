"""Training history: SE health and loss over the epochs."""

from __future__ import annotations

import pandas as pd

from ..i18n import _
from .base import (
    _LEGEND,
    PALETTE,
    Chart,
)


def training_health(table: pd.DataFrame, title: str | None = None) -> Chart:
    """Per block, epoch by epoch: the std of s over the probe pictures (top) and the live hidden
    units (bottom); ``history.health_table``'s layout."""
    blocks = list(dict.fromkeys(table["block"]))
    colour = {"field": "block", "type": "nominal", "sort": blocks,
              "scale": {"range": PALETTE}, "legend": _LEGEND}
    tooltip = [{"field": "block", "title": _("block")}, {"field": "epoch", "type": "quantitative", "title": _("epoch")},
               {"field": "s_std", "type": "quantitative", "format": ".3f", "title": _("std of s")},
               {"field": "live", "type": "quantitative", "title": _("live units")}]
    x = {"field": "epoch", "type": "quantitative", "title": _("epoch")}
    spec = {"title": title or _("SE health over training"), "vconcat": [
        {"height": 220, "width": "container", "mark": {"type": "line", "strokeWidth": 1.5},
         "encoding": {"x": x, "y": {"field": "s_std", "type": "quantitative", "title": _("std of s")},
                      "color": colour, "tooltip": tooltip}},
        {"height": 120, "width": "container", "mark": {"type": "line", "strokeWidth": 1.5, "interpolate": "step-after"},
         "encoding": {"x": x, "y": {"field": "live", "type": "quantitative", "title": _("live hidden units")},
                      "color": colour, "tooltip": tooltip}},
    ]}
    return Chart(spec, table)


def training_loss(table: pd.DataFrame, title: str | None = None) -> Chart:
    """The training loss of each model epoch by epoch (``history.loss_table``'s layout)."""
    models = list(dict.fromkeys(table["model"]))
    spec = {"title": title or _("Training loss, with SE and without"), "height": 300,
            "mark": {"type": "line", "strokeWidth": 1.5},
            "encoding": {"x": {"field": "epoch", "type": "quantitative", "title": _("epoch")},
                         "y": {"field": "loss", "type": "quantitative", "title": _("training loss"), "scale": {"zero": False}},
                         "color": {"field": "model", "type": "nominal", "sort": models,
                                   "scale": {"domain": models, "range": [PALETTE[0], PALETTE[3]]}, "legend": _LEGEND},
                         "tooltip": [{"field": "model"}, {"field": "epoch", "type": "quantitative"},
                                     {"field": "loss", "type": "quantitative", "format": ".4f"}]}}
    return Chart(spec, table)

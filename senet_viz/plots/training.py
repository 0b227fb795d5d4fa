"""Training history: SE health and loss over the epochs."""

from __future__ import annotations

import pandas as pd

from .base import (
    _LEGEND,
    PALETTE,
    Chart,
)


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

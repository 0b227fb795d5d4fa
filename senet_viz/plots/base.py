"""Shared by every figure: the colours, the Vega-Lite ``Chart``, labels made inert, the paper's blocks."""

from __future__ import annotations

import functools
import html
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..i18n import _

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


#: Text in matplotlib figures: its default font, then NanumGothic (installed with the project by
#: koreanize-matplotlib) for the Hangul the first lacks; matplotlib falls back glyph by glyph.
FONT_FAMILIES = ["DejaVu Sans", "NanumGothic"]


@functools.cache
def _register_hangul_font() -> bool:
    """NanumGothic into matplotlib's font list, once per process. The font files are found without
    importing koreanize_matplotlib, whose import would change pyplot's global settings."""
    import importlib.util
    from pathlib import Path

    from matplotlib import font_manager

    spec = importlib.util.find_spec("koreanize_matplotlib")
    if spec is None or not spec.submodule_search_locations:
        return False
    fonts = Path(next(iter(spec.submodule_search_locations))) / "fonts"
    for path in sorted(fonts.glob("NanumGothic*.ttf")):
        font_manager.fontManager.addfont(str(path))
    return any(fonts.glob("NanumGothic*.ttf"))


def hangul_ready(fig):
    """Every text of a matplotlib figure set in ``FONT_FAMILIES`` (per text: no global rcParams
    changed, so sessions drawing at once do not disturb each other); returns the figure."""
    from matplotlib.text import Text

    if _register_hangul_font():
        for text in fig.findobj(Text):
            text.set_fontfamily(FONT_FAMILIES)
    return fig


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
        names, colours, dashes = [*names, _("all classes")], [*colours, MEAN_COLOUR], [*dashes, [6, 4]]
    colour = {"field": "class", "type": "nominal", "scale": {"domain": names, "range": colours}, "legend": _LEGEND}
    dash = {"field": "class", "type": "nominal", "legend": None, "scale": {"domain": names, "range": dashes}}
    return colour, dash

"""Drawing and text for every page: charts with the app's toolbar, Arrow tables, results shared by
every session, user text made inert, link parameters kept in step."""

from __future__ import annotations

import json
import re

import plotly.graph_objects as go
import plotly.io as pio
import pyarrow as pa
import streamlit as st

from senet_viz import i18n, plots
from senet_viz.i18n import _

PLOTLY_CONFIG = {"displaylogo": False, "toImageButtonOptions": {"format": "png", "scale": 2}}


def draw(figure, where=None, key: str | None = None) -> None:
    """A chart across ``where`` (the page by default): a Plotly figure with the app's toolbar, or a
    Vega-Lite ``plots.Chart`` with its data sent apart from its spec. ``key`` tells apart two
    Plotly charts of the same figure."""
    where = where or st
    if isinstance(figure, plots.Chart):
        # Canvas rather than SVG (Streamlit's choice below 2,000 marks): no DOM node per bar or cell
        # for the browser to restyle when a new picture's data replaces the old.
        spec = {**figure.spec, "usermeta": {"embedOptions": {"renderer": "canvas"}}}
        where.vega_lite_chart(figure.data, spec, width="stretch", height=figure.spec.get("height", "content"))
    else:
        where.plotly_chart(figure, config=PLOTLY_CONFIG, width="stretch", key=key)


def table(columns: dict) -> pa.Table:
    """Named columns (lists or arrays of one length) as an Arrow table, which ``st.dataframe`` sends
    as it is; a dict would go through pandas at every rerun of every session showing it."""
    return pa.table({str(k): v for k, v in columns.items()})


def spoken(make):
    """``make`` for a download button, run in this session's language: Streamlit calls it when the
    file is asked for, on a thread of no session, where sentences would be English."""
    lang = i18n.language()

    def made(*args, **kwargs):
        with i18n.using(lang):
            return make(*args, **kwargs)

    return made


def top_table(top: list[tuple[str, float]], where=None, width="stretch") -> None:
    """A top-k prediction: classes and their probabilities as bars."""
    where = where or st
    column = _("probability")
    where.dataframe({_("class"): [c for c, _p in top], column: [p for _c, p in top]}, hide_index=True,
                    **({"width": width} if width else {}),
                    column_config={column: st.column_config.ProgressColumn(column, min_value=0.0, max_value=1.0,
                                                                          format="percent")})


def sync_query_param(key: str, value: str | None) -> None:
    if value is None:
        st.query_params.pop(key, None)
    elif st.query_params.get(key) != value:
        st.query_params[key] = value


class SentFigure(go.Figure):
    """A shared Plotly figure whose dict, as Streamlit sends it, is made once. ``st.plotly_chart``
    asks a figure for its dict at every draw: a deep copy, with every numpy array encoded to
    base64 anew (0.7 ms for a heatmap and a bar chart, a twentieth of a follower's rerun at a
    step with a chart); the dict of JSON values it gets here is only serialised. A shared
    figure is read-only, so its dict never changes."""

    def __init__(self, figure: go.Figure) -> None:
        super().__init__(figure)
        self._sent = json.loads(pio.to_json(figure, validate=False))

    def to_dict(self) -> dict:
        return self._sent


@st.cache_resource(max_entries=64, show_spinner=False)
def _shared(kind: str, key: tuple, _build):
    """A figure or result built once per ``(kind, key)`` and shared read-only by every session:
    ``key`` must name everything it is made from (model, picture hash, block, ...). A classroom
    that follows one lecturer asks for the same things at the same moment."""
    made = _build()
    return SentFigure(made) if isinstance(made, go.Figure) else made


def shared(kind: str, key: tuple, build):
    """``_shared`` in the session's language: figures and sentences carry words."""
    return _shared(kind, (*key, i18n.language()), build)


_MARKDOWN = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>~$:&])")


#: Where GitHub's Markdown makes a link of bare text (http://, www., a@b), which escaping does not stop.
_AUTOLINK = re.compile(r"(?i)(https?|ftp|www|mailto|xmpp)(?=\\?[:.])|(?=@)")


WORD_JOINER = "\u2060"  # invisible, and not part of a link or an address


def plain(text: str) -> str:
    """User text (file, folder and class names) made inert for Streamlit's markdown: every
    markdown, directive (:...:), LaTeX ($) and HTML character is escaped, and an invisible word
    joiner breaks the bare links and addresses Markdown would otherwise make clickable."""
    escaped = _MARKDOWN.sub(r"\\\1", str(text)).replace("\n", " ")
    return _AUTOLINK.sub(lambda m: (m.group(1) or "") + WORD_JOINER, escaped)


def error(text: str) -> None:
    st.error(plain(text))


def paper_note(text: str) -> None:
    st.caption(":material/menu_book: **" + _("Paper:") + "** " + text)


#: Captions and other secondary text dark enough for WCAG 2.1 AA (4.5:1) on the page's white and
#: the sidebar's grey: Streamlit's own faded grey measures 3.8:1 there (axe-core, color-contrast).
READABLE_CSS = """<style>
[data-testid="stCaptionContainer"], [data-testid="stCaptionContainer"] *, [data-testid="stImageCaption"],
[data-testid="stWidgetLabel"] small, [data-testid="stMarkdownContainer"] small { color: #4f4d4a !important; opacity: 1 !important; }
</style>"""


def readable_text() -> None:
    """Secondary text at AA contrast on every page (called by app.py before each page)."""
    st.html(READABLE_CSS)

"""Helpers for driving the app through Streamlit's AppTest."""

from __future__ import annotations

import io

from conftest import ROOT, random_picture
from streamlit.testing.v1 import AppTest


def run_app(**query) -> AppTest:
    """The app's Home on a fresh session, with ``query`` as the link's parameters."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=180)
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def assert_ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def png(seed: int = 0, size=(64, 48)) -> bytes:
    buf = io.BytesIO()
    random_picture(seed, size).save(buf, "PNG")
    return buf.getvalue()


def uploader(at: AppTest, key: str):
    return next(u for u in at.get("file_uploader") if u.key == key)


def charts(at: AppTest) -> int:
    """How many charts the page drew, Plotly and Vega-Lite alike."""
    return len(at.get("plotly_chart")) + len(at.get("vega_lite_chart"))


def vega_data(at: AppTest, title: str):
    """The data table (pandas) of the Vega-Lite chart whose title starts with ``title``."""
    import json

    import pyarrow as pa

    for chart in at.get("vega_lite_chart"):
        if str(json.loads(chart.proto.spec).get("title", "")).startswith(title):
            return pa.ipc.open_stream(chart.proto.data.data).read_all().to_pandas()
    raise AssertionError(f"no Vega-Lite chart titled {title!r}")

"""SENet Explorer: the entry point. Draws the shared sidebar, then runs the chosen page."""

from __future__ import annotations

import streamlit as st

st.set_page_config(page_title="SENet Explorer", page_icon=":material/hub:", layout="wide")

from ui import common, language, navigation  # noqa: E402  (after set_page_config)


language.choose()  # before any other word is drawn
page = st.navigation(list(navigation.pages().values()))
common.self_check()
common.readable_text()
common.sidebar()
page.run()

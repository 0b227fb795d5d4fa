"""The app's pages: which files, titles and icons, in the sidebar's order, and the ``st.Page``
objects of a run."""

from __future__ import annotations

import copy

import streamlit as st

from senet_viz.i18n import N_, _
from ui.base import shared

#: key: (file, title, icon); the first is the home page.
PAGES = {
    "home": ("pages/home.py", N_("Home"), ":material/home:"),
    "lesson": ("pages/lesson.py", N_("Lesson"), ":material/school:"),
    "inspect": ("pages/inspect.py", N_("Inspect"), ":material/image_search:"),
    "compare": ("pages/compare.py", N_("Compare"), ":material/compare:"),
    "patterns": ("pages/class_patterns.py", N_("Class patterns"), ":material/insights:"),
    "equations": ("pages/equations.py", N_("Equations"), ":material/function:"),
    "cost": ("pages/architecture.py", N_("Architecture & cost"), ":material/account_tree:"),
    "ablation": ("pages/ablation.py", N_("Ablation"), ":material/content_cut:"),
}


def _made() -> dict[str, st.Page]:
    # The home page is the site's root; its path, which no one sees, is not its file's name: where
    # a pages/ folder exists, Streamlit's AppTest starts each run in the folder's mode, in which a
    # page of that name would be run by itself, without app.py.
    return {key: st.Page(file, title=_(title), icon=icon, default=key == "home",
                         url_path="start" if key == "home" else None)
            for key, (file, title, icon) in PAGES.items()}


def pages() -> dict[str, st.Page]:
    """This run's pages. Made once per language (making a page resolves and checks its file, a
    tenth of a follower's rerun in a class), and copied for each run: ``st.navigation`` marks on
    the page object which one the run may call, and sessions run at once."""
    return {key: copy.copy(page) for key, page in shared("pages", (), _made).items()}


def link(key: str, label: str) -> None:
    """A link to the page ``key``, with its icon."""
    file, _title, icon = PAGES[key]
    st.page_link(file, label=label, icon=icon)

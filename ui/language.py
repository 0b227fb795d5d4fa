"""The language a session reads: chosen in the sidebar, kept in the link (``?lang=ko``) and in the
browser (a cookie), by default the browser's own language where it is one the app speaks, else
English. ``senet_viz.i18n`` asks this module for it whenever a sentence is rendered."""

from __future__ import annotations

import threading

import streamlit as st

from senet_viz import i18n
from senet_viz.i18n import _
from ui import internals

KEY = "lang"
PARAM = "lang"
COOKIE = "senet_viz_lang"


#: The language of the session whose script runs in this thread, read once per run: every sentence
#: asks for it, and Streamlit's session state costs ~0.2 ms a read (56 sentences a Lesson step, 100
#: followers a step). Kept with the session's id, so a thread never answers for another session.
_this_run = threading.local()


def _remember(lang: str | None) -> None:
    session = internals.current_session()
    _this_run.session, _this_run.lang = (session[0] if session else None), lang


def _session_language() -> str | None:
    session = internals.current_session()
    if session is None:  # a thread of no session (a worker, the command line)
        return None
    if getattr(_this_run, "session", None) != session[0]:
        _remember(st.session_state.get(KEY))
    return _this_run.lang


i18n.set_resolver(_session_language)


def resolve() -> str:
    """The session's language: the link's, else the one chosen before in this session or browser,
    else the browser's, else English."""
    linked = i18n.normalise(st.query_params.get(PARAM))
    if linked:
        st.session_state[KEY] = linked
    elif KEY not in st.session_state:
        kept = i18n.normalise((st.context.cookies or {}).get(COOKIE))
        st.session_state[KEY] = kept or i18n.normalise(st.context.locale) or i18n.SOURCE
    _remember(st.session_state[KEY])
    return st.session_state[KEY]


def _chosen() -> None:
    chosen = st.session_state["language_control"]
    if chosen in i18n.LANGUAGES:  # a click on the chosen one unselects it: the language stays
        st.session_state[KEY] = chosen
        st.query_params[PARAM] = chosen
        _remember(chosen)


def control() -> None:
    """The sidebar's language control."""
    st.session_state["language_control"] = st.session_state[KEY]
    st.sidebar.segmented_control(_("Language"), list(i18n.LANGUAGES), format_func=i18n.LANGUAGES.get,
                                 key="language_control", on_change=_chosen, selection_mode="single")


def declare() -> None:
    """The page's language for screen readers and the browser (``<html lang>``), and the choice
    kept in a cookie of this site for the next visit; the script holds only a code of
    ``i18n.LANGUAGES``, never anything a browser sent. Drawn at every run, first on the page: an
    element that came once and then went would move every element after it, and the browser
    would draw them anew (an open popover closed under the lecturer's click)."""
    lang = st.session_state[KEY]
    if lang not in i18n.LANGUAGES:
        return
    st.html(f"<script>document.documentElement.lang = '{lang}'; document.cookie = '{COOKIE}={lang}; path=/; "
            "max-age=31536000; SameSite=Strict' + (location.protocol === 'https:' ? '; Secure' : '');</script>",
            unsafe_allow_javascript=True)


def choose() -> str:
    """Resolve, declare and offer the session's language (app.py, before the page is drawn)."""
    lang = resolve()
    if st.query_params.get(PARAM) is not None or lang != i18n.SOURCE:
        if st.query_params.get(PARAM) != lang:
            st.query_params[PARAM] = lang
    declare()
    control()
    return lang

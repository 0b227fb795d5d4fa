"""Streamlit's private internals: the one module that names them (Streamlit 1.67, the range
requirements.txt pins). Each use is guarded: where an internal is missing in another Streamlit,
the feature that needs it is off, the app goes on, and ``self_check`` says which in one line.

- room wake-ups (``ui/room_wake.py``): the runtime's session manager, a session's client state,
  event loop, script runner and ``request_rerun`` (what Streamlit's run-on-save uses); without
  them followers look at their room twice a second instead; and the id of the fragment a run is
  in (``ThreadState``), so that a wake reruns a follower's screen alone: without it, the page;
- the browser's own address, loopback included (``st.context.ip_address`` says None for
  loopback): without it no browser counts as this machine, so rooms need the lecturer password;
- the pages-folder mode Streamlit falls into when a page's link is a process's first request:
  without it such a link opens without the sidebar until the next page.
"""

from __future__ import annotations

import sys


def session_manager():
    """(Streamlit's session manager, the ClientState message), or None where they are not there."""
    try:
        from streamlit.proto.ClientState_pb2 import ClientState
        from streamlit.runtime import Runtime

        if not Runtime.exists():
            return None
        manager = Runtime.instance()._session_mgr
        if not hasattr(manager, "get_active_session_info"):
            return None
        return manager, ClientState
    except (ImportError, AttributeError):
        return None


try:
    from streamlit.runtime.scriptrunner import get_script_run_ctx as _run_context
except ImportError:  # another Streamlit: no session is known, wake-ups and the language cache are off
    _run_context = None

try:
    from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState as _ThreadState
except ImportError:  # another Streamlit: a wake reruns the whole page
    _ThreadState = None


def current_session() -> tuple[str, str] | None:
    """(session id, page script hash) of the session whose script is running, or None. Asked by
    every sentence the app renders: one attribute of the current thread, imported once."""
    ctx = _run_context(suppress_warning=True) if _run_context is not None else None
    return (ctx.session_id, ctx.page_script_hash) if ctx is not None else None


def current_fragment() -> str:
    """The id of the fragment this code runs in; "" outside a fragment, or where this Streamlit
    does not say."""
    try:
        return _ThreadState.get().fragment_id or ""
    except (AttributeError, RuntimeError):
        return ""


def active_session(manager, session_id: str):
    """The AppSession of ``session_id`` while it is connected, else None."""
    info = manager.get_active_session_info(session_id)
    return info.session if info is not None else None


def session_page(session) -> str:
    """The page script hash the session's browser last asked for."""
    return session._client_state.page_script_hash


def call_soon(session, fn, *args) -> None:
    """Run ``fn(*args)`` on the session's event loop (from any thread)."""
    session._event_loop.call_soon_threadsafe(fn, *args)


def rerun(session, ClientState, tries: int, wait: float, fragment: str = "") -> None:
    """Rerun ``session``'s ``fragment`` ("": the whole page) with the client state its last run
    left (on its event loop). While a run of its own is in progress (a click, say) it is not cut
    short: this waits for it, ``tries`` times ``wait`` seconds at most, so the rerun starts from
    the widget values that run brought."""
    if getattr(session, "_scriptrunner", None) is not None and tries > 0:
        session._event_loop.call_later(wait, rerun, session, ClientState, tries - 1, wait, fragment)
        return
    state = ClientState()
    state.CopyFrom(session._client_state)
    state.fragment_id, state.is_auto_rerun = fragment, False  # not the fragment of the session's last run
    session.request_rerun(state)


def client_ip(fallback: str | None = None) -> str | None:
    """The browser's address as the server sees it, loopback included; ``fallback`` (the public,
    loopback-blind ``st.context.ip_address``) where the internal is not there."""
    try:
        from streamlit.runtime.context import _get_client_context
    except ImportError:
        return fallback
    client = _get_client_context()
    return getattr(client, "remote_ip", None) if client is not None else None


def leave_pages_directory_mode() -> bool:
    """Switch the process from Streamlit's pages-folder mode to app.py's navigation; True when it
    was in that mode (the caller then reruns)."""
    try:
        from streamlit.runtime.pages_manager import PagesManager
    except ImportError:
        return False
    if getattr(PagesManager, "uses_pages_directory", False):
        PagesManager.uses_pages_directory = False
        return True
    return False


def self_check() -> list[str]:
    """One line per feature that is off because this Streamlit lacks an internal it needs."""
    off = []
    try:
        from streamlit.proto.ClientState_pb2 import ClientState
        from streamlit.runtime import Runtime
        from streamlit.runtime.app_session import AppSession
        from streamlit.runtime.session_manager import SessionManager

        assert hasattr(Runtime, "instance") and hasattr(AppSession, "request_rerun")
        assert hasattr(SessionManager, "get_active_session_info") and "page_script_hash" in ClientState.DESCRIPTOR.fields_by_name
    except (ImportError, AssertionError):
        off.append("room wake-ups are off (this Streamlit has no session manager or request_rerun): followers look at "
                   "their room twice a second instead")
    if _ThreadState is None or not hasattr(_ThreadState, "get"):
        off.append("a room's change reruns each follower's whole page, not their screen alone (no ThreadState)")
    try:
        from streamlit.runtime.context import _get_client_context  # noqa: F401
    except ImportError:
        off.append("the browser's own address is unknown (no _get_client_context): no browser counts as this machine, "
                   "so rooms need the lecturer password")
    try:
        from streamlit.runtime.pages_manager import PagesManager

        assert hasattr(PagesManager, "uses_pages_directory")
    except (ImportError, AssertionError):
        off.append("a page's link as a fresh process's first request may open without the sidebar (no PagesManager)")
    return off


def report_once() -> None:
    """The self-check's lines on the server's standard error (called once per process)."""
    import streamlit

    for line in self_check():
        print(f"senet_viz: with Streamlit {streamlit.__version__}, {line}", file=sys.stderr, flush=True)

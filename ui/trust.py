"""What this session may do: the browser's own address, the lecturer password (limited tries), and the
trust either gives (networks from code, rooms without a password)."""

from __future__ import annotations

import math
import os

import streamlit as st

from senet_viz import guard
from senet_viz.i18n import _
from senet_viz.rooms import PASSWORD_ENV, start_refusal
from ui import internals


def client_address() -> str | None:
    """The browser's address as this server sees it, loopback included (``st.context.ip_address``
    gives None for loopback, as for no address at all). A request that came through a proxy
    counts as from elsewhere (None): behind a proxy every browser would look local."""
    if guard.through_proxy(st.context.headers):
        return None
    return internals.client_ip(fallback=st.context.ip_address)


@st.cache_resource(show_spinner=False)
def self_check() -> None:
    """Once per process: which features are off because this Streamlit lacks an internal."""
    internals.report_once()


def lecturer_password() -> str | None:
    """The operator's lecturer password: the environment, else Streamlit's secrets; None if unset."""
    configured = os.environ.get(PASSWORD_ENV, "")
    if not configured:
        try:
            configured = str(st.secrets.get("lecturer_password", "") or "")
        except Exception:  # noqa: BLE001 - no secrets file: Streamlit raises its own error types
            configured = ""
    return configured or None


@st.cache_resource(show_spinner=False)
def password_tries() -> guard.Limiter:
    """Lecturer password tries: per session and for the whole process, in any minute."""
    return guard.Limiter(PASSWORD_TRIES_PER_SESSION, PASSWORD_TRIES_PER_PROCESS, 60.0)


PASSWORD_TRIES_PER_SESSION = 5


PASSWORD_TRIES_PER_PROCESS = int(os.environ.get("SENET_VIZ_PASSWORD_TRIES", 20))


def lecturer_refusal(given: str | None) -> str | None:
    """Why this session may not act as the lecturer (one line), or None when it may
    (``rooms.start_refusal``); a session that typed the password once is not asked again. Wrong
    passwords are limited: five tries a minute per session, and a ceiling for the process."""
    configured = lecturer_password()
    if configured and st.session_state.get("lecturer_verified"):
        return None
    if configured and given:
        session = st.session_state.setdefault("password_session", os.urandom(8).hex())
        if not password_tries().allow(session):
            wait = max(1, math.ceil(password_tries().wait(session)))
            return _("too many lecturer password tries: try again in {seconds} s", seconds=wait)
    refused = start_refusal(configured, given, client_address())
    if refused is None and configured:
        st.session_state.lecturer_verified = True
    return refused


def _verify_password(key: str) -> None:
    """A lecturer password typed outside the room panel: kept as this session's trust, or one line."""
    refused = lecturer_refusal(st.session_state.pop(key, None))
    if refused:
        st.session_state.password_refusal = refused


def password_needed() -> bool:
    """Whether this session must still type the lecturer password to act as the lecturer."""
    return bool(lecturer_password()) and not st.session_state.get("lecturer_verified")


def trusted() -> bool:
    """Whether this session may do what only the person at the machine may (build a network from
    code, start a room without a password): a browser on this machine, or a session that typed the
    lecturer password."""
    return bool(st.session_state.get("lecturer_verified")) or guard.is_loopback(client_address())

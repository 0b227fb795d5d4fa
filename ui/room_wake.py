"""Waking a room's followers when it changes, instead of each follower asking the store twice a
second: the store tells this process of every change (``RoomStore.watch``, Redis pub/sub across
processes) and the sessions of this process that follow that room rerun at once. Idle following
then costs the server nothing but a slow look now and then (``LOOK_EVERY``), which also covers a
change missed while Redis reconnected.

Streamlit has no public call to rerun another session; this uses the one its "run on save"
uses (``AppSession.request_rerun`` with the session's last client state). Where that is not
there (another Streamlit), ``available`` is False and followers look twice a second instead.
"""

from __future__ import annotations

import os
import threading

#: Seconds between a woken follower's own looks at the room (the tests set hours: only a wake moves it).
LOOK_EVERY = float(os.environ.get("SENET_VIZ_ROOM_LOOK_EVERY", 10))
POLL_EVERY = 0.5  # ... and between the looks of a follower nobody wakes
PRUNE_EVERY = 256  # follows between two sweeps for sessions that ended
WAIT_STEP, WAIT_TRIES = 0.05, 40  # a wake waits for a run in progress, at most 2 s, then cuts it short


def _runtime():
    """Streamlit's session manager and the ClientState message, or None where they are not there."""
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


def current_session() -> tuple[str, str] | None:
    """(session id, page script hash) of the session whose script is running, or None."""
    try:
        from streamlit.runtime.scriptrunner import get_script_run_ctx
    except ImportError:
        return None
    ctx = get_script_run_ctx()
    return (ctx.session_id, ctx.page_script_hash) if ctx is not None else None


def _rerun(session, ClientState, tries: int) -> None:
    """Rerun ``session``'s whole page with the client state its last run left (on its event loop).
    While a run of its own is in progress (a click on an answer, say) it is not cut short: the
    wake waits for it, so the rerun starts from the widget values that run brought."""
    if getattr(session, "_scriptrunner", None) is not None and tries > 0:
        session._event_loop.call_later(WAIT_STEP, _rerun, session, ClientState, tries - 1)
        return
    state = ClientState()
    state.CopyFrom(session._client_state)
    state.fragment_id, state.is_auto_rerun = "", False  # the whole page, not a fragment
    session.request_rerun(state)


class Waker:
    """Which sessions of this process follow which room, on which page; ``room_changed`` reruns
    them. A session that ended or went to another page is forgotten at the next change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._followers: dict[str, dict[str, str]] = {}  # room code -> {session id: page script hash}
        self._calls = 0
        self.available = _runtime() is not None

    def follow(self, code: str, session: str, page: str) -> None:
        with self._lock:
            for other, sessions in self._followers.items():
                if other != code:
                    sessions.pop(session, None)
            self._followers.setdefault(code, {})[session] = page
            self._calls += 1
            if self._calls % PRUNE_EVERY == 0:
                self._prune()

    def _prune(self) -> None:
        """Forget sessions that ended and rooms nobody here follows (a room that never changes
        again would otherwise keep its followers' ids for the life of the process)."""
        runtime = _runtime()
        for code in list(self._followers):
            sessions = self._followers[code]
            if runtime is not None:
                for session_id in [s for s in sessions if runtime[0].get_active_session_info(s) is None]:
                    sessions.pop(session_id)
            if not sessions:
                del self._followers[code]

    def forget(self, session: str) -> None:
        with self._lock:
            for sessions in self._followers.values():
                sessions.pop(session, None)

    def following(self, code: str) -> int:
        with self._lock:
            return len(self._followers.get(code, {}))

    def room_changed(self, code: str) -> None:
        """The store's callback: rerun this room's followers (on their event loop, as a browser's
        rerun request would be handled)."""
        runtime = _runtime()
        with self._lock:
            sessions = dict(self._followers.get(code, {}))
        if runtime is None or not sessions:
            return
        manager, ClientState = runtime
        gone = []
        for session_id, page in sessions.items():
            try:
                info = manager.get_active_session_info(session_id)
                session = info.session if info is not None else None
                if session is None or session._client_state.page_script_hash != page:
                    gone.append(session_id)
                    continue
                session._event_loop.call_soon_threadsafe(_rerun, session, ClientState, WAIT_TRIES)
            except Exception:  # noqa: BLE001 - a session closing meanwhile: its own look finds the room
                gone.append(session_id)
        with self._lock:
            room = self._followers.get(code, {})
            for session_id in gone:
                room.pop(session_id, None)
            if not room:
                self._followers.pop(code, None)

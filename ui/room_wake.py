"""Waking a room's followers when it changes, instead of each follower asking the store twice a
second: the store tells this process of every change (``RoomStore.watch``, Redis pub/sub across
processes) and the sessions of this process that follow that room rerun at once: the follower's
screen alone, a fragment of the page (its sidebar and the bar above stay as drawn). Idle following
then costs the server nothing but a slow look now and then (``LOOK_EVERY``), which also covers a
change missed while Redis reconnected.

Streamlit has no public call to rerun another session; ``ui.internals`` holds the one its "run
on save" uses. Where that is not there (another Streamlit), ``available`` is False and followers
look twice a second instead.
"""

from __future__ import annotations

import os
import threading

from ui import internals

#: Seconds between a woken follower's own looks at the room (the tests set hours: only a wake moves it).
LOOK_EVERY = float(os.environ.get("SENET_VIZ_ROOM_LOOK_EVERY", 10))
POLL_EVERY = 0.5  # ... and between the looks of a follower nobody wakes
PRUNE_EVERY = 256  # follows between two sweeps for sessions that ended
WAIT_STEP, WAIT_TRIES = 0.05, 40  # a wake waits for a run in progress, at most 2 s, then cuts it short


def _runtime():
    """Streamlit's session manager and the ClientState message, or None where they are not there."""
    return internals.session_manager()


current_session = internals.current_session


class Waker:
    """Which sessions of this process follow which room, on which page, in which fragment;
    ``room_changed`` reruns that fragment (or, "" for it, the page). A session that ended or went
    to another page is forgotten at the next change."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        # room code -> {session id: (page script hash, fragment id)}
        self._followers: dict[str, dict[str, tuple[str, str]]] = {}
        self._calls = 0
        self.available = _runtime() is not None

    def follow(self, code: str, session: str, page: str, fragment: str = "") -> None:
        with self._lock:
            for other, sessions in self._followers.items():
                if other != code:
                    sessions.pop(session, None)
            self._followers.setdefault(code, {})[session] = (page, fragment)
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
        for session_id, (page, fragment) in sessions.items():
            try:
                session = internals.active_session(manager, session_id)
                if session is None or internals.session_page(session) != page:
                    gone.append(session_id)
                    continue
                internals.call_soon(session, internals.rerun, session, ClientState, WAIT_TRIES, WAIT_STEP, fragment)
            except Exception:  # noqa: BLE001 - a session closing meanwhile: its own look finds the room
                gone.append(session_id)
        with self._lock:
            room = self._followers.get(code, {})
            for session_id in gone:
                room.pop(session_id, None)
            if not room:
                self._followers.pop(code, None)

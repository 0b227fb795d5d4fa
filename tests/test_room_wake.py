"""Waking a room's followers (``ui/room_wake.py``) against a stand-in for Streamlit's session
manager: who is rerun when a room changes, and who is forgotten."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from streamlit.proto.ClientState_pb2 import ClientState

from ui import room_wake


class FakeSession:
    def __init__(self, page: str) -> None:
        self._client_state = ClientState(page_script_hash=page, query_string="room=ABCDEF", fragment_id="look",
                                         is_auto_rerun=True)
        self.reruns: list[ClientState] = []
        self._scriptrunner = None  # no run in progress
        self.later: list = []  # calls the event loop was asked to make later
        self._event_loop = SimpleNamespace(call_soon_threadsafe=lambda fn, *args: fn(*args),
                                           call_later=lambda delay, fn, *args: self.later.append((fn, args)))

    def request_rerun(self, state: ClientState) -> None:
        self.reruns.append(state)


class FakeManager:
    def __init__(self) -> None:
        self.sessions: dict[str, FakeSession] = {}

    def get_active_session_info(self, session_id: str):
        session = self.sessions.get(session_id)
        return SimpleNamespace(session=session) if session is not None else None


@pytest.fixture
def manager(monkeypatch):
    made = FakeManager()
    monkeypatch.setattr(room_wake, "_runtime", lambda: (made, ClientState))
    return made


def test_a_change_reruns_the_whole_page_of_each_follower_of_that_room_only(manager):
    waker = room_wake.Waker()
    assert waker.available
    manager.sessions = {"a": FakeSession("lesson"), "b": FakeSession("lesson"), "c": FakeSession("lesson")}
    waker.follow("ROOM01", "a", "lesson")
    waker.follow("ROOM01", "b", "lesson")
    waker.follow("ROOM02", "c", "lesson")
    waker.room_changed("ROOM01")
    assert [len(manager.sessions[s].reruns) for s in "abc"] == [1, 1, 0]
    state = manager.sessions["a"].reruns[0]
    assert state.fragment_id == "" and not state.is_auto_rerun  # the page, not the look
    assert state.query_string == "room=ABCDEF" and state.page_script_hash == "lesson"


def test_a_follower_whose_screen_is_a_fragment_gets_that_fragment_rerun_alone(manager):
    waker = room_wake.Waker()
    manager.sessions = {"a": FakeSession("lesson"), "b": FakeSession("lesson")}
    waker.follow("ROOM01", "a", "lesson", "screen-of-a")
    waker.follow("ROOM01", "b", "lesson")  # a screen drawn outside a fragment: its whole page
    waker.room_changed("ROOM01")
    assert manager.sessions["a"].reruns[0].fragment_id == "screen-of-a"
    assert manager.sessions["b"].reruns[0].fragment_id == ""
    assert not manager.sessions["a"].reruns[0].is_auto_rerun  # a wake, not the look's timer


def test_sessions_that_ended_left_or_went_to_another_page_are_forgotten(manager):
    waker = room_wake.Waker()
    manager.sessions = {"here": FakeSession("lesson"), "elsewhere": FakeSession("inspect"), "left": FakeSession("lesson")}
    for s in ("here", "elsewhere", "left", "ended"):
        waker.follow("ROOM01", s, "lesson")
    waker.forget("left")
    waker.room_changed("ROOM01")
    assert len(manager.sessions["here"].reruns) == 1
    assert manager.sessions["elsewhere"].reruns == [] and manager.sessions["left"].reruns == []
    assert waker.following("ROOM01") == 1  # the one on another page and the ended one are forgotten
    waker.follow("ROOM02", "here", "lesson")  # joined another room: no longer woken by the first
    waker.room_changed("ROOM01")
    assert len(manager.sessions["here"].reruns) == 1 and waker.following("ROOM01") == 0


def test_followers_of_a_room_that_never_changes_again_are_swept(manager, monkeypatch):
    monkeypatch.setattr(room_wake, "PRUNE_EVERY", 4)
    waker = room_wake.Waker()
    manager.sessions = {"s1": FakeSession("lesson"), "s2": FakeSession("lesson")}
    waker.follow("QUIET1", "s1", "lesson")
    waker.follow("QUIET1", "s2", "lesson")
    manager.sessions.clear()  # both browsers closed; the room never moves again
    waker.follow("OTHER1", "s3", "lesson")
    waker.follow("OTHER1", "s3", "lesson")  # the fourth follow sweeps
    assert waker.following("QUIET1") == 0 and "QUIET1" not in waker._followers


def test_without_streamlits_session_manager_nobody_is_woken(monkeypatch):
    monkeypatch.setattr(room_wake, "_runtime", lambda: None)
    waker = room_wake.Waker()
    assert not waker.available  # followers then look twice a second (lesson_room.follow)
    waker.follow("ROOM01", "a", "lesson")
    waker.room_changed("ROOM01")  # does nothing, raises nothing


def test_a_wake_waits_for_the_run_in_progress_and_starts_from_what_it_left(manager):
    """A student's click on an answer is a run of their own: the wake does not cut it short (its
    rerun would start from the widget values before the click), it reruns once that run ended."""
    waker = room_wake.Waker()
    student = FakeSession("lesson")
    manager.sessions = {"a": student}
    waker.follow("ROOM01", "a", "lesson")
    student._scriptrunner = object()  # the click's run
    waker.room_changed("ROOM01")
    assert student.reruns == [] and len(student.later) == 1
    student._scriptrunner = None  # the click's run ended and left its widget values
    student._client_state.widget_states.widgets.add(id="answer", int_value=2)
    fn, args = student.later.pop()
    fn(*args)
    assert len(student.reruns) == 1 and student.reruns[0].widget_states.widgets[0].int_value == 2

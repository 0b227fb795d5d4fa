"""Rooms on the Lesson page through AppTest: one lecturer and students in separate sessions of one
process (the in-process store is shared by every session, as on a real server)."""

from __future__ import annotations

import json

from app_support import assert_ok, run_app
from streamlit.testing.v1 import AppTest


def _lesson(**query) -> AppTest:
    at = run_app()
    at.switch_page("pages/lesson.py")
    for k, v in query.items():
        at.query_params[k] = v
    return at.run()


def _step(at: AppTest) -> int:
    return int(at.title[0].value.split(".")[0])


def _lecturer() -> tuple[AppTest, str, str]:
    at = _lesson()
    at.button(key="room_start").click().run()
    assert_ok(at)
    room = at.session_state["room"]
    return at, room["code"], room["key"]


def test_students_follow_the_lecturer_and_cannot_move_the_room():
    lecturer, code, key = _lecturer()
    assert any(e.label.startswith(f"Room {code}") for e in lecturer.expander)
    students = [_lesson(room=code.lower()) for _ in range(2)]  # a code typed in lower case still works
    for s in students:
        assert_ok(s)
        assert _step(s) == 1 and s.button(key="lesson_next").disabled
        assert any(f"Following room **{code}**" in m.value for m in s.markdown)
        assert key not in str(s.query_params) and "key" not in s.query_params
    for _ in range(2):
        lecturer.button(key="lesson_next").click().run()
    lecturer.selectbox(key="lesson_block").set_value("SE_3_1").run()
    for s in students:
        s.run()  # what the follower's one-second look at the room triggers
        assert _step(s) == 3 and s.session_state["lesson_block"] == "SE_3_1"
    # a student who leaves to explore moves only their own screen
    explorer = students[1]
    explorer.button(key="room_leave").click().run()
    explorer.button(key="lesson_next").click().run()
    assert _step(explorer) == 4
    students[0].run()
    lecturer.run()
    assert _step(students[0]) == 3 and _step(lecturer) == 3
    explorer.button(key="room_rejoin").click().run()
    assert _step(explorer) == 3


def test_answers_are_counted_and_revealed_by_the_lecturer_only():
    lecturer, code, _key = _lecturer()
    students = [_lesson(room=code) for _ in range(3)]
    for i, s in enumerate(students):
        radio = next(r for r in s.radio if r.key.startswith("lesson_choice"))
        radio.set_value(i % 2).run()
        assert_ok(s)
        assert not any(b.key and b.key.startswith("lesson_reveal") for b in s.button)  # no reveal for students
    labels = next(r for r in students[0].radio if r.key.startswith("lesson_choice")).options
    lecturer.run()
    # the split, not only the total: choice 0 twice, choice 1 once
    assert any(f"**3** answers so far ({labels[0]}: 2, {labels[1]}: 1)" in m.value for m in lecturer.markdown)
    assert not any("answers so far" in m.value for s in students for m in s.markdown)
    next(b for b in lecturer.button if b.key.startswith("lesson_reveal")).click().run()
    assert_ok(lecturer)
    for s in students:
        s.run()
        assert_ok(s)
        assert len([*s.success, *s.warning]) == 1  # each sees the measured answer against their own choice
        charts = [json.loads(c.proto.spec) for c in s.get("plotly_chart") if "The class: 3 answers" in c.proto.spec]
        assert len(charts) == 1 and charts[0]["layout"]["xaxis"]["type"] == "category"  # numbers as choices stay names
        assert list(charts[0]["data"][0]["y"]) == [2, 1] + [0] * (len(labels) - 2)
    # after the reveal an answer is refused in one line, and the count stays
    radio = next(r for r in students[0].radio if r.key.startswith("lesson_choice"))
    assert radio.disabled


def test_a_wrong_code_and_a_forged_lecturer_link_are_one_line():
    at = _lesson(room="ZZZZZZ")
    assert not at.exception and len(at.error) == 1 and "no room ZZZZZZ" in at.error[0].value.replace("\\", "")
    assert "room" not in at.query_params and _step(at) == 1
    at = _lesson(room="not a code!")
    assert not at.exception and len(at.error) == 1 and "not a room code" in at.error[0].value.replace("\\", "")
    _lecturer_at, code, key = _lecturer()
    forged = _lesson(room=code, key=key[:-2] + "xx")
    assert len(forged.error) == 1 and "joined as a student" in forged.error[0].value
    assert forged.session_state["room"]["key"] is None and forged.button(key="lesson_next").disabled
    real = _lesson(room=code, key=key)  # the lecturer link in a new tab: lecturer again
    assert_ok(real)
    assert real.session_state["room"]["key"] == key and "key" not in real.query_params
    real.button(key="lesson_next").click().run()
    forged.run()
    assert _step(forged) == 2


def test_a_room_that_closes_while_followed_says_so_once():
    from pages import lesson_room

    _lecturer_at, code, _key = _lecturer()
    student = _lesson(room=code)
    rooms = lesson_room.store()
    with rooms._lock:  # the lecturer's last step was longer ago than a room lives
        rooms._rooms[code].expires = 0.0
    student.run()  # the follower's look finds the room gone
    assert not student.exception and len(student.error) == 1 and "expired" in student.error[0].value.replace("\\", "")
    assert "room" not in student.session_state and not student.button(key="lesson_next").disabled
    student.run()
    assert not student.error  # said once


def test_a_reveal_before_any_answer_shows_an_empty_count():
    lecturer, code, _key = _lecturer()
    student = _lesson(room=code)
    next(b for b in lecturer.button if b.key.startswith("lesson_reveal")).click().run()
    assert_ok(lecturer)
    student.run()
    assert_ok(student)
    assert any("The class: 0 answers" in c.proto.spec for c in student.get("plotly_chart"))

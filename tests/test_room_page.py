"""Rooms on the Lesson page through AppTest: one lecturer and students in separate sessions of one
process (the in-process store is shared by every session, as on a real server)."""

from __future__ import annotations

import json

import pytest
from app_support import assert_ok, run_app
from streamlit.testing.v1 import AppTest

PASSWORD = "correct horse battery staple"


@pytest.fixture(autouse=True)
def _lecturer_password(monkeypatch):
    monkeypatch.setenv("SENET_VIZ_LECTURER_PASSWORD", PASSWORD)


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
    at.text_input(key="room_password").set_value(PASSWORD)
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


def test_a_wrong_code_and_a_keyed_link_are_one_line_and_the_key_is_typed_instead():
    at = _lesson(room="ZZZZZZ")
    assert not at.exception and len(at.error) == 1 and "no room ZZZZZZ" in at.error[0].value.replace("\\", "")
    assert "room" not in at.query_params and _step(at) == 1
    at = _lesson(room="not a code!")
    assert not at.exception and len(at.error) == 1 and "not a room code" in at.error[0].value.replace("\\", "")
    _lecturer_at, code, key = _lecturer()
    keyed = _lesson(room=code, key=key)  # even the right key is not taken from a link
    assert len(keyed.error) == 1 and "not taken from links" in keyed.error[0].value
    assert keyed.session_state["room"]["key"] is None and "key" not in keyed.query_params
    assert keyed.button(key="lesson_next").disabled
    keyed.text_input(key="room_key_typed").set_value(key[:-2] + "xx")
    keyed.button(key="room_take_over").click().run()
    assert len(keyed.error) == 1 and "not room" in keyed.error[0].value and keyed.session_state["room"]["key"] is None
    keyed.text_input(key="room_key_typed").set_value(key)
    keyed.button(key="room_take_over").click().run()  # the key typed into a password field: lecturer here too
    assert_ok(keyed)
    assert keyed.session_state["room"]["key"] == key and not keyed.button(key="lesson_next").disabled
    keyed.button(key="lesson_next").click().run()
    follower = _lesson(room=code)
    assert _step(follower) == 2


def test_a_keyed_link_is_one_line_even_when_the_student_takes_on_the_lecturers_model():
    lecturer, code, key = _lecturer()
    lecturer.query_params["weights"] = "random"  # the room's model is not the one a new session runs
    lecturer.run()
    keyed = _lesson(room=code, key=key)  # taking on the model reruns the page before it is drawn
    assert not keyed.exception
    assert "weights: random" in " ".join(c.value for c in keyed.sidebar.caption if "Running" in c.value)
    assert len(keyed.error) == 1 and "not taken from links" in keyed.error[0].value
    assert keyed.session_state["room"]["key"] is None and "key" not in keyed.query_params


def test_no_key_is_on_a_students_page_and_no_lecturer_link_is_offered():
    lecturer, code, key = _lecturer()
    student = _lesson(room=code)
    shown = " ".join(str(e.proto) for e in student.main) + " ".join(str(e.proto) for e in student.sidebar)
    assert key not in shown
    lecturer_text = " ".join(str(e.proto) for e in lecturer.main)
    assert f"key={key}" not in lecturer_text and "&key=" not in lecturer_text


def test_sixty_sessions_without_the_password_start_no_room():
    from ui import lesson_room

    before = len(lesson_room.store())
    for i in range(60):
        at = _lesson()
        if i % 2:
            at.text_input(key="room_password").set_value(f"guess {i}")
        at.button(key="room_start").click().run()
        assert not at.exception and "room" not in at.session_state
        assert len(at.error) == 1 and ("wrong lecturer password" in at.error[0].value
                                       or "type the lecturer password" in at.error[0].value
                                       or "too many lecturer password tries" in at.error[0].value)
    assert len(lesson_room.store()) == before


def test_password_guesses_are_limited_per_session_and_per_process(monkeypatch):
    from ui import common, trust

    common.password_tries.clear()
    at = _lesson()
    for i in range(5):
        at.text_input(key="room_password").set_value(f"guess {i}")
        at.button(key="room_start").click().run()
        assert "wrong lecturer password" in at.error[0].value
    at.text_input(key="room_password").set_value(PASSWORD)  # the right one, but after five wrong ones this minute
    at.button(key="room_start").click().run()
    assert "room" not in at.session_state and "too many lecturer password tries" in at.error[0].value
    common.password_tries.clear()
    monkeypatch.setattr(trust, "PASSWORD_TRIES_PER_PROCESS", 3)
    for i in range(4):  # four sessions, one guess each: the process-wide ceiling stops the fourth
        other = _lesson()
        other.text_input(key="room_password").set_value(f"guess {i}")
        other.button(key="room_start").click().run()
    assert "too many lecturer password tries" in other.error[0].value
    common.password_tries.clear()


def test_without_a_password_only_the_servers_own_machine_starts_rooms(monkeypatch):
    from senet_viz.rooms import start_refusal

    monkeypatch.delenv("SENET_VIZ_LECTURER_PASSWORD")
    at = _lesson()
    at.button(key="room_start").click().run()  # AppTest's session has no loopback address
    assert "room" not in at.session_state and "SENET_VIZ_LECTURER_PASSWORD" in at.error[0].value.replace("\\", "")
    assert start_refusal(None, None, "127.0.0.1") is None and start_refusal(None, None, "::1") is None
    assert start_refusal(None, None, "192.168.1.20") and start_refusal(None, None, None)
    assert start_refusal("pw", "pw", "10.0.0.1") is None and start_refusal("pw", "pW", "127.0.0.1")


def test_the_lecturer_closes_the_room_and_students_are_told_once():
    lecturer, code, _key = _lecturer()
    student = _lesson(room=code)
    lecturer.button(key="room_close").click().run()
    assert_ok(lecturer)
    assert "room" not in lecturer.session_state
    student.run()
    assert len(student.error) == 1 and f"the lecturer closed room {code}" in student.error[0].value
    student.run()
    assert not student.error and "room" not in student.session_state


def test_a_session_holds_one_live_room():
    lecturer, _code, _key = _lecturer()
    assert not any(b.key == "room_start" for b in lecturer.button)  # no second room while this one lives
    student = _lesson(room=_code)
    assert not any(b.key == "room_start" for b in student.button)  # nor for a student in a room


def test_leave_reveal_rejoin_shows_nothing_before_the_reveal():
    lecturer, code, _key = _lecturer()
    student = _lesson(room=code)
    student.button(key="room_leave").click().run()
    assert_ok(student)
    assert not any(b.key and b.key.startswith("lesson_reveal") for b in student.button)  # nothing to reveal
    assert not student.success and not student.warning and not student.info
    radio = next(r for r in student.radio if r.key.startswith("lesson_choice"))
    radio.set_value(1).run()  # a choice while exploring
    student.button(key="room_rejoin").click().run()
    assert_ok(student)
    room_radio = next(r for r in student.radio if r.key.startswith("lesson_choice") and r.key.endswith("_room"))
    assert room_radio.value is None  # not carried back: nothing was sent
    lecturer.run()
    assert not any("answers so far (" in m.value for m in lecturer.markdown)


def test_a_room_that_closes_while_followed_says_so_once():
    from ui import lesson_room

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


def test_a_picture_change_within_a_step_starts_a_new_count():
    lecturer, code, _key = _lecturer()
    students = [_lesson(room=code) for _ in range(2)]
    for s in students:
        next(r for r in s.radio if r.key.startswith("lesson_choice")).set_value(0).run()
    lecturer.run()
    assert any("**2** answers so far" in m.value for m in lecturer.markdown)
    first_question = lecturer.session_state["lesson_question"]
    lecturer.radio(key="lesson_pick_photos").set_value("coffee").run()  # same step, another picture
    assert_ok(lecturer)
    assert lecturer.session_state["lesson_question"] != first_question
    assert any("**0** answers so far" in m.value for m in lecturer.markdown)
    students[0].run()  # follows to the new picture: a fresh radio, nothing chosen
    radio = next(r for r in students[0].radio if r.key.startswith("lesson_choice"))
    assert radio.value is None and not radio.disabled
    radio.set_value(1).run()
    lecturer.run()
    assert any("**1** answer so far" in m.value for m in lecturer.markdown)
    from ui import lesson_room

    room = lesson_room.store()
    assert room.counts(code, first_question, _key) == {0: 2}  # the first question's answers stay with it


def test_a_follower_on_another_question_cannot_answer():
    lecturer, code, _key = _lecturer()
    student = _lesson(room=code)
    from ui import lesson_room

    other = lesson_room.store().get(code).place
    import dataclasses

    lesson_room.store().move(code, _key, dataclasses.replace(other, question="0:ffffffffff"))  # not what it shows
    student.run()
    radio = next(r for r in student.radio if r.key.startswith("lesson_choice"))
    assert radio.disabled and any("another question than the lecturer's" in c.value for c in student.caption)


def _tagged(at: AppTest, prefix: str):
    return next(b for b in at.button if b.key and b.key.startswith(prefix))


def test_the_presenter_locks_counts_down_resets_and_exports():
    import csv
    import io

    from ui import lesson_room

    lecturer, code, key = _lecturer()
    students = [_lesson(room=code) for _ in range(3)]
    for i, s in enumerate(students[:2]):
        next(r for r in s.radio if r.key.startswith("lesson_choice")).set_value(i).run()
    lecturer.run()
    assert any("**2** answers so far" in m.value and "3 joined the room" in m.value for m in lecturer.markdown)
    _tagged(lecturer, "room_lock_").click().run()
    assert_ok(lecturer)
    late = students[2]
    late.run()
    radio = next(r for r in late.radio if r.key.startswith("lesson_choice"))
    assert radio.disabled and any("closed" in c.value for c in late.caption)
    _tagged(lecturer, "room_unlock_").click().run()
    late.run()
    next(r for r in late.radio if r.key.startswith("lesson_choice")).set_value(2).run()
    lecturer.run()
    assert any("**3** answers so far" in m.value for m in lecturer.markdown)
    qid = lecturer.session_state["lesson_question"]
    lecturer.selectbox(key=f"room_countdown_{qid.split(':')[1]}").set_value(60)
    _tagged(lecturer, "room_count_").click().run()
    assert 55 < lesson_room.store().get(code).closing[qid] <= 60
    students[0].run()
    assert any("Answers close in" in c.value for c in students[0].caption)
    export = lecturer.get("download_button")
    assert export, "the lecturer can export the answers"
    rows = list(csv.DictReader(io.StringIO(lesson_room.store().export_csv(code, key).decode())))
    counts = lesson_room.store().counts(code, qid, key)
    assert {i: int(r["count"]) for i, r in enumerate(rows) if r["question"] == qid and int(r["count"])} == dict(counts)
    assert sum(counts.values()) == 3
    _tagged(lecturer, "room_reset_").click().run()
    lecturer.run()
    assert any("**0** answers so far" in m.value for m in lecturer.markdown)
    assert qid not in lesson_room.store().get(code).closing


def test_followers_run_the_lecturers_model():
    lecturer, code, _key = _lecturer()
    lecturer.query_params["weights"] = "random"  # the lecturer switches to random weights (the sidebar's link form)
    lecturer.run()
    assert_ok(lecturer)
    student = _lesson(room=code)
    student.run()
    assert_ok(student)
    running = " ".join(c.value for c in student.sidebar.caption if "Running" in c.value)
    assert "weights: random" in running and student.session_state["weights_choice"] == "random"
    lecturer_q = lecturer.session_state["lesson_question"]
    radio = next(r for r in student.radio if r.key.startswith("lesson_choice"))
    assert not radio.disabled and lecturer_q.split(":")[1] in radio.key  # the same question, answerable

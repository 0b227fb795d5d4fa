"""A Lesson question as each role sees it: predict, then reveal. ``ask(session, question, step)``
is a call on the session's role (``RoomSession.role``), which draws that role's widget:

- solo: the answer is revealed with a button;
- lecturer: the question goes to the room; live counts, lock, countdown, reset, reveal to all;
- follower: the answer goes to the room (one per browser, changeable until the reveal);
- explorer (left the room to look around): nothing is revealed but by the lecturer, nothing sent.
"""

from __future__ import annotations

import streamlit as st

from senet_viz.i18n import _, source
from senet_viz.rooms import question_id
from ui import common, lesson_room
from ui.lesson_room import EXPLORER, FOLLOWER, LECTURER, SOLO, RoomSession


class _Role:
    widget_suffix = ""

    def __init__(self, session: RoomSession, question, step: int) -> None:
        self.session, self.question, self.step = session, question, step
        # answers, reveals and widgets belong to the question's English words: one question whatever the language
        self.qid = question_id(step, source(question.prompt), [source(c) for c in question.choices])
        self.tag = self.qid.split(":")[1]
        self.widget = f"lesson_choice_{step}_{self.tag}{self.widget_suffix}"
        room = session.room
        self.revealed = room is not None and self.qid in room.revealed

    def radio(self, **kw):
        st.markdown("**:material/help: " + _("Predict first.") + "** " + common.plain(self.question.prompt))
        return st.radio(_("Your answer"), range(len(self.question.choices)), key=self.widget, horizontal=True,
                        format_func=lambda k: common.plain(self.question.choices[k]), label_visibility="collapsed", **kw)

    def show_answer(self, choice) -> None:
        right, explanation = common.plain(self.question.choices[self.question.answer]), common.plain(self.question.explanation)
        if choice is None:
            st.info(_("Answer: **{right}**. {explanation}", right=right, explanation=explanation), icon=":material/lightbulb:")
        elif self.question.is_right(choice):
            st.success(_("Right: **{right}**. {explanation}", right=right, explanation=explanation),
                       icon=":material/check_circle:")
        else:
            st.warning(_("The measured answer is **{right}**, not {chosen}. {explanation}", right=right,
                         chosen=common.plain(self.question.choices[choice]), explanation=explanation),
                       icon=":material/lightbulb:")
        if self.revealed:
            lesson_room.class_answers(self.question, self.qid)


class Solo(_Role):
    def ask(self) -> bool:
        return self.reveal_on_click(self.radio(index=None))

    def reveal_on_click(self, choice) -> bool:
        revealed_key = f"lesson_revealed_{self.step}_{self.tag}"
        if not st.session_state.get(revealed_key):
            if st.button(_("Reveal the answer"), key=f"lesson_reveal_{self.step}_{self.tag}", icon=":material/visibility:"):
                st.session_state[revealed_key] = True
            else:
                return False
        self.show_answer(choice)
        return True


class Lecturer(_Role):
    def ask(self) -> bool:
        self.session.asks(self.question, self.qid)
        choice = self.radio(index=None)
        room = self.session.room
        if not self.revealed:
            lesson_room.live_counts(self.question, self.qid)
            lesson_room.presenter_controls(room, self.qid, self.tag)
            st.button(_("Reveal to the class"), key=f"lesson_reveal_{self.step}_{self.tag}", icon=":material/visibility:",
                      on_click=lesson_room.reveal, args=(self.qid,), type="primary")
            return False
        self.show_answer(choice)
        st.button(_("Ask this question again"), key=f"room_reset_{self.tag}", icon=":material/restart_alt:",
                  on_click=lesson_room.reset, args=(self.qid,), help=_("Forgets its answers and its reveal, for everyone."))
        return True


class Follower(_Role):
    # the room's radio starts from the answer the room holds; a choice made while exploring lives
    # in another widget and is never carried back
    widget_suffix = "_room"

    def ask(self) -> bool:
        room = self.session.room
        # a screen that asks another question than the lecturer's (an uploaded picture, other weights)
        # cannot answer: the answer would count for a question nobody is asking
        elsewhere = room.place.question is not None and room.place.question != self.qid
        held = lesson_room.my_answer(self.qid) if not elsewhere and self.widget not in st.session_state else None
        choice = self.radio(index=held, disabled=self.revealed or elsewhere or room.closed(self.qid),
                            on_change=lesson_room.submit, args=(self.qid, self.widget))
        if elsewhere:
            st.caption(":material/block: " + _("Your screen shows another question than the lecturer's (another picture, "
                                               "block or model), so your answer would count for nothing: the lecturer's "
                                               "question is answered on the lecturer's picture and model."))
            return False
        if not self.revealed:
            st.caption(lesson_room.answer_state(room, self.qid))
            return False
        self.show_answer(choice)
        return True


class Explorer(Solo):
    def ask(self) -> bool:
        choice = self.radio(index=None)
        if not self.revealed:  # no peeking: in a room the lecturer reveals, for everyone
            st.caption(":material/visibility_off: " + _("The lecturer reveals this answer for the room. What you choose "
                                                        "while exploring stays here and is not sent."))
            return False
        return self.reveal_on_click(choice)


ROLES = {SOLO: Solo, LECTURER: Lecturer, FOLLOWER: Follower, EXPLORER: Explorer}


def ask(session: RoomSession, question, step: int) -> bool:
    """Predict, then reveal, as the session's role does it; True once the answer is revealed."""
    return ROLES[session.role](session, question, step).ask()

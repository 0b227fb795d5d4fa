"""The Lesson page's rooms: the lecturer's session moves a room, students' sessions follow it and
answer. Streamlit glue over ``senet_viz.rooms``; the store is one per process (or Redis).

``RoomSession`` is the one owner of a session's room: every room-related key of the session's
state is written here and nowhere else, and pages ask it (its ``role``, the ``room`` as read this
run, the place to send). Its keys: ``room`` = {"code", "key" (the lecturer's only), "following"};
``room_session``, this browser's signed answer id (also in the ``senet_viz_voter`` cookie);
``room_pushed``, the place the lecturer last sent; ``room_described``, the questions already put
into the store in words; ``room_notice``, a line about the room to say once (it closed, a link
held a key); ``room_adopted``, the
room's model a follower took on; ``room_drawn``, the room's version a follower's screen shows;
``lesson_question``, the question the lecturer's screen asks;
``lecturer_verified`` is ``ui.trust``'s. The room itself (place, answers, reveals, locks) lives
only in the store.
"""

from __future__ import annotations

import io

import streamlit as st

from senet_viz import gallery, plots
from senet_viz.i18n import _, ngettext, source
from senet_viz.lesson import STEPS
from senet_viz.rooms import Place, Room, RoomError, RoomStore, store_from_environment
from ui import common, internals, room_wake

FOLLOW_EVERY = 0.5  # seconds between the lecturer's looks at the answers


@st.cache_resource(show_spinner=False)
def store() -> RoomStore:
    return store_from_environment(steps=len(STEPS))


@st.cache_resource(show_spinner=False)
def waker() -> room_wake.Waker:
    """This process's followers, rerun when their room changes (``room_wake``)."""
    made = room_wake.Waker()
    if made.available:
        store().watch(made.room_changed)
    return made


def store_failure(exc: Exception) -> bool:
    """The Redis client's connection and timeout errors: the store, not the user, failed."""
    return type(exc).__module__.split(".")[0] == "redis"


def call(fn, *args):
    """A store call; a user's mistake or an unreachable store becomes one line, and None."""
    try:
        return fn(*args)
    except RoomError as exc:
        common.error(str(exc))
    except Exception as exc:
        if not store_failure(exc):
            raise
        common.error(_("the room store does not answer ({error}); the lesson goes on without the room",
                       error=type(exc).__name__))
    return None


VOTER_COOKIE = "senet_viz_voter"


def session_id() -> str:
    """This browser's anonymous answer id, as the store signed it (``RoomStore.voters``): the one its cookie holds when this server signed it (a
    reload or a second tab of the same browser answers as the same voice), else a new one the
    store signs, written into the cookie while following (``remember_browser``). An invented or
    altered cookie is a new voice, never another's."""
    if "room_session" not in st.session_state:
        held = (st.context.cookies or {}).get(VOTER_COOKIE, "")
        st.session_state.room_session = held if store().voters.verify(held) else store().voters.issue()
    return st.session_state.room_session


def remember_browser() -> None:
    """The signed answer id into a cookie of this site (an invisible component of the same origin),
    once a session; a reload then finds it in the request and keeps the answers given. The cookie
    is Secure under HTTPS and SameSite=Strict; a cookie set by a script cannot be HttpOnly."""
    token = session_id()
    if (st.context.cookies or {}).get(VOTER_COOKIE) == token or st.session_state.get("room_cookie_set"):
        return
    # the HTML holds only the token this server made (hex digits and a dot), never user text
    st.iframe("<script>let secure = location.protocol === 'https:'; try { secure = window.top.location.protocol === "
              f"'https:'; }} catch (e) {{}} document.cookie = '{VOTER_COOKIE}={token}; path=/; max-age=43200; "
              "SameSite=Strict' + (secure ? '; Secure' : '');</script>", height=1)
    st.session_state.room_cookie_set = True


def current() -> dict | None:
    return st.session_state.get("room")


def is_lecturer() -> bool:
    room = current()
    return bool(room and room["key"])


def following() -> bool:
    room = current()
    return bool(room and not room["key"] and room["following"])


def enter_from_link() -> None:
    """?room=CODE joins as a student. A link never makes a lecturer: a ``key`` in it is dropped
    unread (the lecturer continues elsewhere by typing the key, ``take_over``)."""
    code = st.query_params.get("room")
    if "key" in st.query_params:
        st.query_params.pop("key", None)
        st.session_state.room_notice = _("lecturer keys are not taken from links; open the room and type its key under "
                                         "'I am the lecturer'")
    room = current()
    if not code or (room and room["code"] == code.upper()):
        return
    st.session_state.pop("room", None)
    rooms = call(store)
    found = call(rooms.join, code, session_id()) if rooms is not None else None
    if not found:
        st.query_params.pop("room", None)
        return
    st.session_state.room = {"code": found.code, "key": None, "following": True}
    st.session_state.room_pushed = None
    st.query_params["room"] = found.code


def start(place: Place) -> None:
    """A new room at ``place``, if this browser may start one (``start_refusal``); a session's
    earlier room is closed first: one live room per session."""
    refused = common.lecturer_refusal(st.session_state.pop("room_password", None))
    if refused:
        common.error(refused)
        return
    rooms = call(store)
    if rooms is None:
        return
    if is_lecturer():
        close()
    made = call(rooms.create, place)
    if made:
        code, key = made
        st.session_state.room = {"code": code, "key": key, "following": False}
        st.session_state.room_pushed = place
        st.query_params["room"] = code


def close() -> None:
    """The lecturer ends the room for everyone."""
    room = current()
    if room and room["key"]:
        call(store().close, room["code"], room["key"])
    leave()


def take_over() -> None:
    """A lecturer on another tab or machine: the room's key, typed into a password field."""
    room, key = current(), st.session_state.pop("room_key_typed", "")
    if not room or not key:
        return
    if call(store().is_lecturer, room["code"], key.strip()):
        st.session_state.room = {"code": room["code"], "key": key.strip(), "following": False}
        st.session_state.room_pushed = None
    else:
        common.error(_("that is not room {code}'s key: you stay a student", code=room["code"]))


def leave() -> None:
    st.session_state.pop("room", None)
    st.query_params.pop("room", None)
    forget_session()


def set_following(value: bool) -> None:
    st.session_state.room["following"] = value
    if not value:
        forget_session()


def forget_session() -> None:
    """This session no longer follows a room: no one wakes it."""
    session = room_wake.current_session()
    if session is not None:
        waker().forget(session[0])


def room_now() -> Room | None:
    """The session's room as it is now; None when there is none, or it closed (said once, on the
    page's next run: a follower finds out inside its fragment, which then redraws the page)."""
    room = current()
    if room is None:
        return None
    try:
        return store().get(room["code"])
    except RoomError as exc:
        st.session_state.room_notice = _("{reason}. You are on your own now.", reason=exc)
    except Exception as exc:
        if not store_failure(exc):
            raise
        st.session_state.room_notice = _("the room store does not answer; the lesson goes on without the room")
    leave()
    return None


def notice() -> None:
    """The line about the session's room (it closed, a link held a key), once: on a run that is
    not cut short by taking on the room's model, which would take the line with it."""
    text = st.session_state.pop("room_notice", None)
    if text:
        common.error(text)


def apply(place: Place, block_names: list[str]) -> None:
    """Show the room's place in this session: step, pictures, block (before any widget is drawn)."""
    st.session_state.lesson_step = place.step
    if place.picture and gallery.resolve(place.picture) == place.picture and st.session_state.get("picture_key") != place.picture:
        common.use_gallery_picture(place.picture)
    if place.other and gallery.resolve(place.other) == place.other:
        st.session_state.lesson_other = place.other
    if place.block in block_names:
        st.session_state.lesson_block = place.block


def push(place: Place) -> None:
    """The lecturer's place into the room, when it changed."""
    room = current()
    if room and room["key"] and st.session_state.get("room_pushed") != place:
        if call(store().move, room["code"], room["key"], place) is not None:
            st.session_state.room_pushed = place


def look() -> None:
    """A follower's look at the room: the page is drawn again only when the room moved since the
    screen was drawn."""
    room = current()
    if room is None or not room["following"]:
        return
    now = room_now()
    if now is None or now.version != st.session_state.get("room_drawn"):
        st.rerun(scope="app")


look_now_and_then = st.fragment(look, run_every=room_wake.LOOK_EVERY)
look_often = st.fragment(look, run_every=room_wake.POLL_EVERY)


def follow(version: int) -> None:
    """The screen shows the room at ``version``: this session is woken when the room changes
    (its screen alone, when it is drawn in a fragment)."""
    st.session_state.room_drawn = version
    wake, session = waker(), room_wake.current_session()
    if wake.available and session is not None:
        wake.follow(current()["code"], *session, internals.current_fragment())


def student_bar(room: Room) -> None:
    """What a student in a room sees above the lesson: whom they follow, and leave / rejoin."""
    left, right = st.columns([4, 1])
    if following():
        left.markdown(":material/group: " + _("Following room **{code}**: your screen moves with the lecturer's.",
                                               code=room.code))
        right.button(_("Leave to explore"), key="room_leave", on_click=set_following, args=(False,))
        if room.place.picture is None:
            st.caption(_("The lecturer's picture is an upload, which a room cannot share: you see your own picture."))
    else:
        left.markdown(":material/explore: " + _("You left room **{code}** to explore; the lecturer is at step {step}.",
                                                 code=room.code, step=room.place.step + 1))
        right.button(_("Rejoin"), key="room_rejoin", type="primary", on_click=set_following, args=(True,))
    with st.popover(_("I am the lecturer"), icon=":material/key:"):
        st.text_input(_("Room key"), type="password", key="room_key_typed",
                      help=_("The key the lecturer's screen shows under 'Room key'. It is never part of a link."))
        st.button(_("Continue as lecturer"), key="room_take_over", on_click=take_over)


@st.cache_resource(max_entries=16, show_spinner=False)
def qr_png(link: str) -> bytes:
    import segno

    buf = io.BytesIO()
    segno.make(link, error="m").save(buf, kind="png", scale=6, border=2)
    return buf.getvalue()


def lecturer_panel(room: Room) -> None:
    """The room's code, the students' link and its QR code; the lecturer link, kept off the projector."""
    base = (st.context.url or "lesson").split("?")[0]
    link = f"{base}?room={room.code}"
    qr, text = st.columns([1, 3])
    qr.image(qr_png(link), caption=_("Scan to follow"), width=180, alt=_("QR code of the room's link, {link}", link=link))
    with text:
        st.markdown("### " + _("Room `{code}`", code=room.code))
        st.markdown(_("Students open **{link}** (or scan the code). Their screens follow your steps, picture and block; "
                      "their answers are counted here, without names.", link=link))
        with st.popover(_("Room key (not for the projector)"), icon=":material/key:"):
            st.caption(_("To continue as lecturer in another tab or on another machine: open the students' link there "
                         "and type this key under 'I am the lecturer'. Whoever has it can move the room."))
            st.code(current()["key"], language=None)
        data = call(store().export_csv, room.code, current()["key"])
        if data is not None:
            st.download_button(_("Export answers (CSV)"), data, file_name=f"room-{room.code}-answers.csv", mime="text/csv",
                               key="room_export", icon=":material/download:",
                               help=_("Per question: prompt, choices, counts, the measured answer, time of the reveal; "
                                      "no names."))
        st.button(_("Close the room for everyone"), key="room_close", on_click=close,
                  help=_("Ends the room: students are told it closed, and its answers are gone."))


def counts_chart(question, counts: dict[int, int]):
    return plots.answer_counts([str(c) for c in question.choices], question.answer, counts)


def describe(question, qid: str) -> None:
    """The lecturer's question in words into the room, once per session and question (for the export)."""
    room, done = current(), st.session_state.setdefault("room_described", set())
    if room and room["key"] and qid not in done:
        call(store().describe, room["code"], room["key"], qid, source(question.prompt),
             [source(c) for c in question.choices], question.answer)
        done.add(qid)


def answer_state(room: Room, qid: str) -> str:
    """What a following student reads under the question: open, closing in N s, or closed."""
    if room.closed(qid):
        return ":material/lock: " + _("Answers to this question are closed; the lecturer reveals the answer for everyone.")
    left = room.closing.get(qid)
    when = " " + _("Answers close in {seconds:.0f} s.", seconds=left) if left is not None else ""
    return ":material/how_to_vote: " + _("Your answer goes to the room, without your name; you can change it until the "
                                         "lecturer reveals.") + when


def presenter_controls(room: Room, qid: str, tag: str) -> None:
    """Lock or reopen the answers, a countdown that locks them at zero, reset the question."""
    cols = st.columns([1, 1, 1, 1])
    if room.closed(qid):
        cols[0].button(_("Reopen answers"), key=f"room_unlock_{tag}", icon=":material/lock_open:",
                       on_click=set_deadline, args=(qid, None))
    else:
        cols[0].button(_("Lock answers"), key=f"room_lock_{tag}", icon=":material/lock:", on_click=set_deadline, args=(qid, 0))
        seconds = cols[1].selectbox(_("Countdown"), [15, 30, 60, 120], index=1, key=f"room_countdown_{tag}",
                                    format_func=lambda n: _("{seconds} s", seconds=n), label_visibility="collapsed")
        cols[2].button(_("Start countdown"), key=f"room_count_{tag}", icon=":material/timer:",
                       on_click=lambda: set_deadline(qid, st.session_state.get(f"room_countdown_{tag}", seconds)))
    cols[3].button(_("Reset answers"), key=f"room_reset_{tag}", icon=":material/restart_alt:", on_click=reset, args=(qid,))
    left = room.closing.get(qid)
    if left is not None and left > 0:
        st.caption(":material/timer: " + _("Answers close in {seconds:.0f} s.", seconds=left))


def set_deadline(qid: str, seconds: float | None) -> None:
    room = current()
    call(store().set_deadline, room["code"], room["key"], qid, seconds)


def reset(qid: str) -> None:
    room = current()
    call(store().reset, room["code"], room["key"], qid)


def my_answer(question: str) -> int | None:
    """The answer this session gave the room's ``question``, if any."""
    room = current()
    return call(store().mine, room["code"], question, session_id()) if room else None


def submit(question: str, widget_key: str) -> None:
    room, choice = current(), st.session_state.get(widget_key)
    if room and choice is not None:
        call(store().answer, room["code"], question, session_id(), int(choice))


@st.fragment(run_every=FOLLOW_EVERY)
def live_counts(question, qid: str) -> None:
    """The lecturer's count of answers so far, each second."""
    room = current()
    counts = call(store().counts, room["code"], qid, room["key"]) if room else None
    if counts is not None:
        total = sum(counts.values())
        joined = call(store().followers, room["code"]) or 0
        shares = ", ".join(f"{common.plain(question.choices[i])}: {n}" for i, n in sorted(counts.items())
                           if i < len(question.choices))
        st.markdown(":material/how_to_vote: " + ngettext("**{n}** answer so far", "**{n}** answers so far", total)
                    + (f" ({shares})" if shares else "") + " · " + _("{n} joined the room", n=joined))


def reveal(qid: str) -> None:
    room = current()
    call(store().reveal, room["code"], room["key"], qid)


def class_answers(question, qid: str) -> None:
    room = current()
    counts = call(store().counts, room["code"], qid, room["key"]) if room else None
    if counts is not None:
        common.draw(counts_chart(question, counts), key=f"room_counts_{qid}")


SOLO, LECTURER, FOLLOWER, EXPLORER = "solo", "lecturer", "follower", "explorer"


class RoomSession:
    """This session's relation to a room, for one run of the Lesson page: ``role`` (solo,
    lecturer, follower or explorer), the ``room`` as read from the store this run, and every
    change of the session's room state. Made by ``for_this_run`` before any widget is drawn."""

    def __init__(self, room: Room | None, block_names: list[str], model_spec: str | None) -> None:
        self.room, self.block_names, self.model_spec = room, block_names, model_spec
        self.drawn = False  # the screen was drawn once in this run of the page

    @classmethod
    def for_this_run(cls, block_names: list[str], model_spec: str | None) -> RoomSession:
        """Join from a link, read the room, say once that it closed, and for a follower take on the
        room's model (once per model) and place."""
        enter_from_link()
        made = cls(room_now(), block_names, model_spec)
        if made.room is not None and made.role == FOLLOWER:
            wanted = made.room.place.model
            if wanted and wanted != model_spec and st.session_state.get("room_adopted") != wanted:
                st.session_state.room_adopted = wanted  # once per model: a model that fails to load falls back, not loops
                common.adopt_model(wanted)  # students answer the lecturer's question: on the lecturer's model
            apply(made.room.place, block_names)
        notice()
        st.session_state.lesson_question = None  # set by the lecturer's question on a step with one
        return made

    def _read_again(self) -> bool:
        """The room as it is now, for a follower's screen rerun alone; False when the whole page
        must be drawn instead: the room closed (said on that run), the session no longer follows
        it, or the room's model is not the one this page runs."""
        self.room = room_now()
        if self.room is None or self.role != FOLLOWER or self.room.place.model not in (None, self.model_spec):
            return False
        apply(self.room.place, self.block_names)
        st.session_state.lesson_question = None
        return True

    def draw(self, screen) -> None:
        """``screen(self)`` draws the lesson under the page's bar. A follower's screen is a fragment
        that a room's change reruns alone (``room_wake``): a class's wake-up then leaves the
        sidebar, the student bar and the page's frame as they are (a third of the class's CPU at a
        step change, docs/benchmarks.md); a look now and then besides."""
        if self.role != FOLLOWER:
            screen(self)
            return
        _followed(self, screen)
        (look_now_and_then if waker().available else look_often)()

    @property
    def role(self) -> str:
        if self.room is None:
            return SOLO
        return LECTURER if is_lecturer() else FOLLOWER if following() else EXPLORER

    @property
    def question(self) -> str | None:
        """The question the lecturer's screen asks on this run (None on a step without one)."""
        return st.session_state.get("lesson_question")

    def asks(self, question, qid: str) -> None:
        """The lecturer's screen asks ``question``: it travels with the room's place, in words too."""
        st.session_state.lesson_question = qid
        describe(question, qid)

    def place(self, step: int, block: str | None, model_spec: str | None) -> Place:
        """Where this session is, as a room carries it: the one place both a new room and the
        lecturer's moves start from (a picture that is not the gallery's is not carried)."""
        from_gallery = st.session_state.get("picture_source", "gallery") == "gallery"
        return Place(step, st.session_state.get("picture_key") if from_gallery else None, st.session_state.get("lesson_other"),
                     block or st.session_state.get("lesson_block"), self.question, model_spec)

    def after_drawing(self, place: Place) -> None:
        """The lecturer's place into the room; a follower's note of the room's version it shows."""
        if self.role == LECTURER:
            push(place)
        elif self.role == FOLLOWER:
            follow(self.room.version)


@st.fragment
def _followed(session: RoomSession, screen) -> None:
    """A follower's screen. Rerun alone (the same ``session`` object, kept by Streamlit with the
    fragment), it reads the room again first, and draws the whole page where the room changed
    more than the screen can show."""
    if session.drawn and not session._read_again():
        st.rerun(scope="app")
    session.drawn = True
    screen(session)

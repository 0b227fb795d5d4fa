"""Rooms: a lecturer's lesson that students' screens follow, and the class's answers.

A room holds the lecturer's place in the lesson (step, picture, second picture, block), the
questions whose answers are revealed, and the answers: one per student session and question, a
choice index, no names, keyed by the question (``question_id``: the step and a digest of its prompt and
choices), so answers to another picture's or block's question on the same step are never mixed. Whoever holds the room's lecturer key moves it, reveals and closes it; the code
alone lets a student follow and answer. A room expires ``ttl`` seconds after the lecturer's last
action, or ``unjoined_ttl`` (minutes) while no student has joined it, so rooms nobody uses do not
hold the store's places; a store holds at most ``max_rooms`` rooms and a room at most
``max_answers`` answers to each step, so a flood on one question cannot stop another.

Two stores behind one interface: ``MemoryRooms`` in this process (the default) and
``RedisRooms`` (``SENET_VIZ_ROOMS=redis://HOST:PORT/0``), which several app processes share.
``watch(callback)`` tells a process of every change its followers must see (a move, reveal, lock,
reset or close), whichever process made it (Redis: publish and subscribe), so a follower is
woken when the room moves instead of asking it again and again.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import threading
import time
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from .errors import SenetVizError
from .guard import Signer, is_loopback, spreadsheet_cell
from .lesson import STEPS

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a projector
CODE_LENGTH = 6
_CODE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
TTL = float(os.environ.get("SENET_VIZ_ROOM_TTL", 4 * 3600))
UNJOINED_TTL = float(os.environ.get("SENET_VIZ_UNJOINED_ROOM_TTL", 10 * 60))
MAX_ROOMS = int(os.environ.get("SENET_VIZ_MAX_ROOMS", 50))
MAX_ANSWERS = int(os.environ.get("SENET_VIZ_MAX_ANSWERS", 5000))
#: Steps and choices an answer may name: bounds on what a session can write.
MAX_CHOICE = 16
MAX_TEXT = 600  # characters of a prompt or choice kept for the export
MAX_QUESTIONS = 500  # questions described for the export, per room


class RoomError(SenetVizError):
    """A room that cannot be used as asked: a wrong or expired code, a full store, no lecturer key."""


@dataclass(frozen=True)
class Place:
    """Where the lecturer is: a lesson step (0-based), gallery keys of the picture and the
    second picture (None for an upload, which a room cannot carry), the SE block, and the
    question the lecturer's screen asks (``question_id``; None on a step without one), and the
    model as ``name|default`` or ``name|random`` (None for an uploaded weights file, which a room
    cannot carry), so followers run the lecturer's model."""

    step: int = 0
    picture: str | None = None
    other: str | None = None
    block: str | None = None
    question: str | None = None
    model: str | None = None


_QUESTION = re.compile(r"^(-?\d{1,6}):[0-9a-f]{10}$")


def question_id(step: int, prompt: str, choices: list[str]) -> str:
    """A question's identity in a room: its step and a digest of its prompt and choices, so that
    answers to another picture's, block's or model's question are never added together."""
    tag = hashlib.sha1((prompt + "|".join(choices)).encode()).hexdigest()[:10]
    return f"{step}:{tag}"


def _check_question(question: str) -> str:
    match = _QUESTION.match(str(question))
    if not match:
        raise RoomError("that answer does not belong to this lesson")
    _check_step(int(match.group(1)))
    return str(question)


@dataclass(frozen=True)
class Room:
    code: str
    place: Place
    version: int  # grows with every move and reveal
    revealed: frozenset[str] = field(default_factory=frozenset)  # question ids
    #: question id -> seconds until its answers close (0 or less: closed), for questions the
    #: lecturer locked or put a countdown on
    closing: dict[str, float] = field(default_factory=dict)

    def closed(self, question: str) -> bool:
        return question in self.closing and self.closing[question] <= 0


def normalise(code: str) -> str:
    """A code as typed (any case, spaces) in its stored form; RoomError when it cannot be one."""
    text = re.sub(r"\s+", "", str(code)).upper()
    if not _CODE.match(text):
        raise RoomError(f"'{str(code)[:20]}' is not a room code: {CODE_LENGTH} letters and digits, as the lecturer's "
                        "screen shows them")
    return text


def _digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _check_place(place: Place) -> None:
    _check_step(place.step)
    if place.model is not None and (len(place.model) > 200 or not place.model.endswith(("|default", "|random"))):
        raise RoomError("a room carries a model as name|default or name|random")
    if place.question is not None:
        _check_question(place.question)


def _check_step(step: int) -> int:
    """A step of the lesson (0-based); RoomError for any other, so no follower indexes past it."""
    if not (isinstance(step, int) and 0 <= step < len(STEPS)):
        raise RoomError(f"the lesson has steps 1 to {len(STEPS)}")
    return step


def _check_answer(question: str, choice: int) -> str:
    if not (isinstance(choice, int) and 0 <= choice < MAX_CHOICE):
        raise RoomError("that answer does not belong to this lesson")
    return _check_question(question)


PASSWORD_ENV = "SENET_VIZ_LECTURER_PASSWORD"


def start_refusal(configured: str | None, given: str | None, client: str | None) -> str | None:
    """Why this browser may not start a room (one line), or None when it may. With a lecturer
    password configured, whoever types it; without one, only a browser on the server's own
    machine (loopback), so a student on the network cannot fill the store's places."""
    if configured:
        if given and hmac.compare_digest(given.encode(), configured.encode()):
            return None
        return "wrong lecturer password: no room was started" if given else "type the lecturer password to start a room"
    if is_loopback(client):
        return None
    return (f"rooms start only from a browser on this server's own machine while no lecturer password is set; the "
            f"operator sets {PASSWORD_ENV} (or lecturer_password in Streamlit's secrets) to let lecturers start rooms "
            "from elsewhere")


def answers_csv(questions: dict[str, dict], answers: dict[str, Counter], revealed_at: dict[str, float]) -> bytes:
    """The export: ``question, step, prompt, choice, count, measured_answer, revealed_at`` rows (UTC
    ISO time, empty when not revealed), questions in step order."""
    from datetime import datetime, timezone

    out = io.StringIO()
    rows = csv.writer(out)
    rows.writerow(["question", "step", "prompt", "choice", "count", "measured_answer", "revealed_at"])
    for qid in sorted(questions, key=lambda q: (int(q.split(":")[0]), q)):
        text, counts = questions[qid], answers.get(qid, Counter())
        when = revealed_at.get(qid)
        stamp = datetime.fromtimestamp(when, timezone.utc).isoformat(timespec="seconds") if when else ""
        right = text["choices"][text["answer"]] if 0 <= text["answer"] < len(text["choices"]) else ""
        for i, choice in enumerate(text["choices"]):
            rows.writerow([spreadsheet_cell(v) for v in (qid, int(qid.split(":")[0]) + 1, text["prompt"], choice,
                                                          counts.get(i, 0), right, stamp)])
    return out.getvalue().encode()


def duration(seconds: float) -> str:
    """A room's lifetime as people say it: '4 hours', '1 hour', '30 minutes', '45 seconds'."""
    if seconds >= 3600 and seconds % 1800 == 0:
        return "1 hour" if seconds == 3600 else f"{seconds / 3600:g} hours"
    if seconds >= 60:
        return "1 minute" if round(seconds / 60) == 1 else f"{round(seconds / 60)} minutes"
    return f"{round(seconds)} seconds"


class RoomStore(ABC):
    def __init__(self, ttl: float = TTL, max_rooms: int = MAX_ROOMS, max_answers: int = MAX_ANSWERS,
                 unjoined_ttl: float = UNJOINED_TTL) -> None:
        self.ttl, self.max_rooms, self.max_answers = ttl, max_rooms, max_answers
        self.unjoined_ttl = min(unjoined_ttl, ttl)
        self._watchers: list[Callable[[str], None]] = []
        self._voters: Signer | None = None

    @property
    def voters(self) -> Signer:
        """Signs and checks the browsers' answer ids: only an id this store's secret signed counts,
        so an invented or altered id is a new voice, never a vote of its own or a classmate's."""
        if self._voters is None:
            self._voters = Signer(self._secret(), "voter")
        return self._voters

    def _secret(self) -> bytes:
        """The store's signing secret (every process sharing the store must have the same)."""
        return secrets.token_bytes(32)

    def watch(self, callback: Callable[[str], None]) -> None:
        """``callback(code)`` after every change of a room that its followers must see, made by any
        process sharing the store; it runs on the store's thread, so it must be short."""
        self._watchers.append(callback)

    def _changed(self, code: str) -> None:
        for callback in list(self._watchers):
            callback(code)

    def _announce(self, code: str) -> None:
        """Tell the watchers (of every process sharing the store) that ``code`` changed."""
        self._changed(code)

    def _missing(self, code: str) -> RoomError:
        unjoined = f", {duration(self.unjoined_ttl)} while nobody has joined" if self.unjoined_ttl < self.ttl else ""
        return RoomError(f"there is no room {code}: the code is mistyped, or the room expired (rooms close "
                         f"{duration(self.ttl)} after the lecturer's last step{unjoined})")

    def _closed(self, code: str) -> RoomError:
        return RoomError(f"the lecturer closed room {code}")

    def create(self, place: Place) -> tuple[str, str]:
        """A new room at ``place``: (code, lecturer key). The key is shown to the lecturer only."""
        _check_place(place)
        key = secrets.token_urlsafe(18)
        for _ in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))
            if self._create(code, _digest(key), place):
                return code, key
        raise RoomError("no free room code was found; try again")

    @abstractmethod
    def _create(self, code: str, digest: str, place: Place) -> bool:
        """False when ``code`` is taken; RoomError when the store is full."""

    @abstractmethod
    def get(self, code: str) -> Room:
        """The room; RoomError when there is none (mistyped or expired)."""

    @abstractmethod
    def _digest_of(self, code: str) -> str: ...

    def is_lecturer(self, code: str, key: str | None) -> bool:
        return bool(key) and hmac.compare_digest(self._digest_of(normalise(code)), _digest(key))

    def _lecturer(self, code: str, key: str | None) -> str:
        code = normalise(code)
        if not self.is_lecturer(code, key):
            raise RoomError(f"only the lecturer moves room {code} and reveals its answers")
        return code

    def move(self, code: str, key: str | None, place: Place) -> Room:
        code = self._lecturer(code, key)
        _check_place(place)
        self._move(code, place)
        self._announce(code)
        return self.get(code)

    @abstractmethod
    def _move(self, code: str, place: Place) -> None: ...

    def close(self, code: str, key: str | None) -> None:
        """The lecturer ends the room for everyone: its place in the store is free at once, and a
        student's next look says that the lecturer closed it."""
        code = self._lecturer(code, key)
        self._close(code)
        self._announce(code)

    @abstractmethod
    def _close(self, code: str) -> None: ...

    def _voter(self, token: str) -> str:
        """The answer id a token this store signed carries (``voters``); RoomError for any other."""
        ident = self.voters.verify(token)
        if ident is None:
            raise RoomError("this browser's answer id was not issued by this server: reload the page")
        return ident

    def join(self, code: str, session: str = "") -> Room:
        """A student joins (``session``: the browser's signed answer id, counted once among the
        followers; empty: not counted): from now on the room lives ``ttl`` after each lecturer action."""
        code = normalise(code)
        self._join(code, self._voter(session) if session else "")
        return self.get(code)

    @abstractmethod
    def _join(self, code: str, session: str) -> None: ...

    @abstractmethod
    def followers(self, code: str) -> int:
        """How many browsers joined the room."""

    def describe(self, code: str, key: str | None, question: str, prompt: str, choices: list[str], answer: int) -> None:
        """The lecturer's question in words, for the export (bounded: a prompt, at most MAX_CHOICE choices)."""
        code, question = self._lecturer(code, key), _check_question(question)
        text = {"prompt": str(prompt)[:MAX_TEXT], "choices": [str(c)[:MAX_TEXT] for c in choices[:MAX_CHOICE]],
                "answer": int(answer)}
        self._describe(code, question, json.dumps(text))

    @abstractmethod
    def _describe(self, code: str, question: str, text: str) -> None: ...

    def set_deadline(self, code: str, key: str | None, question: str, seconds: float | None) -> None:
        """Close the question's answers in ``seconds`` (0: lock now), or reopen them (None)."""
        code, question = self._lecturer(code, key), _check_question(question)
        self._deadline(code, question, None if seconds is None else max(0.0, float(seconds)))
        self._announce(code)

    @abstractmethod
    def _deadline(self, code: str, question: str, seconds: float | None) -> None: ...

    def reset(self, code: str, key: str | None, question: str) -> None:
        """Forget one question's answers, reveal and deadline: it is asked afresh."""
        code = self._lecturer(code, key)
        self._reset(code, _check_question(question))
        self._announce(code)

    @abstractmethod
    def _reset(self, code: str, question: str) -> None: ...

    def export_csv(self, code: str, key: str | None) -> bytes:
        """Every described question of the room: one row per choice with its count, the measured
        answer and when it was revealed; no names or answer ids."""
        code = self._lecturer(code, key)
        questions, answers, revealed_at = self._export(code)
        return answers_csv({q: json.loads(t) for q, t in questions.items()}, answers, revealed_at)

    @abstractmethod
    def _export(self, code: str) -> tuple[dict[str, str], dict[str, Counter], dict[str, float]]: ...

    def reveal(self, code: str, key: str | None, question: str) -> None:
        code = self._lecturer(code, key)
        self._reveal(code, _check_question(question))
        self._announce(code)

    @abstractmethod
    def _reveal(self, code: str, question: str) -> None: ...

    def answer(self, code: str, question: str, session: str, choice: int) -> None:
        """The answer of the browser whose signed answer id is ``session`` to ``question`` (``question_id``); it may change it until the reveal."""
        question = _check_answer(question, int(choice))
        self._answer(normalise(code), question, self._voter(session), int(choice))

    @abstractmethod
    def _answer(self, code: str, question: str, session: str, choice: int) -> None: ...

    def counts(self, code: str, question: str, key: str | None = None) -> Counter:
        """Answers per choice: for the lecturer at any time, for everyone once revealed."""
        code, question = normalise(code), _check_question(question)
        if not self.is_lecturer(code, key) and question not in self.get(code).revealed:
            raise RoomError("the class's answers are shown once the lecturer reveals them")
        return self._counts(code, question)

    @abstractmethod
    def _counts(self, code: str, question: str) -> Counter: ...

    def mine(self, code: str, question: str, session: str) -> int | None:
        """The answer ``session`` gave to ``question``, if any."""
        return self._mine(normalise(code), _check_question(question), self._voter(session))

    @abstractmethod
    def _mine(self, code: str, question: str, session: str) -> int | None: ...

    @abstractmethod
    def __len__(self) -> int:
        """Rooms open now."""


@dataclass
class _Entry:
    digest: str
    place: Place
    expires: float
    version: int = 1
    joined: bool = False
    revealed: set[str] = field(default_factory=set)
    answers: dict[tuple[str, str], int] = field(default_factory=dict)
    followers: set[str] = field(default_factory=set)
    deadlines: dict[str, float] = field(default_factory=dict)  # on the store's clock
    questions: dict[str, str] = field(default_factory=dict)
    revealed_at: dict[str, float] = field(default_factory=dict)  # wall time


class MemoryRooms(RoomStore):
    """Rooms in this process, behind one lock (every session of the process shares them)."""

    def __init__(self, *args, clock=time.monotonic, on_expiry=None, **kw) -> None:
        super().__init__(*args, **kw)
        self._clock, self._lock, self._rooms = clock, threading.Lock(), {}
        self._gone: dict[str, float] = {}  # rooms the lecturer closed, remembered as long as an unjoined room lives
        self._on_expiry = on_expiry  # called (outside the lock) after rooms expired

    def _purge(self) -> bool:
        now = self._clock()
        gone = [c for c, e in self._rooms.items() if e.expires <= now]
        for code in gone:
            del self._rooms[code]
        for code in [c for c, t in self._gone.items() if t <= now]:
            del self._gone[code]
        return bool(gone)

    def _life(self, e: _Entry) -> float:
        return self._clock() + (self.ttl if e.joined else self.unjoined_ttl)

    def sweep(self) -> int:
        """Remove expired rooms now (and run ``on_expiry`` if any went); the rooms left."""
        with self._lock:
            gone = self._purge()
            left = len(self._rooms)
        if gone and self._on_expiry is not None:
            self._on_expiry()
        return left

    def _entry(self, code: str) -> _Entry:
        self._purge()
        entry = self._rooms.get(code)
        if entry is None:
            raise self._closed(code) if code in self._gone else self._missing(code)
        return entry

    def _create(self, code: str, digest: str, place: Place) -> bool:
        with self._lock:
            self._purge()
            if code in self._rooms:
                return False
            if len(self._rooms) >= self.max_rooms:
                raise RoomError(f"this server already holds its {self.max_rooms} rooms; one frees up when a room "
                                "expires")
            if code in self._gone:
                return False
            self._rooms[code] = _Entry(digest, place, self._clock() + self.unjoined_ttl)
            return True

    def get(self, code: str) -> Room:
        code = normalise(code)
        self.sweep()  # the first look after a room expired hands its class's memory back
        with self._lock:
            e = self._entry(code)
            now = self._clock()
            return Room(code, e.place, e.version, frozenset(e.revealed),
                        {q: t - now for q, t in e.deadlines.items()})

    def _digest_of(self, code: str) -> str:
        with self._lock:
            return self._entry(code).digest

    def _move(self, code: str, place: Place) -> None:
        with self._lock:
            e = self._entry(code)
            e.place, e.version, e.expires = place, e.version + 1, self._life(e)

    def _reveal(self, code: str, question: str) -> None:
        with self._lock:
            e = self._entry(code)
            e.revealed.add(question)
            e.revealed_at.setdefault(question, time.time())
            e.version, e.expires = e.version + 1, self._life(e)

    def _close(self, code: str) -> None:
        with self._lock:
            self._entry(code)
            del self._rooms[code]
            self._gone[code] = self._clock() + self.unjoined_ttl

    def _join(self, code: str, session: str) -> None:
        with self._lock:
            e = self._entry(code)
            if session and len(e.followers) < self.max_answers:
                e.followers.add(session)
            if not e.joined:
                e.joined, e.expires = True, self._clock() + self.ttl

    def followers(self, code: str) -> int:
        with self._lock:
            return len(self._entry(normalise(code)).followers)

    def _describe(self, code: str, question: str, text: str) -> None:
        with self._lock:
            e = self._entry(code)
            if question in e.questions or len(e.questions) < MAX_QUESTIONS:
                e.questions[question] = text

    def _deadline(self, code: str, question: str, seconds: float | None) -> None:
        with self._lock:
            e = self._entry(code)
            if seconds is None:
                e.deadlines.pop(question, None)
            else:
                e.deadlines[question] = self._clock() + seconds
            e.version, e.expires = e.version + 1, self._life(e)

    def _reset(self, code: str, question: str) -> None:
        with self._lock:
            e = self._entry(code)
            e.answers = {k: v for k, v in e.answers.items() if k[0] != question}
            e.revealed.discard(question)
            e.deadlines.pop(question, None)
            e.revealed_at.pop(question, None)
            e.version, e.expires = e.version + 1, self._life(e)

    def _export(self, code: str) -> tuple[dict[str, str], dict[str, Counter], dict[str, float]]:
        with self._lock:
            e = self._entry(code)
            answers: dict[str, Counter] = {}
            for (q, _), c in e.answers.items():
                answers.setdefault(q, Counter())[c] += 1
            return dict(e.questions), answers, dict(e.revealed_at)

    def _answer(self, code: str, question: str, session: str, choice: int) -> None:
        with self._lock:
            e = self._entry(code)
            if question in e.revealed:
                raise RoomError("the answer to this question is already revealed")
            if question in e.deadlines and e.deadlines[question] <= self._clock():
                raise RoomError("answers to this question are closed")
            if (question, session) not in e.answers and sum(q == question for q, _ in e.answers) >= self.max_answers:
                raise RoomError(f"room {code} holds its {self.max_answers} answers to this question")
            e.answers[(question, session)] = choice

    def _counts(self, code: str, question: str) -> Counter:
        with self._lock:
            return Counter(c for (q, _), c in self._entry(code).answers.items() if q == question)

    def _mine(self, code: str, question: str, session: str) -> int | None:
        with self._lock:
            return self._entry(code).answers.get((question, session))

    def __len__(self) -> int:
        return self.sweep()


# Redis: a room is eight keys that expire together (the place; the revealed questions; the answers;
# the answers per question; the followers; the deadlines; the questions in words; the reveal
# times), plus one sorted set of open rooms (score: expiry time) for the cap, and a short-lived
# mark of a room its lecturer closed. Each change is one Lua script, so processes never see half
# of one. A room lives ARGV[2] ms (unjoined) until a student joins, then ARGV[9].
_CREATE = """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
if redis.call('EXISTS', KEYS[2]) == 1 or redis.call('EXISTS', KEYS[3]) == 1 then return -1 end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[3]) then return 0 end
redis.call('HSET', KEYS[2], 'digest', ARGV[5], 'step', ARGV[6], 'picture', ARGV[7], 'other', ARGV[8], 'block', ARGV[9], 'question', ARGV[10], 'model', ARGV[11], 'version', 1)
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
return 1
"""
_TOUCH = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
local act = ARGV[3]
if act == 'move' then
  redis.call('HSET', KEYS[2], 'step', ARGV[4], 'picture', ARGV[5], 'other', ARGV[6], 'block', ARGV[7], 'question', ARGV[10], 'model', ARGV[11])
elseif act == 'reveal' then
  redis.call('SADD', KEYS[3], ARGV[4])
  redis.call('HSETNX', KEYS[9], ARGV[4], ARGV[5])
elseif act == 'deadline' then
  if ARGV[5] == '' then redis.call('HDEL', KEYS[7], ARGV[4]) else redis.call('HSET', KEYS[7], ARGV[4], ARGV[5]) end
elseif act == 'reset' then
  local prefix = ARGV[4] .. '|'
  for _, f in ipairs(redis.call('HKEYS', KEYS[4])) do
    if string.sub(f, 1, #prefix) == prefix then redis.call('HDEL', KEYS[4], f) end
  end
  redis.call('SREM', KEYS[3], ARGV[4])
  redis.call('HDEL', KEYS[5], ARGV[4])
  redis.call('HDEL', KEYS[7], ARGV[4])
  redis.call('HDEL', KEYS[9], ARGV[4])
elseif act == 'join' then
  if ARGV[4] ~= '' and redis.call('SCARD', KEYS[6]) < tonumber(ARGV[5]) then redis.call('SADD', KEYS[6], ARGV[4]) end
  if redis.call('HGET', KEYS[2], 'joined') == '1' then
    redis.call('PEXPIRE', KEYS[6], redis.call('PTTL', KEYS[2]))
    return 1
  end
  redis.call('HSET', KEYS[2], 'joined', '1')
end
if act ~= 'join' then redis.call('HINCRBY', KEYS[2], 'version', 1) end
local ttl = ARGV[2]
if redis.call('HGET', KEYS[2], 'joined') == '1' then ttl = ARGV[9] end
for i = 2, 9 do if redis.call('EXISTS', KEYS[i]) == 1 then redis.call('PEXPIRE', KEYS[i], ttl) end end
redis.call('ZADD', KEYS[1], tonumber(ARGV[1]) + tonumber(ttl), ARGV[8])
return 1
"""
_ANSWER = """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('SISMEMBER', KEYS[2], ARGV[4]) == 1 then return -2 end
local d = redis.call('HGET', KEYS[5], ARGV[4])
if d and tonumber(d) <= tonumber(ARGV[5]) then return -3 end
if redis.call('HEXISTS', KEYS[3], ARGV[1]) == 0 then
  if tonumber(redis.call('HGET', KEYS[4], ARGV[4]) or '0') >= tonumber(ARGV[3]) then return 0 end
  redis.call('HINCRBY', KEYS[4], ARGV[4], 1)
end
redis.call('HSET', KEYS[3], ARGV[1], ARGV[2])
local ttl = redis.call('PTTL', KEYS[1])
redis.call('PEXPIRE', KEYS[3], ttl)
redis.call('PEXPIRE', KEYS[4], ttl)
return 1
"""
_CLOSE = """
if redis.call('EXISTS', KEYS[2]) == 0 then return 0 end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9])
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('SET', KEYS[10], '1', 'PX', ARGV[2])
return 1
"""


class RedisRooms(RoomStore):
    """Rooms in Redis, shared by every app process that points at the same server."""

    def __init__(self, url: str, *args, prefix: str = "senet_viz", **kw) -> None:
        super().__init__(*args, **kw)
        import redis

        self._url, self._listener = url, None
        self._redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = prefix
        self._scripts = {name: self._redis.register_script(text)
                         for name, text in (("create", _CREATE), ("touch", _TOUCH), ("answer", _ANSWER),
                                            ("close", _CLOSE))}

    def _announce(self, code: str) -> None:
        self._redis.publish(f"{self._prefix}:changed", code)

    def _secret(self) -> bytes:
        """One secret for every process of the class: the first to ask makes it (SET NX)."""
        key = f"{self._prefix}:secret"
        self._redis.set(key, secrets.token_hex(32), nx=True)
        return bytes.fromhex(self._redis.get(key))

    def watch(self, callback: Callable[[str], None]) -> None:
        """As ``RoomStore.watch``; the first watcher starts this process's subscriber thread, which
        hears every process's changes (its own included) and reconnects when Redis goes away."""
        super().watch(callback)
        if self._listener is None:
            self._listener = threading.Thread(target=self._listen, name="senet-viz-room-changes", daemon=True)
            self._listener.start()

    def _listen(self) -> None:
        import redis

        channel = f"{self._prefix}:changed"
        # a connection of its own without a read timeout: a quiet room is not a failure
        listener = redis.Redis.from_url(self._url, decode_responses=True, socket_connect_timeout=5, health_check_interval=30)
        while True:
            try:
                pubsub = listener.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(channel)
                for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._changed(str(message["data"]))
            except Exception:  # noqa: BLE001 - Redis restarted or unreachable: followers' slow looks cover the gap
                time.sleep(1.0)

    def _keys(self, code: str) -> list[str]:
        """The open rooms; the room's place, revealed questions, answers, answers per question,
        followers, deadlines, questions in words, reveal times; its closed mark."""
        base = f"{self._prefix}:room:{code}"
        return [f"{self._prefix}:rooms", base, *(f"{base}:{part}" for part in (
            "revealed", "answers", "count", "followers", "deadline", "questions", "revealed_at", "closed"))]

    def _now(self) -> int:
        return int(time.time() * 1000)

    def _ttl_ms(self, seconds: float) -> int:
        return max(1, int(seconds * 1000))

    def _create(self, code: str, digest: str, place: Place) -> bool:
        keys = self._keys(code)
        done = self._scripts["create"](keys=[keys[0], keys[1], keys[9]], args=[
            self._now(), self._ttl_ms(self.unjoined_ttl), self.max_rooms, code, digest, place.step, place.picture or "", place.other or "",
            place.block or "", place.question or "", place.model or ""])
        if done == 0:
            raise RoomError(f"this server already holds its {self.max_rooms} rooms; one frees up when a room expires")
        return done == 1

    def get(self, code: str) -> Room:
        code = normalise(code)
        keys = self._keys(code)
        with self._redis.pipeline(transaction=True) as p:
            fields, steps, closed, deadlines = p.hgetall(keys[1]).smembers(keys[2]).exists(keys[9]).hgetall(keys[6]).execute()
        if not fields:
            raise self._closed(code) if closed else self._missing(code)
        now = self._now()
        place = Place(int(fields["step"]), fields["picture"] or None, fields["other"] or None, fields["block"] or None,
                      fields.get("question") or None, fields.get("model") or None)
        return Room(code, place, int(fields["version"]), frozenset(steps),
                    {q: (int(t) - now) / 1000 for q, t in deadlines.items()})

    def _digest_of(self, code: str) -> str:
        digest = self._redis.hget(self._keys(code)[1], "digest")
        if digest is None:
            self.get(code)  # closed or missing, said as such
        return digest

    def _touch(self, code: str, action: str, a: object = "", b: object = "", c: object = "", d: object = "",
               question: str = "", model: str = "") -> None:
        if not self._scripts["touch"](keys=self._keys(code)[:9], args=[
                self._now(), self._ttl_ms(self.unjoined_ttl), action, a, b, c, d, code, self._ttl_ms(self.ttl), question,
                model]):
            self.get(code)
            raise self._missing(code)

    def _join(self, code: str, session: str) -> None:
        self._touch(code, "join", session, self.max_answers)

    def followers(self, code: str) -> int:
        code = normalise(code)
        self.get(code)
        return int(self._redis.scard(self._keys(code)[5]))

    def _describe(self, code: str, question: str, text: str) -> None:
        keys = self._keys(code)
        if self._redis.hlen(keys[7]) >= MAX_QUESTIONS and not self._redis.hexists(keys[7], question):
            return
        with self._redis.pipeline(transaction=True) as p:
            p.hset(keys[7], question, text).pexpire(keys[7], max(1, int(self._redis.pttl(keys[1])))).execute()

    def _deadline(self, code: str, question: str, seconds: float | None) -> None:
        self._touch(code, "deadline", question, "" if seconds is None else self._now() + int(seconds * 1000))

    def _reset(self, code: str, question: str) -> None:
        self._touch(code, "reset", question)

    def _export(self, code: str) -> tuple[dict[str, str], dict[str, Counter], dict[str, float]]:
        keys = self._keys(code)
        with self._redis.pipeline(transaction=True) as p:
            questions, raw, revealed_at = p.hgetall(keys[7]).hgetall(keys[3]).hgetall(keys[8]).execute()
        answers: dict[str, Counter] = {}
        for k, c in raw.items():
            answers.setdefault(k.split("|")[0], Counter())[int(c)] += 1
        return questions, answers, {q: int(t) / 1000 for q, t in revealed_at.items()}

    def _close(self, code: str) -> None:
        if not self._scripts["close"](keys=self._keys(code), args=[code, self._ttl_ms(self.unjoined_ttl)]):
            self.get(code)

    def _move(self, code: str, place: Place) -> None:
        self._touch(code, "move", place.step, place.picture or "", place.other or "", place.block or "",
                    place.question or "", place.model or "")

    def _reveal(self, code: str, question: str) -> None:
        self._touch(code, "reveal", question, self._now())

    def _answer(self, code: str, question: str, session: str, choice: int) -> None:
        keys = self._keys(code)
        done = self._scripts["answer"](keys=[keys[1], keys[2], keys[3], keys[4], keys[6]],
                                       args=[f"{question}|{session}", choice, self.max_answers, question, self._now()])
        if done == -1:
            self.get(code)
            raise self._missing(code)
        if done == -2:
            raise RoomError("the answer to this question is already revealed")
        if done == -3:
            raise RoomError("answers to this question are closed")
        if done == 0:
            raise RoomError(f"room {code} holds its {self.max_answers} answers to this question")

    def _counts(self, code: str, question: str) -> Counter:
        prefix = f"{question}|"
        answers = self._redis.hgetall(self._keys(code)[3])
        return Counter(int(c) for k, c in answers.items() if k.startswith(prefix))

    def _mine(self, code: str, question: str, session: str) -> int | None:
        value = self._redis.hget(self._keys(code)[3], f"{question}|{session}")
        return None if value is None else int(value)

    def __len__(self) -> int:
        rooms = self._keys("")[0]
        self._redis.zremrangebyscore(rooms, "-inf", self._now())
        return int(self._redis.zcard(rooms))


def store_from_environment() -> RoomStore:
    """Redis where ``SENET_VIZ_ROOMS`` names one (redis://HOST:PORT/DB), else this process."""
    url = os.environ.get("SENET_VIZ_ROOMS", "").strip()
    if not url or url == "memory":
        from .machine import release_free_memory

        return MemoryRooms(on_expiry=release_free_memory)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise RoomError(f"SENET_VIZ_ROOMS is 'memory' or a redis:// address, not {url!r}")
    return RedisRooms(url)

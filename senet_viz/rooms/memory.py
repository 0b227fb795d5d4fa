"""Rooms in this process, behind one lock (every session of the process shares them)."""

from __future__ import annotations

import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from .ids import MAX_QUESTIONS, Place, Room, normalise
from .store import RoomStore


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
                raise self._full()
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
                raise self._answer_refused("revealed", code)
            if question in e.deadlines and e.deadlines[question] <= self._clock():
                raise self._answer_refused("closed", code)
            if (question, session) not in e.answers and sum(q == question for q, _ in e.answers) >= self.max_answers:
                raise self._answer_refused("full", code)
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

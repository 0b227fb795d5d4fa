"""The store's contract: what a room store does and checks (the lecturer key, the question, the
signed answer id), whatever keeps the rooms; ``MemoryRooms`` and ``RedisRooms`` keep them."""

from __future__ import annotations

import hmac
import json
import os
import secrets
from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable

from ..guard import Signer
from ..i18n import _
from .export import answers_csv, duration
from .ids import (
    CODE_ALPHABET,
    CODE_LENGTH,
    MAX_CHOICE,
    MAX_TEXT,
    Place,
    Room,
    RoomError,
    check_answer,
    check_place,
    check_question,
    digest,
    normalise,
)

#: The Lesson's steps; a store for another lesson is given its own number.
DEFAULT_STEPS = 10


def _env(name: str, default: float) -> float:
    return float(os.environ.get(name, default))


class RoomStore(ABC):
    def __init__(self, ttl: float | None = None, max_rooms: int | None = None, max_answers: int | None = None,
                 unjoined_ttl: float | None = None, *, steps: int = DEFAULT_STEPS) -> None:
        """Bounds not given are read from the environment now (``SENET_VIZ_ROOM_TTL``,
        ``SENET_VIZ_UNJOINED_ROOM_TTL``, ``SENET_VIZ_MAX_ROOMS``, ``SENET_VIZ_MAX_ANSWERS``);
        ``steps``: the lesson's number of steps, the bound on every step and question id."""
        self.ttl = float(ttl if ttl is not None else _env("SENET_VIZ_ROOM_TTL", 4 * 3600))
        self.max_rooms = int(max_rooms if max_rooms is not None else _env("SENET_VIZ_MAX_ROOMS", 50))
        self.max_answers = int(max_answers if max_answers is not None else _env("SENET_VIZ_MAX_ANSWERS", 5000))
        unjoined = float(unjoined_ttl if unjoined_ttl is not None else _env("SENET_VIZ_UNJOINED_ROOM_TTL", 10 * 60))
        self.unjoined_ttl = min(unjoined, self.ttl)
        self.steps = steps
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
        if self.unjoined_ttl < self.ttl:
            return RoomError(_("there is no room {code}: the code is mistyped, or the room expired (rooms close {ttl} "
                               "after the lecturer's last step, {unjoined} while nobody has joined)", code=code,
                               ttl=duration(self.ttl), unjoined=duration(self.unjoined_ttl)))
        return RoomError(_("there is no room {code}: the code is mistyped, or the room expired (rooms close {ttl} after "
                           "the lecturer's last step)", code=code, ttl=duration(self.ttl)))

    def _closed(self, code: str) -> RoomError:
        return RoomError(_("the lecturer closed room {code}", code=code))

    def _full(self) -> RoomError:
        return RoomError(_("this server already holds its {n} rooms; one frees up when a room expires", n=self.max_rooms))

    def _answer_refused(self, why: str, code: str) -> RoomError:
        """An answer the room does not take: ``why`` is "revealed", "closed" or "full"."""
        if why == "revealed":
            return RoomError(_("the answer to this question is already revealed"))
        if why == "closed":
            return RoomError(_("answers to this question are closed"))
        return RoomError(_("room {code} holds its {n} answers to this question", code=code, n=self.max_answers))

    def create(self, place: Place) -> tuple[str, str]:
        """A new room at ``place``: (code, lecturer key). The key is shown to the lecturer only."""
        check_place(place, self.steps)
        key = secrets.token_urlsafe(18)
        for _try in range(20):
            code = "".join(secrets.choice(CODE_ALPHABET) for _letter in range(CODE_LENGTH))
            if self._create(code, digest(key), place):
                return code, key
        raise RoomError(_("no free room code was found; try again"))

    @abstractmethod
    def _create(self, code: str, digest: str, place: Place) -> bool:
        """False when ``code`` is taken; RoomError when the store is full."""

    @abstractmethod
    def get(self, code: str) -> Room:
        """The room; RoomError when there is none (mistyped or expired)."""

    @abstractmethod
    def _digest_of(self, code: str) -> str: ...

    def is_lecturer(self, code: str, key: str | None) -> bool:
        return bool(key) and hmac.compare_digest(self._digest_of(normalise(code)), digest(key))

    def _lecturer(self, code: str, key: str | None) -> str:
        code = normalise(code)
        if not self.is_lecturer(code, key):
            raise RoomError(_("only the lecturer moves room {code} and reveals its answers", code=code))
        return code

    def move(self, code: str, key: str | None, place: Place) -> Room:
        code = self._lecturer(code, key)
        check_place(place, self.steps)
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
            raise RoomError(_("this browser's answer id was not issued by this server: reload the page"))
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
        code, question = self._lecturer(code, key), check_question(question, self.steps)
        text = {"prompt": str(prompt)[:MAX_TEXT], "choices": [str(c)[:MAX_TEXT] for c in choices[:MAX_CHOICE]],
                "answer": int(answer)}
        self._describe(code, question, json.dumps(text))

    @abstractmethod
    def _describe(self, code: str, question: str, text: str) -> None: ...

    def set_deadline(self, code: str, key: str | None, question: str, seconds: float | None) -> None:
        """Close the question's answers in ``seconds`` (0: lock now), or reopen them (None)."""
        code, question = self._lecturer(code, key), check_question(question, self.steps)
        self._deadline(code, question, None if seconds is None else max(0.0, float(seconds)))
        self._announce(code)

    @abstractmethod
    def _deadline(self, code: str, question: str, seconds: float | None) -> None: ...

    def reset(self, code: str, key: str | None, question: str) -> None:
        """Forget one question's answers, reveal and deadline: it is asked afresh."""
        code = self._lecturer(code, key)
        self._reset(code, check_question(question, self.steps))
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
        self._reveal(code, check_question(question, self.steps))
        self._announce(code)

    @abstractmethod
    def _reveal(self, code: str, question: str) -> None: ...

    def answer(self, code: str, question: str, session: str, choice: int) -> None:
        """The answer of the browser whose signed answer id is ``session`` to ``question`` (``question_id``); it may change it until the reveal."""
        question = check_answer(question, int(choice), self.steps)
        self._answer(normalise(code), question, self._voter(session), int(choice))

    @abstractmethod
    def _answer(self, code: str, question: str, session: str, choice: int) -> None: ...

    def counts(self, code: str, question: str, key: str | None = None) -> Counter:
        """Answers per choice: for the lecturer at any time, for everyone once revealed."""
        code, question = normalise(code), check_question(question, self.steps)
        if not self.is_lecturer(code, key) and question not in self.get(code).revealed:
            raise RoomError(_("the class's answers are shown once the lecturer reveals them"))
        return self._counts(code, question)

    @abstractmethod
    def _counts(self, code: str, question: str) -> Counter: ...

    def mine(self, code: str, question: str, session: str) -> int | None:
        """The answer ``session`` gave to ``question``, if any."""
        return self._mine(normalise(code), check_question(question, self.steps), self._voter(session))

    @abstractmethod
    def _mine(self, code: str, question: str, session: str) -> int | None: ...

    @abstractmethod
    def __len__(self) -> int:
        """Rooms open now."""

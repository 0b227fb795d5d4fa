"""A room's identities and what the store accepts: codes, lecturer keys' digests, question ids,
the lecturer's place and a room as read; each checked against the lesson's number of steps,
which the store is given (this package does not import the lesson)."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from ..errors import SenetVizError
from ..i18n import _

CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read off a projector
CODE_LENGTH = 6
_CODE = re.compile(f"^[{CODE_ALPHABET}]{{{CODE_LENGTH}}}$")
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


def check_question(question: str, steps: int) -> str:
    match = _QUESTION.match(str(question))
    if not match:
        raise RoomError(_("that answer does not belong to this lesson"))
    check_step(int(match.group(1)), steps)
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
        raise RoomError(_("'{code}' is not a room code: {n} letters and digits, as the lecturer's screen shows them",
                          code=str(code)[:20], n=CODE_LENGTH))
    return text


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def check_place(place: Place, steps: int) -> None:
    check_step(place.step, steps)
    if place.model is not None and (len(place.model) > 200 or not place.model.endswith(("|default", "|random"))):
        raise RoomError(_("a room carries a model as name|default or name|random"))
    if place.question is not None:
        check_question(place.question, steps)


def check_step(step: int, steps: int) -> int:
    """A step of a lesson of ``steps`` steps (0-based); RoomError for any other, so no follower
    indexes past it."""
    if not (isinstance(step, int) and 0 <= step < steps):
        raise RoomError(_("the lesson has steps 1 to {n}", n=steps))
    return step


def check_answer(question: str, choice: int, steps: int) -> str:
    if not (isinstance(choice, int) and 0 <= choice < MAX_CHOICE):
        raise RoomError(_("that answer does not belong to this lesson"))
    return check_question(question, steps)



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

Modules: ``ids`` (codes, question ids, the place, validation), ``store`` (the contract),
``memory`` and ``redis_store`` (the two stores, Redis's changes as Lua scripts in ``lua/``),
``policy`` (who may start a room), ``export`` (the answers CSV).
"""

from __future__ import annotations

import os

from .export import answers_csv, duration
from .ids import CODE_ALPHABET, CODE_LENGTH, MAX_CHOICE, Place, Room, RoomError, normalise, question_id
from .memory import MemoryRooms
from .policy import PASSWORD_ENV, start_refusal
from .redis_store import RedisRooms
from .store import DEFAULT_STEPS, RoomStore

__all__ = [
    "CODE_ALPHABET", "CODE_LENGTH", "DEFAULT_STEPS", "MAX_CHOICE", "PASSWORD_ENV", "MemoryRooms", "Place", "RedisRooms",
    "Room", "RoomError", "RoomStore", "answers_csv", "duration", "normalise", "question_id", "start_refusal",
    "store_from_environment",
]


def store_from_environment(steps: int = DEFAULT_STEPS) -> RoomStore:
    """Redis where ``SENET_VIZ_ROOMS`` names one (redis://HOST:PORT/DB), else this process; ``steps``:
    the lesson's number of steps."""
    url = os.environ.get("SENET_VIZ_ROOMS", "").strip()
    if not url or url == "memory":
        from ..machine import release_free_memory

        return MemoryRooms(on_expiry=release_free_memory, steps=steps)
    if not url.startswith(("redis://", "rediss://", "unix://")):
        raise RoomError(f"SENET_VIZ_ROOMS is 'memory' or a redis:// address, not {url!r}")
    return RedisRooms(url, steps=steps)

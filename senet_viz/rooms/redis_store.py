"""Rooms in Redis, shared by every app process that points at the same server; every change is
one Lua script (``lua/``), so two processes never interleave inside one."""

from __future__ import annotations

import secrets
import threading
import time
from collections import Counter
from collections.abc import Callable
from importlib.resources import files

from .ids import MAX_QUESTIONS, Place, Room, normalise
from .store import RoomStore


def _lua(name: str) -> str:
    return files(__package__).joinpath("lua", f"{name}.lua").read_text()


class RedisRooms(RoomStore):
    """Rooms in Redis, shared by every app process that points at the same server."""

    def __init__(self, url: str, *args, prefix: str = "senet_viz", clock: Callable[[], float] = time.time, **kw) -> None:
        """``clock``: the store's wall clock in seconds (deadlines and the rooms' index follow it;
        Redis expires keys on its own)."""
        super().__init__(*args, **kw)
        self._clock = clock
        import redis

        self._url, self._listener = url, None
        self._redis = redis.Redis.from_url(url, decode_responses=True, socket_timeout=5, socket_connect_timeout=5)
        self._prefix = prefix
        self._scripts = {name: self._redis.register_script(_lua(name)) for name in ("create", "touch", "answer", "close", "describe")}

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
        return int(self._clock() * 1000)

    def _ttl_ms(self, seconds: float) -> int:
        return max(1, int(seconds * 1000))

    def _create(self, code: str, digest: str, place: Place) -> bool:
        keys = self._keys(code)
        done = self._scripts["create"](keys=[keys[0], keys[1], keys[9]], args=[
            self._now(), self._ttl_ms(self.unjoined_ttl), self.max_rooms, code, digest, place.step, place.picture or "", place.other or "",
            place.block or "", place.question or "", place.model or ""])
        if done == 0:
            raise self._full()
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
        self._scripts["describe"](keys=[keys[1], keys[7]], args=[question, text, MAX_QUESTIONS])

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
        if done in (-2, -3, 0):
            raise self._answer_refused({-2: "revealed", -3: "closed", 0: "full"}[done], code)

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



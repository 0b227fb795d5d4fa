"""The room store's contract, the same tests against the in-process store and a real Redis server:
codes, the lecturer key, expiry, caps, one answer per session and step, concurrent answers."""

from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from senet_viz.rooms import MemoryRooms, Place, RedisRooms, RoomError, duration, normalise, store_from_environment


@pytest.fixture(scope="module")
def redis_url():
    from redis_support import ensure_redis, redis_server

    if ensure_redis() is None:
        if os.environ.get("CI"):  # .ci/run installs it: the Redis half of the contract never skips there
            pytest.fail("redis-server is missing in CI")
        pytest.skip("redis-server is not installed and cannot be installed here (not root, or no apt-get)")
    with redis_server() as url:
        yield url


@pytest.fixture(params=["memory", "redis"])
def make(request):
    """A factory of empty stores of one kind."""
    if request.param == "memory":
        return lambda **kw: MemoryRooms(**kw)
    url = request.getfixturevalue("redis_url")
    import redis

    redis.Redis.from_url(url).flushdb()
    return lambda **kw: RedisRooms(url, **kw)


START = Place(0, "cifar-cat-2", None, "SE_4_3")


def voter(store, name: str) -> str:
    """The answer id the store signed for the browser called ``name`` (one per store and name)."""
    return store.__dict__.setdefault("_issued_in_tests", {}).setdefault(name, store.voters.issue())


def test_only_answer_ids_the_store_signed_count(make):
    rooms = make()
    code, _ = rooms.create(START)
    good = rooms.voters.issue()
    rooms.join(code, good)
    rooms.answer(code, q(0), good, 1)
    ident, _, tag = good.partition(".")
    invented = ["0" * 32, ident, f"{'f' * 32}.{tag}", f"{ident}.{'0' * 32}", good + "x", MemoryRooms().voters.issue()]
    for token in invented:  # made up, the id without its tag, another id with it, altered, another store's
        with pytest.raises(RoomError, match="not issued by this server"):
            rooms.answer(code, q(0), token, 2)
        with pytest.raises(RoomError, match="not issued by this server"):
            rooms.join(code, token)
    assert rooms.followers(code) == 1 and rooms.mine(code, q(0), good) == 1


def q(step: int, tag: str = "0123456789") -> str:
    """A question id (``rooms.question_id``'s form) on ``step``."""
    return f"{step}:{tag}"


def test_a_room_is_found_by_its_code_in_any_case(make):
    rooms = make()
    code, key = rooms.create(START)
    assert len(code) == 6 and len(key) >= 20
    assert rooms.get(code.lower()).place == START and rooms.get(f" {code[:3]} {code[3:]} ").code == code
    assert len(rooms) == 1


@pytest.mark.parametrize("typed", ["", "ABC", "ABCDE0", "<script>", "A" * 500])
def test_a_malformed_code_is_one_line(typed):
    with pytest.raises(RoomError) as err:
        normalise(typed)
    assert "\n" not in str(err.value) and len(str(err.value)) < 200


def test_an_unknown_code_says_mistyped_or_expired(make):
    with pytest.raises(RoomError, match="mistyped, or the room expired"):
        make().get("ABCDEF")
    with pytest.raises(RoomError, match=r"rooms close 2 minutes after the lecturer's last step, 1 minute while nobody"):
        make(ttl=120, unjoined_ttl=60).get("ABCDEF")  # the store's own lifetimes, as people say them
    with pytest.raises(RoomError, match=r"rooms close 2 minutes after the lecturer's last step\)$"):
        make(ttl=120).get("ABCDEF")  # the unjoined lifetime is not longer than the room's: said once


@pytest.mark.parametrize("seconds,said", [(4 * 3600, "4 hours"), (3600, "1 hour"), (5400, "1.5 hours"), (1800, "30 minutes"),
                                          (60, "1 minute"), (45, "45 seconds")])
def test_a_room_lifetime_reads_as_people_say_it(seconds, said):
    assert duration(seconds) == said


def test_only_the_lecturer_key_moves_and_reveals(make):
    rooms = make()
    code, key = rooms.create(START)
    other_code, other_key = rooms.create(START)
    for wrong in (None, "", other_key, key[:-1] + ("x" if key[-1] != "x" else "y")):
        with pytest.raises(RoomError, match="only the lecturer"):
            rooms.move(code, wrong, Place(3, "cifar-dog-0", None, "SE_2_1"))
        with pytest.raises(RoomError, match="only the lecturer"):
            rooms.reveal(code, wrong, q(0))
    assert rooms.get(code).place == START and rooms.get(code).version == 1
    moved = rooms.move(code, key, Place(3, "cifar-dog-0", "cifar-cat-0", "SE_2_1"))
    assert moved.place == Place(3, "cifar-dog-0", "cifar-cat-0", "SE_2_1") and moved.version == 2
    assert rooms.get(other_code).place == START  # rooms do not share state


def test_answers_are_one_per_session_and_hidden_until_the_reveal(make):
    rooms = make()
    code, key = rooms.create(START)
    rooms.answer(code, q(2), voter(rooms, "s1"), 0)
    rooms.answer(code, q(2), voter(rooms, "s1"), 3)  # changed, still one answer
    rooms.answer(code, q(2), voter(rooms, "s2"), 3)
    rooms.answer(code, q(5), voter(rooms, "s1"), 1)
    assert rooms.mine(code, q(2), voter(rooms, "s1")) == 3 and rooms.mine(code, q(2), voter(rooms, "s3")) is None
    assert rooms.counts(code, q(2), key) == {3: 2}
    with pytest.raises(RoomError, match="once the lecturer reveals"):
        rooms.counts(code, q(2))
    rooms.reveal(code, key, q(2))
    assert rooms.counts(code, q(2)) == {3: 2} and q(2) in rooms.get(code).revealed
    with pytest.raises(RoomError, match="already revealed"):
        rooms.answer(code, q(2), voter(rooms, "s3"), 1)
    for question, choice in ((q(-1), 0), (q(2), -1), (q(2), 99), (q(10_000), 0), ("2", 0), ("2:<script>", 0)):
        with pytest.raises(RoomError, match="does not belong|steps 1 to 10"):
            rooms.answer(code, question, voter(rooms, "s4"), choice)


def test_rooms_and_answers_are_capped(make):
    rooms = make(max_rooms=2, max_answers=3)
    code, key = rooms.create(START)
    rooms.create(START)
    with pytest.raises(RoomError, match="holds its 2 rooms"):
        rooms.create(START)
    for s in ("a", "b", "c"):
        rooms.answer(code, q(0), voter(rooms, s), 1)
    rooms.answer(code, q(0), voter(rooms, "a"), 2)  # a session may still change its own answer
    with pytest.raises(RoomError, match="holds its 3 answers to this question"):
        rooms.answer(code, q(0), voter(rooms, "d"), 0)
    for s in ("d", "e", "f"):  # a flood on one question does not stop the next one
        rooms.answer(code, q(1), voter(rooms, s), 0)
    assert rooms.counts(code, q(0), key) == {1: 2, 2: 1} and rooms.counts(code, q(1), key) == {0: 3}


class _Clock:
    """The store's clock, moved by the test: lifetimes checked to the second, not raced."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def test_a_room_lives_minutes_until_someone_joins_then_hours_after_the_lecturers_last_action():
    clock = _Clock()
    rooms = MemoryRooms(ttl=3600, unjoined_ttl=300, max_rooms=1, clock=clock)
    code, key = rooms.create(START)
    clock.now += 250
    rooms.move(code, key, Place(1))  # the lecturer alone keeps it open for minutes at a time
    clock.now += 299
    assert rooms.get(code).place.step == 1
    clock.now += 2
    with pytest.raises(RoomError, match="expired"):
        rooms.get(code)
    assert len(rooms) == 0
    code, key = rooms.create(START)  # the place it held is free again
    rooms.join(code)
    rooms.answer(code, q(0), voter(rooms, "s"), 1)
    clock.now += 3599
    rooms.move(code, key, Place(2))  # joined: each step keeps it for the full lifetime
    clock.now += 3599
    assert rooms.get(code).place.step == 2
    clock.now += 2
    with pytest.raises(RoomError, match="expired"):
        rooms.answer(code, q(0), voter(rooms, "s"), 1)


def test_a_room_lives_after_the_lecturers_last_action_in_redis_too(redis_url):
    """The lifetime test above on Redis, whose keys expire on the server's own clock: lifetimes of a
    second or three, each wait at least 0.3 s from the edge it tests."""
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    rooms = RedisRooms(redis_url, ttl=3.0, unjoined_ttl=1.0, max_rooms=1)
    code, key = rooms.create(START)
    time.sleep(0.6)
    rooms.move(code, key, Place(1))  # the lecturer alone keeps it open, a lifetime from each step
    time.sleep(0.7)  # 1.3 s since it was made, 0.7 s since the step
    assert rooms.get(code).place.step == 1
    time.sleep(1.0)
    with pytest.raises(RoomError, match="expired"):
        rooms.get(code)
    code, key = rooms.create(START)
    rooms.join(code)
    time.sleep(1.5)  # joined: the full lifetime, not the unjoined one
    rooms.move(code, key, Place(2))
    time.sleep(2.0)
    assert rooms.get(code).place.step == 2
    time.sleep(1.5)  # 3.5 s since the lecturer's last step
    with pytest.raises(RoomError, match="expired"):
        rooms.get(code)


def test_a_room_nobody_joins_expires_in_redis_too(redis_url):
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    rooms = RedisRooms(redis_url, ttl=60, unjoined_ttl=0.5, max_rooms=1)
    code, _key = rooms.create(START)
    time.sleep(1.5)  # Redis expires keys on its own clock (no clock to move): three times the lifetime
    with pytest.raises(RoomError, match="expired"):
        rooms.get(code)
    code, _key = rooms.create(START)  # the cap counts open rooms only
    rooms.join(code)
    time.sleep(1.5)  # joined: 60 s to live, far beyond this wait
    assert rooms.get(code).place == START


def test_the_lecturer_closes_the_room_for_everyone(make):
    rooms = make(max_rooms=1)
    code, key = rooms.create(START)
    rooms.join(code)
    for wrong in (None, "", key[:-1] + ("x" if key[-1] != "x" else "y")):
        with pytest.raises(RoomError, match="only the lecturer"):
            rooms.close(code, wrong)
    rooms.close(code, key)
    for look in (lambda: rooms.get(code), lambda: rooms.answer(code, q(0), voter(rooms, "s"), 1), lambda: rooms.join(code)):
        with pytest.raises(RoomError, match=f"the lecturer closed room {code}"):
            look()
    assert len(rooms) == 0
    rooms.create(START)  # its place is free at once


def test_concurrent_answers_from_many_threads_are_counted_exactly(make):
    rooms = make()
    code, key = rooms.create(START)
    sessions, barrier = 200, threading.Barrier(16)

    def student(i: int) -> None:
        if i < 16:
            barrier.wait()
        rooms.answer(code, q(4), voter(rooms, f"session-{i}"), i % 4)
        rooms.answer(code, q(4), voter(rooms, f"session-{i}"), (i + 1) % 4)  # each changes its mind once

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(student, range(sessions)))
    assert rooms.counts(code, q(4), key) == {c: sessions // 4 for c in range(4)}


def test_two_stores_on_one_redis_share_rooms(redis_url):
    a, b = RedisRooms(redis_url), RedisRooms(redis_url)  # two app processes, say
    code, key = a.create(START)
    b.answer(code, q(0), voter(b, "s"), 2)
    a.move(code, key, Place(4))
    assert b.get(code).place.step == 4 and a.counts(code, q(0), key) == {2: 1}


def test_the_store_comes_from_the_environment(monkeypatch, redis_url):
    monkeypatch.delenv("SENET_VIZ_ROOMS", raising=False)
    assert isinstance(store_from_environment(), MemoryRooms)
    monkeypatch.setenv("SENET_VIZ_ROOMS", redis_url)
    assert isinstance(store_from_environment(), RedisRooms)
    monkeypatch.setenv("SENET_VIZ_ROOMS", "postgres://x")
    with pytest.raises(RoomError, match="redis://"):
        store_from_environment()


@pytest.mark.parametrize("step", [-1, 10, 999])
def test_a_step_outside_the_lesson_is_refused_everywhere(make, step):
    from senet_viz.lesson import STEPS

    assert len(STEPS) == 10
    rooms = make()
    with pytest.raises(RoomError, match="steps 1 to 10"):
        rooms.create(Place(step, "cifar-cat-2", None, "SE_4_3"))
    code, key = rooms.create(START)
    with pytest.raises(RoomError, match="steps 1 to 10"):
        rooms.move(code, key, Place(step, "cifar-cat-2", None, "SE_4_3"))
    with pytest.raises(RoomError, match="steps 1 to 10"):
        rooms.reveal(code, key, q(step))
    with pytest.raises(RoomError):
        rooms.answer(code, q(step), voter(rooms, "student"), 0)
    assert rooms.get(code).place == START and rooms.get(code).revealed == frozenset()


def test_answers_and_reveals_belong_to_their_question(make):
    """Two questions on one step (the lecturer picked another picture): counts start from zero, the
    first question's answers stay with it, and its reveal does not reveal the second."""
    rooms = make()
    code, key = rooms.create(START)
    first, second = q(2, "aaaaaaaaaa"), q(2, "bbbbbbbbbb")
    rooms.answer(code, first, voter(rooms, "s1"), 0)
    rooms.answer(code, first, voter(rooms, "s2"), 1)
    rooms.reveal(code, key, first)
    assert rooms.counts(code, second, key) == {} and rooms.counts(code, first, key) == {0: 1, 1: 1}
    rooms.answer(code, second, voter(rooms, "s1"), 3)  # allowed: the new question is not revealed
    assert second not in rooms.get(code).revealed and rooms.counts(code, second, key) == {3: 1}
    with pytest.raises(RoomError, match="once the lecturer reveals"):
        rooms.counts(code, second)
    assert rooms.mine(code, first, voter(rooms, "s1")) == 0 and rooms.mine(code, second, voter(rooms, "s1")) == 3
    from senet_viz.rooms import question_id

    assert question_id(2, "p", ["a", "b"]) != question_id(2, "p", ["a", "c"]) and question_id(2, "p", ["a"])[:2] == "2:"


def test_followers_are_counted_once_per_browser(make):
    rooms = make()
    code, _key = rooms.create(START)
    for session in ("b1", "b2", "b1", "b3", "b2"):  # a reload or a second tab joins again
        rooms.join(code, voter(rooms, session))
    assert rooms.followers(code) == 3


def test_the_lecturer_locks_reopens_and_resets_a_question(make):
    rooms = make()
    code, key = rooms.create(START)
    first, second = q(1, "aaaaaaaaaa"), q(1, "bbbbbbbbbb")
    rooms.answer(code, first, voter(rooms, "s1"), 0)
    rooms.answer(code, second, voter(rooms, "s1"), 2)
    for wrong in (None, key[:-1] + ("x" if key[-1] != "x" else "y")):
        for act in (lambda k: rooms.set_deadline(code, k, first, 0), lambda k: rooms.reset(code, k, first),
                    lambda k: rooms.export_csv(code, k), lambda k: rooms.describe(code, k, first, "p", ["a"], 0)):
            with pytest.raises(RoomError, match="only the lecturer"):
                act(wrong)
    version = rooms.get(code).version
    rooms.set_deadline(code, key, first, 0)  # locked now
    room = rooms.get(code)
    assert room.closed(first) and not room.closed(second) and room.version > version  # followers see it
    with pytest.raises(RoomError, match="closed"):
        rooms.answer(code, first, voter(rooms, "s2"), 1)
    rooms.answer(code, second, voter(rooms, "s2"), 1)  # another question is still open
    rooms.set_deadline(code, key, first, None)
    rooms.answer(code, first, voter(rooms, "s2"), 1)
    rooms.reveal(code, key, first)
    rooms.reset(code, key, first)  # asked afresh: no answers, not revealed
    assert rooms.counts(code, first, key) == {} and first not in rooms.get(code).revealed
    assert rooms.counts(code, second, key) == {2: 1, 1: 1}


def test_a_countdown_closes_the_answers_at_zero(make):
    clock = _Clock(time.time())  # the store's clock: Redis's keys still live on the server's own
    rooms = make(clock=clock)
    code, key = rooms.create(START)
    rooms.set_deadline(code, key, q(3), 30)
    clock.now += 29
    assert rooms.get(code).closing[q(3)] == pytest.approx(1.0)
    rooms.answer(code, q(3), voter(rooms, "s1"), 0)
    clock.now += 1
    assert rooms.get(code).closed(q(3))
    with pytest.raises(RoomError, match="closed"):
        rooms.answer(code, q(3), voter(rooms, "s2"), 0)


def test_the_export_holds_the_stores_counts(make):
    import csv
    import io

    rooms = make()
    code, key = rooms.create(START)
    first, second = q(0, "aaaaaaaaaa"), q(5, "bbbbbbbbbb")
    rooms.describe(code, key, first, 'How many, "really"?', ["1", "16", "256"], 1)
    rooms.describe(code, key, second, "Which stage?", ["stage 2", "stage 3"], 0)
    for i, session in enumerate(["a", "b", "c", "d", "e"]):
        rooms.answer(code, first, voter(rooms, session), i % 3)
    rooms.answer(code, second, voter(rooms, "a"), 1)
    rooms.reveal(code, key, first)
    rows = list(csv.DictReader(io.StringIO(rooms.export_csv(code, key).decode())))
    assert [r["question"] for r in rows] == [first] * 3 + [second] * 2
    for qid in (first, second):
        counts = rooms.counts(code, qid, key)
        mine = [r for r in rows if r["question"] == qid]
        assert {i: int(r["count"]) for i, r in enumerate(mine) if int(r["count"])} == dict(counts)
    assert rows[0]["prompt"] == 'How many, "really"?' and rows[0]["measured_answer"] == "16"
    assert rows[0]["revealed_at"].endswith("+00:00") and rows[3]["revealed_at"] == "" and rows[3]["step"] == "6"
    assert "a" not in {r["choice"] for r in rows} and "session" not in rows[0]  # no answer ids


def test_watchers_hear_every_change_a_follower_must_see_from_any_store_sharing_the_room(make, request):
    """The wake-up: a move, reveal, lock, reset or close reaches every watcher (for Redis, a second
    store on the same server: another app process), and joins and answers do not."""
    lecturer = make()
    other = RedisRooms(request.getfixturevalue("redis_url")) if isinstance(lecturer, RedisRooms) else lecturer
    heard, arrived = [], threading.Event()

    def hear(code: str) -> None:
        heard.append(code)
        arrived.set()

    other.watch(hear)
    time.sleep(0.3)  # the subscriber thread is listening
    code, key = lecturer.create(Place(0))

    def after(action) -> list[str]:
        heard.clear()
        arrived.clear()
        action()
        arrived.wait(5)
        time.sleep(0.2)  # nothing more arrives
        return list(heard)

    assert after(lambda: lecturer.join(code, voter(lecturer, "s1"))) == []
    assert after(lambda: lecturer.answer(code, q(0), voter(lecturer, "s1"), 1)) == []
    assert after(lambda: lecturer.move(code, key, Place(1))) == [code]
    assert after(lambda: lecturer.reveal(code, key, q(1))) == [code]
    assert after(lambda: lecturer.set_deadline(code, key, q(1), 0)) == [code]
    assert after(lambda: lecturer.reset(code, key, q(1))) == [code]
    heard.clear()
    with pytest.raises(RoomError):
        lecturer.move(code, "not the key", Place(2))
    time.sleep(0.2)
    assert heard == []  # a refused move wakes no one
    assert after(lambda: lecturer.close(code, key)) == [code]

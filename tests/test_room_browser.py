"""Rooms in Chromium: a lecturer and students in separate browser contexts, on one app process
(the in-process store) and on two app processes sharing a real Redis server."""

from __future__ import annotations

import re
import time

import pytest
from browser_support import ROOT, app_server, launch, sync_api_or_skip, wait_rendered

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
FOLLOW_WITHIN = 3.0  # seconds from the lecturer's Next to a student's screen showing it


@pytest.fixture(scope="module")
def playwright():
    sync_api = sync_api_or_skip()
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_api.sync_playwright() as p:
        yield p


#: Every address a page shows, kept in the page: pushState and replaceState (which Streamlit uses
#: for query parameters) and the loads, so a test can read the tab's whole history.
_RECORD_URLS = """
window.__urls = [location.href];
for (const name of ["pushState", "replaceState"]) {
  const original = history[name].bind(history);
  history[name] = (state, title, url) => { if (url) window.__urls.push(String(new URL(url, location.href))); return original(state, title, url); };
}
"""


#: Followers look at the room only once an hour: every move a student sees in these tests was
#: delivered by waking them (``ui/room_wake.py``; across processes, Redis pub/sub).
WOKEN_ONLY = {"SENET_VIZ_ROOM_LOOK_EVERY": "3600"}


def _urls(page) -> list[str]:
    return page.evaluate("window.__urls")


def _page(browser, url: str):
    context = browser.new_context(viewport={"width": 1300, "height": 900})
    context.add_init_script(_RECORD_URLS)
    page = context.new_page()
    page.goto(url)
    wait_rendered(page)
    return page


def _step_of(page) -> int:
    return int(page.locator("[data-testid='stMain'] h1").first.inner_text().split(".")[0])


def _wait_step(page, step: int, within: float) -> float:
    started = time.perf_counter()
    page.wait_for_function(
        f"() => document.querySelector('[data-testid=\"stMain\"] h1')?.innerText.startsWith('{step}.')",
        timeout=within * 1000)
    return time.perf_counter() - started


def _start_room(browser, url: str):
    lecturer = _page(browser, f"{url}/lesson")
    lecturer.get_by_role("button", name="Start a room").click()  # the popover; no password: a loopback browser
    lecturer.get_by_role("button", name="Start", exact=True).click()
    heading = lecturer.locator("h3", has_text="Room").first
    heading.wait_for(timeout=30_000)
    code = re.search(r"Room\s+(\w{6})", heading.inner_text()).group(1)
    wait_rendered(lecturer)
    return lecturer, code


def _next(page) -> None:
    page.get_by_role("button", name="Next ▶").click()


def test_students_follow_answer_and_cannot_move_the_room(playwright):
    with app_server(env=WOKEN_ONLY, log=ARTIFACTS / "room-server.log") as (url, proc):
        browser = launch(playwright)
        try:
            lecturer, code = _start_room(browser, url)
            assert "key=" not in lecturer.url and f"room={code}" in lecturer.url
            students = [_page(browser, f"{url}/lesson?room={code}") for _ in range(2)]
            for s in students:
                assert s.get_by_text(f"Following room {code}").count() == 1
                assert s.get_by_role("button", name="Next ▶").is_disabled()
            for step in (2, 3):
                _next(lecturer)
                for s in students:
                    _wait_step(s, step, FOLLOW_WITHIN)
            # a student's arrow key does not move the room, nor their own screen while following
            students[0].keyboard.press("ArrowRight")
            time.sleep(1.5)
            assert _step_of(students[0]) == 3 and _step_of(lecturer) == 3
            for i, s in enumerate(students):
                s.locator("[data-testid='stMain'] [data-testid='stRadio']").last.locator(
                    "label[data-testid='stRadioOption']").nth(i).click()
            lecturer.get_by_text(re.compile(r"2 answers so far")).wait_for(timeout=10_000)
            assert students[0].get_by_text("answers so far").count() == 0
            # one voice per browser: a reload and a second tab show the answer given, and add no vote
            students[1].reload()
            wait_rendered(students[1])
            second_tab = students[1].context.new_page()
            second_tab.goto(f"{url}/lesson?room={code}")
            wait_rendered(second_tab)
            for page in (students[1], second_tab):
                radios = page.locator("[data-testid='stMain'] [data-testid='stRadio']").last.locator("input[type=radio]")
                radios.nth(1).wait_for(state="attached", timeout=10_000)
                assert radios.nth(1).is_checked(), "the answer given before the reload is shown"
            second_tab.locator("[data-testid='stMain'] [data-testid='stRadio']").last.locator(
                "label[data-testid='stRadioOption']").nth(0).click()  # changing it is still one voice
            lecturer.get_by_text(re.compile(r"2 answers so far \(.*: 2")).wait_for(timeout=10_000)
            second_tab.close()
            lecturer.get_by_role("button", name="Reveal to the class").click()
            for s in students:
                s.get_by_text("The class: 2 answers").wait_for(timeout=10_000)
                s.screenshot(path=str(ARTIFACTS / "room-student-revealed.png"))
            lecturer.screenshot(path=str(ARTIFACTS / "room-lecturer.png"))
            # leave, explore, rejoin
            students[1].get_by_role("button", name="Leave to explore").click()
            wait_rendered(students[1])
            _next(students[1])
            _wait_step(students[1], 4, 10)
            assert _step_of(lecturer) == 3
            students[1].get_by_role("button", name="Rejoin").click()
            _wait_step(students[1], 3, 10)
            # the key is on the lecturer's screen only, in a popover, and in no address of any tab
            lecturer.get_by_role("button", name="Room key (not for the projector)").click()
            key = lecturer.locator("[data-testid='stPopoverBody'] code").first.inner_text().strip()
            assert len(key) >= 20
            for page in (lecturer, *students):
                assert all(key not in u and "key=" not in u for u in _urls(page)), _urls(page)
                assert key not in page.content() or page is lecturer
            # the lecturer closes the room for everyone; a student is told so, once
            lecturer.keyboard.press("Escape")
            lecturer.get_by_role("button", name="Close the room for everyone").click()
            students[0].get_by_text(f"the lecturer closed room {code}").wait_for(timeout=10_000)
            bad = _page(browser, f"{url}/lesson?room=ABCDEF")
            assert bad.locator("[data-testid='stAlertContentError']").count() == 1
            assert "no room ABCDEF" in bad.locator("[data-testid='stAlertContentError']").inner_text()
            assert proc.poll() is None
        finally:
            browser.close()


def test_two_app_processes_share_rooms_through_redis(playwright):
    from redis_support import ensure_redis, redis_server

    if ensure_redis() is None:
        pytest.skip("redis-server is not installed and cannot be installed here (not root, or no apt-get)")
    with redis_server() as redis_url, \
            app_server(env={"SENET_VIZ_ROOMS": redis_url, **WOKEN_ONLY}, log=ARTIFACTS / "room-a.log") as (url_a, _), \
            app_server(env={"SENET_VIZ_ROOMS": redis_url, **WOKEN_ONLY}, log=ARTIFACTS / "room-b.log") as (url_b, _):
        browser = launch(playwright)
        try:
            lecturer, code = _start_room(browser, url_a)
            student = _page(browser, f"{url_b}/lesson?room={code}")  # served by the other process
            assert student.get_by_text(f"Following room {code}").count() == 1
            _next(lecturer)
            _wait_step(student, 2, FOLLOW_WITHIN)
        finally:
            browser.close()


def test_a_room_of_two_languages_counts_every_answer_in_one_tally(playwright):
    """A lecturer in English; a student in English, one with ?lang=ko in the link and one whose
    browser speaks Korean: the two Korean students follow in Korean, all three answer the same
    question (the same choice by position: the order is the same in every language) and are
    counted together on the lecturer's screen."""
    with app_server(env=WOKEN_ONLY, log=ARTIFACTS / "room-languages.log") as (url, proc):
        browser = launch(playwright)
        try:
            lecturer, code = _start_room(browser, url)
            linked = _page(browser, f"{url}/lesson?room={code}&lang=ko")
            context = browser.new_context(viewport={"width": 1300, "height": 900}, locale="ko-KR")
            korean_browser = context.new_page()
            korean_browser.goto(f"{url}/lesson?room={code}")
            wait_rendered(korean_browser)
            english = _page(browser, f"{url}/lesson?room={code}")
            for s in (linked, korean_browser):
                assert s.get_by_text(f"방 {code}").count() >= 1  # "Following room CODE", in Korean
            assert english.get_by_text(f"Following room {code}").count() == 1
            students = [english, linked, korean_browser]
            _next(lecturer)  # step 2, the squeeze: its choices are numbers, the same words in both languages
            for s in students:
                _wait_step(s, 2, FOLLOW_WITHIN)
            english_choices = lecturer.locator("[data-testid='stMain'] [data-testid='stRadio']").last.locator(
                "label[data-testid='stRadioOption']").all_inner_texts()
            for s in students:
                radio = s.locator("[data-testid='stMain'] [data-testid='stRadio']").last
                assert radio.locator("label[data-testid='stRadioOption']").all_inner_texts() == english_choices  # numbers
                assert s.get_by_text("먼저 예측해 보세요").count() == (s is not english)
                radio.locator("label[data-testid='stRadioOption']").nth(1).click()
            lecturer.get_by_text(re.compile(r"3 answers so far \(.*: 3\)")).wait_for(timeout=10_000)
            lecturer.get_by_role("button", name="Reveal to the class").click()
            english.get_by_text("The class: 3 answers").wait_for(timeout=10_000)
            for s in (linked, korean_browser):
                s.get_by_text("반 전체: 답 3개").wait_for(timeout=10_000)
            korean_browser.screenshot(path=str(ARTIFACTS / "room-korean-student.png"))
            lecturer.screenshot(path=str(ARTIFACTS / "room-english-lecturer.png"))
            assert proc.poll() is None
        finally:
            browser.close()


def test_a_followers_screen_is_woken_alone_and_the_page_drawn_whole_where_the_screen_cannot_show_it(playwright):
    """A wake reruns a follower's screen alone (``RoomSession.draw``); what lies outside it, the
    sidebar's model and the presenter view's frame, is drawn by a run of the whole page."""
    with app_server(env=WOKEN_ONLY, log=ARTIFACTS / "room-screen.log") as (url, proc):
        browser = launch(playwright)
        try:
            lecturer, code = _start_room(browser, url)
            student = _page(browser, f"{url}/lesson?room={code}")
            sidebar = student.locator("[data-testid='stSidebar']")
            _next(lecturer)
            _wait_step(student, 2, FOLLOW_WITHIN)
            assert sidebar.get_by_text(re.compile(r"weights: shipped")).count() == 1
            # the lecturer switches to random weights: the student's sidebar, outside the screen, follows
            lecturer.locator("[data-testid='stSidebar'] label[data-testid='stRadioOption']", has_text="random").click()
            sidebar.get_by_text(re.compile(r"weights: random")).wait_for(timeout=10_000)
            _wait_step(student, 2, FOLLOW_WITHIN)
            # the presenter view, turned on in the student's screen, hides the page's sidebar
            student.locator("[data-testid='stMain']").get_by_text("Presenter view").click()
            sidebar.wait_for(state="hidden", timeout=10_000)
            _next(lecturer)
            _wait_step(student, 3, FOLLOW_WITHIN)
            student.screenshot(path=str(ARTIFACTS / "room-student-presenter.png"))
            assert proc.poll() is None
        finally:
            browser.close()

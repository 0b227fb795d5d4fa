"""The lecture-hall command: Redis, two app processes and nginx with sticky sessions, started by
scripts/classroom.sh (``make classroom``); a lecturer on one process and a student on the other
follow each other through the proxy, and Ctrl-C stops everything."""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import time

import pytest
from browser_support import CHROMIUM_ARGS, classroom_server, ensure_chromium, self_signed, wait_rendered
from conftest import ROOT
from redis_support import ensure_redis

PASSWORD = "lecture-hall"
ARTIFACTS = ROOT / "test-artifacts"


def _ensure_nginx() -> str | None:
    found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx") or None
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        subprocess.run(["apt-get", "install", "-y", "-qq", "nginx-light"], check=False, timeout=1200,
                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"}, capture_output=True)
        found = shutil.which("nginx") or (os.path.exists("/usr/sbin/nginx") and "/usr/sbin/nginx") or None
    return found


@pytest.fixture(scope="module")
def classroom():
    if _ensure_nginx() is None or ensure_redis() is None:
        pytest.skip("nginx or redis-server is not installed and cannot be installed here (not root, or no apt-get)")
    ARTIFACTS.mkdir(exist_ok=True)
    log = ARTIFACTS / "classroom.log"
    try:
        with classroom_server(2, {"SENET_VIZ_LECTURER_PASSWORD": PASSWORD}, log=log) as started:
            yield started
    except RuntimeError as exc:
        pytest.fail(f"{exc}: " + log.read_text()[-2000:])


@pytest.fixture()  # stopped after its test: the two-process test checks that no classroom process is left
def https_classroom(tmp_path_factory):
    if _ensure_nginx() is None or ensure_redis() is None:
        pytest.skip("nginx or redis-server is not installed and cannot be installed here (not root, or no apt-get)")
    ARTIFACTS.mkdir(exist_ok=True)
    cert, key = self_signed(tmp_path_factory.mktemp("tls"))
    log = ARTIFACTS / "classroom-https.log"
    try:
        with classroom_server(1, {"SENET_VIZ_LECTURER_PASSWORD": PASSWORD, "CERT": str(cert), "KEY": str(key)},
                              log=log) as started:
            yield started
    except RuntimeError as exc:
        pytest.fail(f"{exc}: " + log.read_text()[-2000:])


def _start_room(page, url: str) -> str:
    page.goto(f"{url}/lesson")
    wait_rendered(page)
    page.get_by_role("button", name="Start a room").click()
    page.get_by_label("Lecturer password").fill(PASSWORD)
    page.get_by_label("Lecturer password").press("Enter")
    page.get_by_role("button", name="Start", exact=True).click()
    heading = page.locator("h3", has_text="Room").first
    heading.wait_for(timeout=60_000)
    return re.search(r"Room\s+(\w{6})", heading.inner_text()).group(1)


def test_the_classroom_serves_the_lesson_and_its_rooms_over_https(https_classroom):
    import http.client

    from playwright.sync_api import sync_playwright

    if ensure_chromium() is None:
        pytest.skip("chromium is not installed and cannot be installed here")
    url, _proc, port = https_classroom
    plain = http.client.HTTPConnection("127.0.0.1", port, timeout=10)  # plain HTTP to the HTTPS port
    plain.request("GET", "/lesson?room=X")
    answer = plain.getresponse()
    assert answer.status == 301 and answer.getheader("Location") == f"https://127.0.0.1:{port}/lesson?room=X"
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS, headless=True)
        try:
            lecturer_ctx = browser.new_context(ignore_https_errors=True, viewport={"width": 1200, "height": 900})
            student_ctx = browser.new_context(ignore_https_errors=True, viewport={"width": 1200, "height": 900})
            code = _start_room(lecturer_ctx.new_page(), url)
            student = student_ctx.new_page()
            student.goto(f"{url}/lesson?room={code}")
            wait_rendered(student)
            assert student.get_by_text(f"Following room {code}").count() == 1
            lecturer = lecturer_ctx.pages[0]
            lecturer.get_by_role("button", name="Next ▶").click()
            student.wait_for_function(
                "() => document.querySelector('[data-testid=\"stMain\"] h1')?.innerText.startsWith('2.')", timeout=20_000)
            student.screenshot(path=str(ARTIFACTS / "classroom-https-student.png"))
            cookies = {c["name"]: c for c in student_ctx.cookies()}
            assert cookies["senet_route"]["secure"] and cookies["senet_route"]["httpOnly"]
            assert cookies["senet_viz_voter"]["secure"] and cookies["senet_viz_voter"]["sameSite"] == "Strict"
            assert all(c["secure"] for c in cookies.values()), cookies
        finally:
            browser.close()


def _on_each_process(browser, url: str, count: int = 2) -> list:
    """Browser contexts whose route cookie sends them to different app processes."""
    by_upstream = {}
    for _ in range(40):
        context = browser.new_context(viewport={"width": 1200, "height": 900})
        upstream = context.request.get(url).headers.get("x-senet-upstream")  # sets the route cookie too
        if upstream and upstream not in by_upstream:
            by_upstream[upstream] = context
        else:
            context.close()
        if len(by_upstream) == count:
            return list(by_upstream.values())
    pytest.fail(f"the proxy spread 40 browsers over {len(by_upstream)} process(es)")


def test_large_answers_pass_through_the_proxy_to_a_slow_browser(classroom):
    """nginx buffers an answer its browser does not read yet to disk, in the classroom's folder;
    its workers (nobody, under root) must be able to write there, or Plotly's 4.7 MB script is cut
    off ("Failed to fetch dynamically imported module")."""
    import http.client
    from pathlib import Path

    import streamlit

    url, _, port = classroom
    script = max((Path(streamlit.__file__).parent / "static" / "static" / "js").glob("*.js"), key=lambda f: f.stat().st_size)
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    conn.request("GET", f"/static/js/{script.name}")
    response = conn.getresponse()
    assert response.status == 200
    first = response.read(1)
    time.sleep(2)  # a slow browser: nginx has read the whole answer by now, most of it into a buffer file
    body = first + response.read()
    conn.close()
    assert len(body) == script.stat().st_size, "the answer was cut off: nginx could not buffer it"


def test_a_lecturer_and_a_student_on_two_processes_follow_each_other_through_the_proxy(classroom):
    from playwright.sync_api import sync_playwright

    if ensure_chromium() is None:
        pytest.skip("chromium is not installed and cannot be installed here")
    url, proc, port = classroom
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=ensure_chromium(), args=CHROMIUM_ARGS, headless=True)
        try:
            lecturer_ctx, student_ctx = _on_each_process(browser, url)
            lecturer = lecturer_ctx.new_page()
            code = _start_room(lecturer, url)
            student = student_ctx.new_page()
            student.goto(f"{url}/lesson?room={code}")
            wait_rendered(student)
            assert student.get_by_text(f"Following room {code}").count() == 1
            lecturer.get_by_role("button", name="Next ▶").click()
            student.wait_for_function(
                "() => document.querySelector('[data-testid=\"stMain\"] h1')?.innerText.startsWith('2.')", timeout=20_000)
            student.screenshot(path=str(ARTIFACTS / "classroom-student.png"))
        finally:
            browser.close()
    os.killpg(proc.pid, signal.SIGINT)  # Ctrl-C in the terminal that started it
    assert proc.wait(timeout=60) is not None
    time.sleep(1)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()  # the proxy is gone
    redis_port = re.search(r"Redis on 127\.0\.0\.1:(\d+)", (ARTIFACTS / "classroom.log").read_text()).group(1)
    assert not _running("senet-classroom")  # nginx ran from the classroom's folder
    assert not _running(f"--port {redis_port}")  # redis-server
    assert not _running(f"redis://127.0.0.1:{redis_port}/", "environ")  # the app processes


def _running(text: str, part: str = "cmdline") -> list[str]:
    """Processes whose command line (or environment) holds ``text``, read from /proc (no pgrep needed)."""
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != os.getpid():
            try:
                with open(f"/proc/{entry}/{part}", "rb") as f:
                    line = f.read().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if text in line:
                found.append(entry)
    return found

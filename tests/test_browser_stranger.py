"""A stranger's browser against a real server (tests/test_guard.py and test_user_text.py hold the
unit tests): a request through a proxy counts as remote, so a browser carrying X-Forwarded-For
is the student on the network. It cannot read a server file through the class names, exhaust the
server with an 80-byte weights file or a link, run code, or turn class names into markup; the
person at the machine, at http://127.0.0.1 or http://localhost, starts rooms without a password
and builds networks from code."""

from __future__ import annotations

import json
import re

import pytest
import torch
from browser_support import ROOT, app_server, launch, sync_api_or_skip, wait_rendered
from safetensors.torch import save, save_file

from senet_viz.models.project import PROJECT_MODELS

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
REMOTE = {"X-Forwarded-For": "203.0.113.9"}  # TEST-NET-3: never a real address
MARKER_MODULE = '''
import pathlib, torch
pathlib.Path(__file__).with_suffix(".ran").write_text("imported")
from handwritten_se import build_semodule as build
'''


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    sync_api = sync_api_or_skip()
    ARTIFACTS.mkdir(exist_ok=True)
    code = tmp_path_factory.mktemp("code")
    (code / "stranger_marker.py").write_text(MARKER_MODULE)
    env = {"SENET_VIZ_ALLOW_CODE_MODELS": "1", "SENET_VIZ_LECTURER_PASSWORD": "",
           "PYTHONPATH": f"{code}:{ROOT / 'tests'}"}
    with app_server(env, log=ARTIFACTS / "stranger-server.log", address="::ffff:127.0.0.1") as (url, proc), \
            sync_api.sync_playwright() as p:
        browser = launch(p)
        yield url, proc, browser, code
        browser.close()


def _page(browser, url: str, remote: bool):
    context = browser.new_context(viewport={"width": 1300, "height": 900}, extra_http_headers=REMOTE if remote else None)
    page = context.new_page()
    page.goto(url)
    wait_rendered(page)
    return page


def _peak_mib(proc) -> float:
    """The server process's peak resident memory so far (VmHWM), MiB."""
    text = open(f"/proc/{proc.pid}/status").read()
    return int(re.search(r"VmHWM:\s+(\d+) kB", text).group(1)) / 1024


def _errors(page) -> list[str]:
    return page.locator("[data-testid='stAlertContentError']").all_inner_texts()


def _running(page) -> str:
    return page.locator("[data-testid='stSidebar']").get_by_text("Running:").inner_text()


def _upload_weights(page, path) -> None:
    side = page.locator("[data-testid='stSidebar']")
    side.get_by_text("file", exact=True).click()
    side.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(path))
    page.wait_for_function("name => [...document.querySelectorAll('[data-testid=stSidebar] [data-testid=stCaptionContainer]')]"
                           ".some(c => c.innerText.includes(name)) || document.querySelector('[data-testid=stAlertContentError]')",
                           arg=path.name.replace("_", "\\_"), timeout=60_000)
    wait_rendered(page)


def test_the_person_at_the_machine_starts_a_room_and_two_students_follow(server):
    url, _proc, browser, _code = server
    lecturer = _page(browser, url.replace("127.0.0.1", "127.0.0.1") + "/lesson", remote=False)
    lecturer.get_by_role("button", name="Start a room").click()
    lecturer.get_by_role("button", name="Start", exact=True).click()
    heading = lecturer.locator("h3", has_text="Room").first
    heading.wait_for(timeout=60_000)
    code = re.search(r"Room\s+(\w{6})", heading.inner_text()).group(1)
    students = [_page(browser, f"{url.replace('127.0.0.1', 'localhost')}/lesson?room={code}", remote=False)
                for _ in range(2)]
    for s in students:
        assert s.get_by_text(f"Following room {code}").count() == 1
    lecturer.get_by_role("button", name="Next ▶").click()
    for s in students:
        s.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"] h1')?.innerText.startsWith('2.')",
                            timeout=20_000)
    students[1].screenshot(path=str(ARTIFACTS / "stranger-localhost-student.png"))
    stranger = _page(browser, f"{url}/lesson", remote=True)  # the same server, through a proxy
    stranger.get_by_role("button", name="Start a room").click()
    stranger.get_by_role("button", name="Start", exact=True).click()
    stranger.get_by_text("rooms start only from a browser on this server's own machine").wait_for(timeout=30_000)


def test_code_runs_for_the_machine_and_never_for_a_stranger(server):
    url, _proc, browser, code = server
    ran = code / "stranger_marker.ran"
    stranger = _page(browser, f"{url}/inspect?model=stranger_marker:build", remote=True)
    assert any("run only for a browser on this server's own machine" in e for e in _errors(stranger)), _errors(stranger)
    assert "se_resnet20_cifar10" in _running(stranger) and not ran.exists()
    local = _page(browser, f"{url}/inspect?model=stranger_marker:build", remote=False)
    assert "stranger_marker:build" in _running(local) and "6 SE blocks" in _running(local), _running(local)
    assert ran.exists()


def test_a_stranger_cannot_exhaust_the_server_with_a_tiny_file_or_a_link(server, tmp_path):
    url, proc, browser, _code = server
    bomb = tmp_path / "bomb.safetensors"
    save_file({"fc.weight": torch.zeros(4_000_000, 0)}, str(bomb))
    page = _page(browser, f"{url}/inspect", remote=True)
    before = _peak_mib(proc)
    _upload_weights(page, bomb)
    page.get_by_text("its classifier has 4,000,000 classes").wait_for(timeout=60_000)
    after_bomb = _peak_mib(proc)
    assert after_bomb - before < 300, (before, after_bomb)  # 998 MiB when the network was built first
    link = _page(browser, f"{url}/inspect?model=regnety_2560&weights=random", remote=True)
    assert any("1,283 million parameters" in e for e in _errors(link)), _errors(link)
    assert _peak_mib(proc) - after_bomb < 1024, (after_bomb, _peak_mib(proc))  # 4.5 GiB when it was built
    assert "se_resnet20_cifar10" in _running(link)


def test_a_server_file_typed_as_class_names_shows_none_of_its_lines(server, tmp_path):
    url, _proc, browser, _code = server
    secret = tmp_path / "secret.txt"
    secret.write_text("".join(f"SECRET-LINE-{i}\n" for i in range(10)))
    weights = tmp_path / "ten.safetensors"
    torch.manual_seed(5)
    weights.write_bytes(save(PROJECT_MODELS["se_resnet20_cifar10"].build().state_dict()))
    page = _page(browser, f"{url}/inspect", remote=True)
    _upload_weights(page, weights)
    names = page.locator("[data-testid='stSidebar'] input[aria-label='Class names']")
    names.fill(str(secret))
    names.press("Enter")
    page.get_by_text("1 class names given, but the network has 10 classes").wait_for(timeout=60_000)
    assert "SECRET-LINE" not in page.content()


def test_class_names_written_as_markup_stay_text_on_the_lesson_and_compare(server, tmp_path):
    url, _proc, browser, _code = server
    # every picture is predicted as class 0, whose name is every kind of markup at once
    first = "**BOLD0** <b>HTML1</b> [LINK2](http://x.example) :red[RED3] $LATEX4$ _ITALIC6_ `CODE7` <img src=x>"
    hostile = [first, *(f"c{i}" for i in range(1, 10))]
    torch.manual_seed(6)
    state = PROJECT_MODELS["se_resnet20_cifar10"].build().state_dict()
    state["fc.bias"][0] = 1e4
    weights = tmp_path / "hostile.safetensors"
    weights.write_bytes(save(state, metadata={"class_names": json.dumps(hostile)}))
    page = _page(browser, f"{url}/compare", remote=True)
    _upload_weights(page, weights)
    # the sidebar names the file as soon as the model is loaded; the page's charts follow in the same run
    page.wait_for_function("() => [...document.querySelectorAll('[data-testid=stMain] svg text')]"
                           ".some(t => t.textContent.includes('BOLD0'))", timeout=60_000)
    shots = []
    for where in ("compare", "lesson"):
        if where == "lesson":
            page.locator("[data-testid='stSidebarNav']").get_by_text("Lesson").click()
            wait_rendered(page)
            for _ in range(5):  # to step 6, the two pictures with their predictions
                page.get_by_role("button", name="Next ▶").click()
                wait_rendered(page)
        main = page.locator("[data-testid='stMain']")
        shots.append(ARTIFACTS / f"stranger-markup-{where}.png")
        page.screenshot(path=str(shots[-1]), full_page=True)
        svg = page.evaluate("Array.from(document.querySelectorAll('[data-testid=stMain] svg text')).map(t => t.textContent).join(' ')")
        assert first in (main.inner_text() + svg).replace("\u2060", ""), where  # shown, as the characters it is
        assert main.locator("a[href*='x.example'], img[src='x'], .katex").count() == 0
        for tag in ("strong", "b", "em", "code"):
            texts = " ".join(main.locator(tag).all_inner_texts())
            assert not re.search(r"BOLD0|HTML1|ITALIC6|CODE7", texts), (where, tag, texts)

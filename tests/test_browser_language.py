"""The app in Korean, in Chromium: with ?lang=ko at least 70% of the words in the main area of
every page and every Lesson step are Hangul (identifiers aside), the page declares its language,
a Korean browser gets Korean without asking, and without a language no page has Hangul."""

from __future__ import annotations

import re

import pytest
from browser_support import PAGES, ROOT, served_browser, wait_rendered

from senet_viz.lesson import STEPS

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
HANGUL = re.compile(r"[\uac00-\ud7a3]")
#: What a word in the main area counts as: Hangul, or Latin letters; identifiers (with digits or
#: underscores: se_resnet20_cifar10, SE_4_3, CIFAR-10) and one-letter symbols (z, s, U, r, C) aside.
WORD = re.compile(r"\S+")
IDENTIFIER = re.compile(r"[\d_]|^[A-Za-z]$")


def hangul_share(text: str) -> tuple[float, int, list[str]]:
    """(share of Hangul words among Hangul and Latin words, number of such words, the Latin ones)."""
    hangul, latin = 0, []
    for word in WORD.findall(text):
        if HANGUL.search(word):
            hangul += 1
            continue
        letters = re.sub(r"[^A-Za-z_\d]", "", word)
        if re.search(r"[A-Za-z]", letters) and not IDENTIFIER.search(letters):
            latin.append(letters)
    counted = hangul + len(latin)
    return (hangul / counted if counted else 0.0), counted, latin


def test_hangul_share_counts_words_and_leaves_identifiers():
    share, counted, latin = hangul_share("채널 16개의 SE_2_1 게이트 s, the gate of se_resnet20_cifar10")
    assert (counted, latin) == (6, ["the", "gate", "of"]) and share == 0.5


@pytest.fixture(scope="module")
def browser_and_url():
    with served_browser("language-server.log") as (url, _proc, browser):
        yield browser, url


def _main_text(page) -> str:
    return page.locator("[data-testid='stMain']").inner_text()


def _open(browser, url: str, locale: str = "en-US"):
    context = browser.new_context(viewport={"width": 1300, "height": 900}, locale=locale)
    page = context.new_page()
    page.goto(url)
    wait_rendered(page)
    page.wait_for_timeout(800)  # charts drawn
    return page


WHERE = [(name, path) for name, path in PAGES.items()] + \
    [(f"lesson-step-{i + 1}", f"lesson?step={i + 1}") for i in range(len(STEPS))]


@pytest.mark.parametrize("name,path", WHERE, ids=[w[0] for w in WHERE])
def test_korean_pages_are_mostly_hangul_and_declare_their_language(browser_and_url, name, path):
    browser, url = browser_and_url
    page = _open(browser, f"{url}/{path}{'&' if '?' in path else '?'}lang=ko")
    share, counted, latin = hangul_share(_main_text(page))
    page.screenshot(path=str(ARTIFACTS / f"korean-{name}.png"))
    assert counted > 20
    assert share >= 0.7, (round(share, 3), sorted(set(latin))[:40])
    assert page.evaluate("document.documentElement.lang") == "ko"
    page.context.close()


@pytest.mark.parametrize("name,path", list(PAGES.items()), ids=list(PAGES))
def test_without_a_language_no_page_has_hangul(browser_and_url, name, path):
    browser, url = browser_and_url
    page = _open(browser, f"{url}/{path}")
    assert HANGUL.findall(_main_text(page)) == []
    # the sidebar's only Hangul: Korean named in itself in the language control, as every language choice does
    sidebar = page.locator("[data-testid='stSidebar']").inner_text().replace("한국어", "")
    assert HANGUL.findall(sidebar) == []
    assert page.evaluate("document.documentElement.lang") == "en"
    page.context.close()


def test_a_korean_browser_gets_korean_and_the_choice_is_kept(browser_and_url):
    browser, url = browser_and_url
    page = _open(browser, f"{url}/inspect", locale="ko-KR")
    assert HANGUL.search(page.locator("[data-testid='stMain'] h1").first.inner_text())
    # the sidebar's control switches to English, into the link and the browser's cookie
    page.locator("[data-testid='stSidebar']").get_by_text("English", exact=True).click()
    page.wait_for_function("() => document.documentElement.lang === 'en'", timeout=20_000)
    wait_rendered(page)
    assert "lang=en" in page.url
    assert page.locator("[data-testid='stMain'] h1").first.inner_text() == "Inspect a picture"
    cookies = {c["name"]: c["value"] for c in page.context.cookies()}
    assert cookies.get("senet_viz_lang") == "en"
    again = page.context.new_page()  # a new tab of the same browser, without the link's parameter
    again.goto(f"{url}/compare")
    wait_rendered(again)
    assert again.locator("[data-testid='stMain'] h1").first.inner_text() == "Compare"
    page.context.close()

"""The app in a real headless Chromium: every page renders, an upload on Inspect gives a
prediction and charts. Screenshots of a failing page go to test-artifacts/."""

from __future__ import annotations

import pytest
from browser_support import PAGES, ROOT, app_server, served_browser, wait_rendered
from conftest import random_picture

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"


@pytest.fixture(scope="module")
def browser_page():
    with served_browser("server.log") as (url, proc, browser):
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        yield url, page, errors, proc


def _shot_on_failure(page, name: str):
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


@pytest.mark.parametrize("name", list(PAGES))
def test_every_page_renders_in_chromium(browser_page, name):
    url, page, errors, proc = browser_page
    try:
        page.goto(f"{url}/{PAGES[name]}")
        wait_rendered(page)
        assert page.locator("h1").count() >= 1
        assert page.locator("[data-testid='stException']").count() == 0
        assert page.locator("[data-testid='stAlertContentError']").count() == 0
        if name != "equations":
            page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        else:
            page.wait_for_selector(".katex", timeout=60_000)
        assert proc.poll() is None and not errors, errors
    except Exception:
        _shot_on_failure(page, f"page-{name}")
        raise


def _upload_on_inspect(page, url: str, path) -> None:
    page.goto(f"{url}/inspect")
    wait_rendered(page)
    page.get_by_role("tab", name="Upload").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(path))


def test_upload_on_inspect_shows_a_prediction(browser_page, tmp_path):
    url, page, errors, _ = browser_page
    pic = tmp_path / "upload.png"
    random_picture(3, (120, 90)).save(pic)
    try:
        _upload_on_inspect(page, url, pic)
        page.wait_for_selector("text=upload.png", timeout=60_000)
        wait_rendered(page)
        # the uploader names the file at once; the page's run that shows it may still be under way
        page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stImageCaption'], "
                               "[data-testid='stCaptionContainer']\")].some(c => c.innerText.includes('upload.png'))",
                               timeout=60_000)
        wait_rendered(page)
        page.wait_for_selector("text=Prediction (top 5)", timeout=60_000)
        # the fingerprint, z and s (Vega-Lite canvases) and the channel maps (Plotly)
        page.wait_for_function("() => document.querySelectorAll(\"[data-testid='stVegaLiteChart'] canvas\").length >= 3", timeout=60_000)
        assert page.locator(".js-plotly-plot").count() >= 1
        caption = page.locator("[data-testid='stImageCaption'], [data-testid='stCaptionContainer']").all_inner_texts()
        assert any("upload.png" in c for c in caption), caption
        assert page.locator("[data-testid='stException']").count() == 0 and not errors
    except Exception:
        _shot_on_failure(page, "inspect-upload")
        raise


def test_a_non_picture_upload_is_one_error_line(browser_page, tmp_path):
    url, page, _, proc = browser_page
    bad = tmp_path / "notes.png"
    bad.write_bytes(b"this is not a picture")
    try:
        _upload_on_inspect(page, url, bad)
        page.wait_for_selector("[data-testid='stAlertContentError']", timeout=60_000)
        text = page.locator("[data-testid='stAlertContentError']").first.inner_text()
        assert "notes.png" in text and "Traceback" not in text
        assert page.locator("[data-testid='stException']").count() == 0 and proc.poll() is None
    except Exception:
        _shot_on_failure(page, "inspect-bad-upload")
        raise




def _open_in_fresh_context(page, link: str):
    """A copied link opened in a new browser context (no cookies, no session): (context, page)."""
    fresh = page.context.browser.new_context(viewport={"width": 1300, "height": 900})
    other = fresh.new_page()
    other.goto(link)
    wait_rendered(other)
    return fresh, other


def test_compare_opens_compared_and_its_link_restores_it_in_a_fresh_context(browser_page):
    url, page, errors, _ = browser_page
    try:
        page.goto(url)
        wait_rendered(page)
        assert page.locator("[data-testid='stSidebarNav'] >> text=Compare").count() >= 1
        page.goto(f"{url}/compare")
        wait_rendered(page)
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        assert page.locator("[data-testid='stImage']").count() >= 4  # two pictures and their model's-eye views
        assert page.locator("[data-testid='stException']").count() == 0 and not errors
        # choose another picture A and block, then open the copied link in a fresh browser context
        page.goto(f"{url}/compare?mode=pictures&a=gallery:rocket&b=gallery:coffee&block=SE_3_1")
        wait_rendered(page)
        page.wait_for_selector(".js-plotly-plot", timeout=60_000)
        fresh, other = _open_in_fresh_context(page, page.url)
        other.wait_for_selector(".js-plotly-plot", timeout=60_000)
        captions = other.locator("[data-testid='stImageCaption'], [data-testid='stCaptionContainer']").all_inner_texts()
        assert any("rocket" in c for c in captions) and any("coffee" in c for c in captions), captions
        assert "block=SE_3_1" in other.url and other.locator("[data-testid='stException']").count() == 0
        fresh.close()
    except Exception:
        _shot_on_failure(page, "compare")
        raise


def test_an_equations_link_restores_picture_and_step_in_a_fresh_context(browser_page):
    url, page, errors, _ = browser_page
    try:
        page.goto(f"{url}/equations?picture=rocket&step=3&block=SE_4_3")
        wait_rendered(page)
        fresh, other = _open_in_fresh_context(page, page.url)
        other.wait_for_selector("text=Step 3 of 8", timeout=60_000)
        assert other.locator("text=gallery: rocket").count() >= 1 or "rocket" in other.inner_text("[data-testid='stMain']")
        fresh.close()
    except Exception:
        _shot_on_failure(page, "equations-link")
        raise


def test_a_link_to_a_page_works_on_a_freshly_started_server(browser_page, tmp_path):
    """The first request of a new server process is a page's link: the page must still run
    under app.py's navigation (sidebar, model picker, link parameters)."""
    browser = browser_page[1].context.browser
    with app_server(log=tmp_path / "server.log") as (url, _):
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        try:
            page.goto(f"{url}/architecture?r=8")
            wait_rendered(page)
            page.wait_for_selector("text=Network", timeout=60_000)  # the sidebar's model picker
            nav = page.locator("[data-testid='stSidebarNav']").inner_text()
            assert "Architecture & cost" in nav and "common" not in nav
            assert "r=8" in page.url
        except Exception:
            _shot_on_failure(page, "fresh-server-link")
            raise
        finally:
            page.close()


def test_without_the_dataset_the_gallery_offers_every_class_and_a_link_restores_a_picture(browser_page, tmp_path):
    """A server on a machine without the CIFAR-10 test split: Inspect's gallery still names
    pictures of all 10 classes, and a link to one restores it in a fresh browser."""
    from senet_viz import gallery

    browser = browser_page[1].context.browser  # the module's Chromium, another server
    env = {"SENET_VIZ_CIFAR10_TEST": str(tmp_path / "no-such-archive.tar.gz")}
    with app_server(env=env, log=ARTIFACTS / "server-no-data.log") as (url, _):
        first = browser.new_context(viewport={"width": 1300, "height": 900})
        page = first.new_page()
        try:
            page.goto(f"{url}/inspect?picture=cifar-frog-4")
            wait_rendered(page)
            page.wait_for_selector(".js-plotly-plot", timeout=60_000)
            assert "frog #4" in page.inner_text("[data-testid='stMain']")
            page.locator("[data-testid='stSelectbox']:has-text('Class')").first.click()
            options = page.locator("[role='option']").all_inner_texts()
            assert [o.split(" (")[0] for o in options[1:]] == gallery.cifar_classes(), options
            page.keyboard.press("Escape")
            fresh = browser.new_context(viewport={"width": 1300, "height": 900})
            other = fresh.new_page()
            other.goto(f"{url}/inspect?picture=cifar-ship-9")
            wait_rendered(other)
            other.wait_for_selector(".js-plotly-plot", timeout=60_000)
            text = other.inner_text("[data-testid='stMain']")
            assert "ship #9" in text and "gallery: cifar-ship-9" in text
            assert other.locator("[data-testid='stException']").count() == 0
            fresh.close()
        except Exception:
            _shot_on_failure(page, "gallery-no-data")
            raise
        finally:
            first.close()


def _title(page) -> str:
    return page.locator("[data-testid='stMain'] h1").first.inner_text()


def test_the_lesson_walks_with_next_a_link_opens_its_step_and_the_presenter_view_hides_the_sidebar(browser_page):
    from senet_viz.lesson import STEPS

    url, page, errors, _ = browser_page
    browser = page.context.browser
    try:
        page.goto(f"{url}/lesson")
        wait_rendered(page)
        for i, step in enumerate(STEPS):
            assert _title(page) == f"{i + 1}. {step.title}"
            assert page.locator("[data-testid='stException']").count() == 0
            if i < len(STEPS) - 1:
                page.get_by_role("button", name="Next ▶").click()
                wait_rendered(page)
        assert page.get_by_role("button", name="Next ▶").is_disabled() and f"step={len(STEPS)}" in page.url
        fresh = browser.new_context(viewport={"width": 1300, "height": 900}).new_page()
        fresh.goto(f"{url}/lesson?step=6&picture=cifar-horse-6")
        wait_rendered(fresh)
        assert _title(fresh) == f"6. {STEPS[5].title}" and fresh.get_by_text("A: horse #6").count() == 1
        fresh.goto(f"{url}/lesson?step=3&present=1")
        wait_rendered(fresh)
        assert _title(fresh).startswith("3. ") and not fresh.locator("section[data-testid='stSidebar']").is_visible()
        fresh.keyboard.press("ArrowRight")  # the Next button's shortcut
        fresh.wait_for_function("() => document.querySelector('[data-testid=\"stMain\"] h1')?.innerText.startsWith('4.')",
                                timeout=30_000)
        fresh.context.close()
        assert not errors, errors
    except Exception:
        _shot_on_failure(page, "lesson")
        raise


def test_class_patterns_plays_the_training_film(browser_page):
    from senet_viz.artefacts import film_file

    if not film_file("se_resnet20_cifar10").is_file():
        pytest.skip("no film is shipped")
    url, page, errors, _ = browser_page
    try:
        page.goto(f"{url}/class_patterns")
        wait_rendered(page)
        title = page.locator(".js-plotly-plot .gtitle", has_text="SE_4_3, epoch")
        title.first.wait_for(timeout=60_000)
        before = title.first.text_content()
        page.locator(".js-plotly-plot .updatemenu-button", has_text="Play").first.click()  # from the last frame: over again
        page.wait_for_function(
            "before => [...document.querySelectorAll('.js-plotly-plot .gtitle')].some(t => t.textContent.startsWith('SE_4_3') "
            "&& t.textContent !== before)", arg=before, timeout=30_000)
        assert not errors, errors
    except Exception:
        _shot_on_failure(page, "class-patterns-film")
        raise

"""WCAG 2.1 A/AA in Chromium: axe-core (from npm, installed here when missing, as Chromium is)
finds no serious or critical violation on any page, in English and in Korean, and each page
declares the language it is written in."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest
from browser_support import PAGES, ROOT, app_server, launch, sync_api_or_skip, wait_rendered

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts"
AXE_VERSION = "4"


def _axe_source() -> str | None:
    """axe-core's browser script, from npm into the user's cache (once); None where npm is missing."""
    folder = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "senet-viz" / "axe"
    script = folder / "node_modules" / "axe-core" / "axe.min.js"
    if not script.is_file() and shutil.which("npm"):
        folder.mkdir(parents=True, exist_ok=True)
        subprocess.run(["npm", "install", "--silent", "--prefix", str(folder), f"axe-core@{AXE_VERSION}"], check=False,
                       timeout=600, capture_output=True)
    return script.read_text() if script.is_file() else None


@pytest.fixture(scope="module")
def axe_page():
    sync_api = sync_api_or_skip()
    source = _axe_source()
    if source is None:
        pytest.skip("axe-core is not installed and npm cannot install it here")
    ARTIFACTS.mkdir(exist_ok=True)
    with app_server(log=ARTIFACTS / "accessibility-server.log") as (url, _proc), sync_api.sync_playwright() as p:
        browser = launch(p)
        yield url, browser.new_page(viewport={"width": 1300, "height": 900}), source
        browser.close()


@pytest.mark.parametrize("lang", ["en", "ko"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_or_critical_wcag_violation(axe_page, name, lang):
    url, page, source = axe_page
    page.goto(f"{url}/{PAGES[name]}?lang={lang}")
    wait_rendered(page)
    page.wait_for_function(f"() => document.documentElement.lang === '{lang}'", timeout=20_000)
    page.wait_for_timeout(1000)  # charts drawn
    page.add_script_tag(content=source)
    found = page.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'tag',
        values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})).violations
        .filter(v => v.impact === 'serious' || v.impact === 'critical')
        .map(v => `${v.id} (${v.impact}): ${v.nodes.slice(0, 3).map(n => n.target.join(' ')).join('; ')}`)""")
    if found:
        page.screenshot(path=str(ARTIFACTS / f"accessibility-{name}-{lang}.png"), full_page=True)
    assert found == []

"""A classroom on one server: 20 concurrent browser sessions, each uploading its own picture.

Each session must see the prediction of its own picture (no cross-talk); the test records
time to result (p50, p95) and the server's memory (peak, and after the sessions end) in
test-artifacts/load.json, the figures docs/reliability.md quotes.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time

import numpy as np
import pytest
from browser_support import CHROMIUM, CHROMIUM_ARGS, ROOT, app_server, ensure_chromium
from conftest import random_picture

pytestmark = pytest.mark.browser
SESSIONS = 20


def _rss_mib(pid: int, field: str = "VmRSS") -> float:
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _pictures(tmp_path):
    """Pictures whose predictions differ between sessions (checked here)."""
    from senet_viz.capture import capture
    from senet_viz.models import load_model
    from senet_viz.models.registry import weights_available

    model = load_model("se_resnet20_cifar10", weights=None if weights_available("se_resnet20_cifar10") else "random")
    out = []
    for i in range(SESSIONS):
        img = random_picture(1000 + i, (64 + i, 48))
        path = tmp_path / f"session-{i:02d}.png"
        img.save(path)
        cls, p = capture(model, [img]).top(1)[0][0]
        out.append((path, cls, f"{p:.1%}"))
    assert len({(c, p) for _, c, p in out}) >= SESSIONS // 2, "pictures too alike to tell sessions apart"
    return out


async def _session(browser, url, picture, results):
    path, cls, prob = picture
    context = await browser.new_context(viewport={"width": 1200, "height": 900})
    context.set_default_timeout(240_000)  # 20 renderers share the server's 2 cores here
    page = await context.new_page()
    try:
        await page.goto(f"{url}/inspect", timeout=180_000)
        await page.wait_for_selector("[data-testid='stMetricValue']", timeout=180_000)
        await page.get_by_role("tab", name="Upload").click()
        start = time.perf_counter()
        await page.locator("[data-testid='stFileUploaderDropzoneInput']").first.set_input_files(str(path))
        await page.wait_for_selector(f"text={path.name}", timeout=180_000)
        await page.wait_for_function(
            "([cls, prob]) => { const v = document.querySelector('[data-testid=\"stMetricValue\"]');"
            " const d = document.querySelector('[data-testid=\"stMetricDelta\"]');"
            " return v && d && v.innerText.trim() === cls && d.innerText.trim() === prob; }",
            arg=[cls, prob], timeout=180_000)
        elapsed = time.perf_counter() - start
        shown = await page.locator("[data-testid='stMetricValue']").first.inner_text()
        caption_ok = await page.locator(f"text={path.name}").count() > 0
        results.append({"picture": path.name, "expected": cls, "shown": shown.strip(), "seconds": elapsed, "caption": caption_ok})
    except Exception as exc:  # noqa: BLE001 - recorded and asserted below
        await page.screenshot(path=str(ROOT / "test-artifacts" / f"load-{path.stem}.png"))
        results.append({"picture": path.name, "error": f"{type(exc).__name__}: {exc}"[:300]})
    finally:
        await context.close()


async def _classroom(url, pictures):
    from playwright.async_api import async_playwright

    results: list[dict] = []
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        await asyncio.gather(*[_session(browser, url, pic, results) for pic in pictures])
        await browser.close()
    return results


def test_twenty_sessions_each_see_their_own_prediction(tmp_path):
    if ensure_chromium() is None:
        pytest.skip("Chromium is not installed and cannot be installed here")
    pytest.importorskip("playwright.async_api")
    (ROOT / "test-artifacts").mkdir(exist_ok=True)
    pictures = _pictures(tmp_path)
    with app_server(log=ROOT / "test-artifacts" / "load-server.log") as (url, proc):
        samples, stop = [], threading.Event()

        def sample():
            while not stop.is_set():
                samples.append(_rss_mib(proc.pid))
                time.sleep(0.2)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        asyncio.run(_classroom(url, pictures[:1]))  # warm: the model loads once
        warm = _rss_mib(proc.pid)
        start = time.perf_counter()
        results = asyncio.run(_classroom(url, pictures))
        wall = time.perf_counter() - start
        time.sleep(15)  # sessions end when their sockets close
        after = _rss_mib(proc.pid)
        stop.set()
        sampler.join()
        peak = _rss_mib(proc.pid, "VmHWM")
        assert proc.poll() is None
    errors = [r for r in results if "error" in r]
    times = np.array([r["seconds"] for r in results if "seconds" in r])
    report = {"sessions": SESSIONS, "completed": len(times), "wall_s": wall,
              "p50_s": float(np.percentile(times, 50)) if len(times) else None,
              "p95_s": float(np.percentile(times, 95)) if len(times) else None,
              "server_rss_warm_mib": warm, "server_rss_peak_mib": peak, "server_rss_after_mib": after,
              "errors": errors}
    (ROOT / "test-artifacts" / "load.json").write_text(json.dumps(report, indent=1))
    print(json.dumps(report, indent=1))
    assert not errors, errors
    assert all(r["shown"] == r["expected"] and r["caption"] for r in results)
    assert after < warm + 0.5 * (peak - warm) + 150, report  # memory comes back down after the sessions end

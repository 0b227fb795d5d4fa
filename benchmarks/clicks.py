"""Time from a click to the page drawn, in headless Chromium, for the clicks a lecturer makes.

"Drawn" means: the script run is over (no running indicator, no stale or skeleton element) and
the main area has stopped changing (charts laid out); the time is that of the last change to the
page, not the end of the quiet window that confirms it. Run with nothing else on the machine:

    .venv/bin/python benchmarks/clicks.py [--repeats 3] [--out benchmarks/results/clicks.json]

Measures, with the embedded model warm: the first drawing of every page after Home (a fresh tab
opened at Home, then the page's link in the sidebar), Inspect's gallery picks, its sort toggle,
Equations' Next, and prints median and slowest per kind.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from browser_support import app_server, ensure_chromium, launch, wait_rendered  # noqa: E402

# Resolves with the milliseconds from the click to the last change of the page, once the run is
# over and the page has been still for `quiet` ms.
DRAWN_JS = """
async ([target, quiet]) => {
  const main = document.querySelector('[data-testid="stMain"]') || document.body;
  let last = performance.now();
  const observer = new MutationObserver(() => { last = performance.now(); });
  observer.observe(document.body, {subtree: true, childList: true, attributes: true, characterData: true});
  const busy = () => document.querySelector('[data-testid="stStatusWidget"]') ||
                     document.querySelector('[data-stale="true"]') || document.querySelector('[data-testid="stSkeleton"]');
  const start = performance.now();
  target.click();
  await new Promise(r => setTimeout(r, 30));
  while (true) {
    await new Promise(r => requestAnimationFrame(() => setTimeout(r, 10)));
    const now = performance.now();
    if (!busy() && now - last >= quiet) break;
    if (now - start > 60000) break;
  }
  observer.disconnect();
  return Math.max(last - start, 0);
}
"""


def timed_click(page, selector: str, quiet: int = 400) -> float:
    """Seconds from clicking ``selector`` to the page drawn."""
    target = page.locator(selector).first
    target.wait_for(state="visible")
    return page.evaluate(DRAWN_JS, [target.element_handle(), quiet]) / 1000.0


def radio_option(label_start: str) -> str:
    return f"label[data-testid='stRadioOption']:has-text('{label_start}')"


def measure(url: str, page, repeats: int) -> dict[str, list[float]]:
    times: dict[str, list[float]] = {"first drawing": [], "gallery pick": [], "sort toggle": [], "Equations Next": []}
    for _ in range(repeats):
        for path in ("inspect", "compare", "class_patterns", "equations", "architecture", "ablation"):
            page.goto(url)
            wait_rendered(page)
            times["first drawing"].append(timed_click(page, f"[data-testid='stSidebarNav'] a[href$='/{path}']"))
            print(f"first drawing {path}: {times['first drawing'][-1]:.2f} s", flush=True)
        page.goto(f"{url}/inspect")
        wait_rendered(page)
        for label in ("coffee", "rocket", "astronaut", "cat"):
            times["gallery pick"].append(timed_click(page, radio_option(label)))
        for _ in range(2):
            times["sort toggle"].append(timed_click(page, "[data-testid='stCheckbox']:has-text('Sort channels') input"))
        page.goto(f"{url}/equations")
        wait_rendered(page)
        for _ in range(4):
            times["Equations Next"].append(timed_click(page, "button:has-text('Next')"))
    return times


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    if ensure_chromium() is None:
        print("error: Chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    from playwright.sync_api import sync_playwright

    with app_server() as (url, _), sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(f"{url}/inspect")  # warm: the model loaded, the first capture made
        wait_rendered(page)
        times = measure(url, page, args.repeats)
        browser.close()
    summary = {k: {"median_s": round(statistics.median(v), 3), "slowest_s": round(max(v), 3), "n": len(v)}
               for k, v in times.items()}
    for k, v in summary.items():
        print(f"{k:16} median {v['median_s']:.2f} s  slowest {v['slowest_s']:.2f} s  (n = {v['n']})")
    if args.out:
        Path(args.out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.out).write_text(json.dumps({"date": time.strftime("%Y-%m-%d"), "machine": platform.processor() or platform.machine(),
                                              "summary": summary, "times": times}, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""A real app server and a headless Chromium, for the browser tests, the README screenshots
and the load benchmarks. Binds 127.0.0.1 only.

    python tests/browser_support.py --screenshots docs/img    # the README's screenshots
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"
#: The browser speaks English unless a context says otherwise (locale="ko-KR"): the app follows the
#: browser's language, and the tests read its English labels whatever this machine's language is.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-dev-shm-usage", "--lang=en-US"]
PAGES = {"home": "", "lesson": "lesson", "inspect": "inspect", "compare": "compare", "class_patterns": "class_patterns", "equations": "equations",
         "architecture": "architecture", "ablation": "ablation"}


def ensure_chromium() -> str | None:
    """The path of Chromium, installing Debian's package when missing and allowed; None if not to be had."""
    if Path(CHROMIUM).exists():
        return CHROMIUM
    if os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "chromium"], env=env, check=False, timeout=1200)
    return CHROMIUM if Path(CHROMIUM).exists() else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_server(env: dict | None = None, log: Path | None = None, address: str = "127.0.0.1"):
    """``streamlit run app.py`` on a free loopback port; yields the base URL and the process.
    ``address="::ffff:127.0.0.1"``: an IPv6 socket on the IPv4 loopback, where a browser at
    127.0.0.1 arrives as ``::ffff:127.0.0.1``, as at a server listening on ``::`` (Streamlit's
    default) but reachable from this machine only."""
    port = free_port()
    cmd = [sys.executable, "-m", "streamlit", "run", str(ROOT / "app.py"), "--server.port", str(port),
           "--server.address", address, "--server.headless", "true", "--browser.gatherUsageStats", "false"]
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, env={**os.environ, **(env or {})})
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, 120, "streamlit")
        yield url, proc
    finally:
        stop(proc, 20)
        if log:
            out.close()


def wait_healthy(url: str, proc: subprocess.Popen, seconds: float, what: str) -> None:
    """Until ``url`` answers Streamlit's health check; RuntimeError when ``proc`` ended or it took too long.
    An https URL is asked without checking its certificate (the tests' own, self-signed)."""
    import ssl

    context = ssl._create_unverified_context() if url.startswith("https:") else None
    deadline = time.time() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2, context=context) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}")
        if time.time() > deadline:
            raise RuntimeError(f"{what} did not answer within {seconds:.0f} s")
        time.sleep(0.5)


@contextlib.contextmanager
def classroom_server(processes: int, env: dict | None = None, log: Path | None = None):
    """``scripts/classroom.sh`` (Redis, ``processes`` app processes, nginx) on a free loopback port,
    in its own process group; yields the proxy's URL, the script's process and the port, and
    stops it as Ctrl-C would when it still runs. With CERT and KEY in ``env`` the URL is https."""
    port = free_port()
    scheme = "https" if (env or {}).get("CERT") else "http"
    env = {**os.environ, **(env or {}), "PROCESSES": str(processes), "PORT": str(port), "ADDRESS": "127.0.0.1",
           "PY": sys.executable, "PATH": os.environ["PATH"] + ":/usr/sbin"}
    out = open(log, "w") if log else subprocess.DEVNULL
    proc = subprocess.Popen(["bash", "scripts/classroom.sh"], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                            start_new_session=True)  # its own process group: Ctrl-C reaches all of it
    url = f"{scheme}://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, 300, "the classroom")
        yield url, proc, port
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        if log:
            out.close()


def stop(proc: subprocess.Popen, timeout: float) -> None:
    """Terminate a server process, killing it if it has not ended within ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()


def sync_api_or_skip():
    """Playwright's sync API once Chromium is here; the test is skipped with the reason otherwise."""
    import pytest

    if ensure_chromium() is None:
        pytest.skip("Chromium is not installed and cannot be installed here (needs root and apt-get)")
    return pytest.importorskip("playwright.sync_api")


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost, valid for a day, and its key (openssl)."""
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def launch(playwright):
    return playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)


@contextlib.contextmanager
def served_browser(log_name: str, env: dict | None = None):
    """An app server (its output in ``test-artifacts/<log_name>``) and a Chromium to visit it:
    yields (url, server process, browser); skips the test where Chromium cannot be had."""
    sync_api = sync_api_or_skip()
    artifacts = ROOT / "test-artifacts"
    artifacts.mkdir(exist_ok=True)
    with app_server(env=env, log=artifacts / log_name) as (url, proc), sync_api.sync_playwright() as p:
        browser = launch(p)
        try:
            yield url, proc, browser
        finally:
            browser.close()


def wait_rendered(page, timeout: float = 90_000) -> None:
    """Until the script run has finished (no running indicator) and no skeleton is left."""
    page.wait_for_selector("[data-testid='stMain'] h1", timeout=timeout)
    page.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
        "!document.querySelector('[data-testid=\"stSkeleton\"]')",
        timeout=timeout,
    )
    page.wait_for_timeout(300)


def screenshots(folder: Path) -> None:
    from playwright.sync_api import sync_playwright

    folder.mkdir(parents=True, exist_ok=True)
    with app_server() as (url, _), sync_playwright() as p:
        browser = launch(p)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        for name, path in PAGES.items():
            page.goto(f"{url}/{path}")
            wait_rendered(page)
            page.wait_for_timeout(1500)
            page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
            print(folder / f"{name}.png")
        browser.close()


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--screenshots":
        screenshots(Path(sys.argv[2]))
    else:
        print(__doc__)

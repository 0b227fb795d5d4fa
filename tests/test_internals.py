"""ui/internals.py against the real internals of the installed Streamlit, not stand-ins: a real
server runs a script that asks every internal the app uses, in a real browser session, and reruns
itself through the same call that wakes a room's followers: first one fragment alone, as a
follower's screen is woken, then the whole page."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from browser_support import ROOT, free_port, launch, stop, sync_api_or_skip, wait_healthy

pytestmark = pytest.mark.browser

SCRIPT = '''
import json, threading
import streamlit as st
from ui import internals

st.title("internals")
runs = st.session_state["runs"] = st.session_state.get("runs", 0) + 1
session = internals.current_session()
found = internals.session_manager()


def wake(fragment):  # as a room change wakes a follower, from another thread
    manager, ClientState = found
    me = internals.active_session(manager, session[0])
    threading.Timer(0.5, lambda: internals.call_soon(me, internals.rerun, me, ClientState, 40, 0.05, fragment)).start()


@st.fragment
def screen():
    screens = st.session_state["screens"] = st.session_state.get("screens", 0) + 1
    fragment = internals.current_fragment()
    if screens == 1 and found is not None:
        wake(fragment)  # this fragment alone
    elif screens == 2 and found is not None:
        wake("")  # the whole page
    st.code(json.dumps({"runs": st.session_state["runs"], "screens": screens, "fragment": fragment,
                        "outside": outside, "check": internals.self_check(),
                        "session": session is not None, "manager": found is not None, "ip": internals.client_ip(),
                        "page": internals.session_page(internals.active_session(found[0], session[0])) if found else None}))


outside = internals.current_fragment()
screen()
'''


def test_every_internal_the_app_uses_works_in_the_installed_streamlit(tmp_path):
    import streamlit

    from ui import internals

    assert internals.self_check() == [], f"Streamlit {streamlit.__version__}"
    sync_api = sync_api_or_skip()
    (tmp_path / "probe.py").write_text(SCRIPT)
    port = free_port()
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(tmp_path / "probe.py"), "--server.port", str(port),
                             "--server.address", "127.0.0.1", "--server.headless", "true"], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, 120, "streamlit")
        with sync_api.sync_playwright() as p:
            browser = launch(p)
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{port}")
            page.wait_for_function("() => document.querySelector('code')?.innerText.includes('\"screens\": 2')",
                                   timeout=30_000)
            alone = json.loads(page.locator("code").inner_text())
            page.wait_for_function("() => document.querySelector('code')?.innerText.includes('\"runs\": 2')", timeout=30_000)
            seen = json.loads(page.locator("code").inner_text())
            browser.close()
    finally:
        stop(proc, 20)
    assert alone["runs"] == 1 and alone["fragment"] and alone["outside"] == ""  # the fragment alone, named by current_fragment
    assert seen["runs"] == 2 and seen["screens"] == 3  # then the whole page, by internals.rerun from another thread
    assert seen["check"] == [] and seen["session"] and seen["manager"] and seen["page"]
    assert seen["ip"] in ("127.0.0.1", "::ffff:127.0.0.1")  # the loopback address st.context.ip_address hides

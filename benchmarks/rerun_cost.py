"""Server CPU per rerun of the Lesson page, step by step: one session (Streamlit's websocket
protocol, as the browser speaks it) asks for the same step again and again, and the app
process's CPU counters are read around the reruns. What one student costs the server at each
step, without the noise of a class; run py-spy on the printed process to see where it goes.

    .venv/bin/python benchmarks/rerun_cost.py --reruns 40 [--steps 2,4] [--wait 30]
    .venv/bin/python benchmarks/rerun_cost.py --room --reruns 40     # a follower of a room

Alone, the session opens each step by its link (``?step=N``). With ``--room`` a lecturer in
Chromium starts a room and clicks *Next* through the lesson, and the session follows the room:
what a student costs at every step change of a class.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import CHROMIUM, CHROMIUM_ARGS, app_server  # noqa: E402
from room_load import H1, Server, rendered  # noqa: E402


async def one_step(url: str, server: Server, query: str, reruns: int) -> tuple[float, float, float, float]:
    """(CPU s, wall s, bytes, messages) per rerun of the Lesson page with ``query``, after three
    reruns that warm the caches."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None) as ws:
        async def rerun() -> tuple[int, int]:
            msg = BackMsg()
            msg.rerun_script.query_string = query
            msg.rerun_script.page_name = "lesson"
            await ws.send(msg.SerializeToString())
            size = count = 0
            async for raw in ws:
                size, count = size + len(raw), count + 1
                if ForwardMsg.FromString(raw).WhichOneof("type") == "script_finished":
                    break
            return size, count

        for _ in range(3):
            await rerun()
        cpu, wall, size, count = server.cpu_seconds(), time.perf_counter(), 0, 0
        for _ in range(reruns):
            got = await rerun()
            size, count = size + got[0], count + got[1]
        return (server.cpu_seconds() - cpu) / reruns, (time.perf_counter() - wall) / reruns, size / reruns, count / reruns


async def alone(url: str, server: Server, steps: list[int], reruns: int) -> None:
    for step in steps:
        report(step, await one_step(url, server, f"step={step}", reruns))


async def in_room(url: str, server: Server, steps: list[int], reruns: int) -> None:
    """A lecturer in Chromium starts a room and steps through the lesson; the session follows."""
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        lecturer = await (await browser.new_context(viewport={"width": 1280, "height": 800})).new_page()
        await lecturer.goto(f"{url}/lesson")
        await rendered(lecturer)
        await lecturer.get_by_role("button", name="Start a room").click()
        await lecturer.get_by_role("button", name="Start", exact=True).click()
        heading = lecturer.locator("h3", has_text="Room").first
        await heading.wait_for(timeout=60_000)
        code = re.search(r"Room\s+(\w{6})", await heading.inner_text()).group(1)
        at = 1
        for step in steps:
            while at < step:
                await lecturer.get_by_role("button", name="Next ▶").click()
                at += 1
                await lecturer.wait_for_function(f"() => {H1}?.innerText.startsWith('{at}.')", timeout=60_000)
            await asyncio.sleep(1)  # the lecturer's push and the followers' wake-ups settle
            report(step, await one_step(url, server, f"room={code}", reruns))
        await browser.close()


def report(step: int, measured: tuple[float, float, float, float]) -> None:
    cpu, wall, size, count = measured
    print(f"step {step}: {1000 * cpu:.1f} ms CPU, {1000 * wall:.1f} ms wall, {size / 1024:.0f} KiB in {count:.0f} "
          "messages per rerun", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reruns", type=int, default=40)
    ap.add_argument("--steps", default="1,2,3,4,5,6,7,8,9,10", help="1-based steps, comma-separated")
    ap.add_argument("--room", action="store_true", help="the session follows a lecturer's room")
    ap.add_argument("--wait", type=float, default=0.0, help="seconds to wait after start (time to attach py-spy)")
    args = ap.parse_args()
    with app_server(env={"SENET_VIZ_THREADS": "2"}) as (url, proc):
        print(f"app process {proc.pid}", flush=True)
        time.sleep(args.wait)
        steps = sorted(int(s) for s in args.steps.split(","))
        asyncio.run((in_room if args.room else alone)(url, Server(proc.pid), steps, args.reruns))


if __name__ == "__main__":
    main()

"""A room under load: one lecturer (headless Chromium) and N student sessions on one app server;
the time from the lecturer's Next until each student has the new step, and the server's memory
before, at its peak, and after the students left and the room expired.

    .venv/bin/python benchmarks/room_load.py --students 100 --browsers 1 --steps 10 --out benchmarks/results/room.json
    .venv/bin/python benchmarks/room_load.py --students 100 --processes 2 --out ...   # make classroom PROCESSES=2

``--steps`` counts the lecturer's steps, the first included (10: the whole lesson, 9 step changes).
Per step: p50 / p95 / max seconds until students have it, students left behind (none within 30 s),
the server's CPU seconds; while nothing moves, the server's CPU seconds per second; memory
before, at its peak and after the room expired. "The server" is every process serving the class:
one app process, or (``--processes N``) N app processes, nginx and Redis started by
``scripts/classroom.sh``, the lecturer then typing the lecturer password as behind any proxy.

Students are of two kinds. ``--browsers`` of them are headless Chromium pages (time until the
new step is drawn). The others speak Streamlit's websocket protocol as the browser does (the
same rerun requests, the same one-second looks at the room the page asks for) but draw nothing:
time until the new step's heading arrives. On a real class every student draws on their own
device; here 30 browsers would share the server's 2 cores, and the figure would measure them
(``--browsers 30`` does exactly that). Pause any training first.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import sys
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import CHROMIUM, CHROMIUM_ARGS, app_server, classroom_server  # noqa: E402

H1 = "document.querySelector('[data-testid=\"stMain\"] h1')"


class Server:
    """The processes serving the class: one app process, or every process of a process group
    (``scripts/classroom.sh``: the app processes, nginx, Redis)."""

    def __init__(self, pid: int, group: bool = False) -> None:
        self.pid, self.group = pid, group

    def pids(self) -> list[int]:
        if not self.group:
            return [self.pid]
        found = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    if os.getpgid(int(entry)) == self.pid:
                        found.append(int(entry))
                except OSError:
                    pass
        return found

    def _sum(self, read) -> float:
        """``read(pid)`` summed over the processes (one that ended meanwhile counts 0)."""
        total = 0.0
        for pid in self.pids():
            try:
                total += read(pid)
            except OSError:
                pass
        return total

    def rss_mib(self) -> float:
        return self._sum(_rss)

    def rss_by_process(self) -> dict[str, float]:
        """Resident MiB of each process, by its command (what the sum is made of)."""
        out = {}
        for pid in self.pids():
            try:
                name = open(f"/proc/{pid}/cmdline", "rb").read().replace(b"\0", b" ").decode()[:80].strip()
                out[f"{pid} {name}"] = round(_rss(pid), 1)
            except OSError:
                pass
        return out

    def cpu_seconds(self) -> float:
        """User and system CPU seconds the processes have used (all their threads)."""
        def cpu(pid: int) -> float:
            fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

        return self._sum(cpu)


def _rss(pid: int) -> float:
    """Resident MiB; 0 for a process that is ending (its status no longer has VmRSS)."""
    line = next((line for line in open(f"/proc/{pid}/status") if line.startswith("VmRSS:")), "VmRSS: 0 kB")
    return int(line.split()[1]) / 1024


class Sampler(threading.Thread):
    """The server's resident memory every 0.2 s."""

    def __init__(self, server: Server) -> None:
        super().__init__(daemon=True)
        self.server, self.peak, self.running = server, 0.0, True

    def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, self.server.rss_mib())
            time.sleep(0.2)


async def rendered(page, timeout: float = 180_000) -> None:
    await page.wait_for_selector("[data-testid='stMain'] h1", timeout=timeout)
    await page.wait_for_function("() => !document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=timeout)


async def wait_step(page, step: int, started: float, timeout: float = 30_000) -> float:
    """Seconds until the page shows ``step``; infinity when it did not within ``timeout`` ms."""
    try:
        await page.wait_for_function(f"() => {H1}?.innerText.startsWith('{step}.')", timeout=timeout, polling=50)
    except Exception:  # noqa: BLE001 - counted as a student left behind
        return float("inf")
    return time.perf_counter() - started


class ProtocolStudent:
    """A student session over Streamlit's websocket, as the browser speaks it, without drawing."""

    def __init__(self, url: str, code: str) -> None:
        self.url, self.code, self.steps_seen = url.replace("http", "ws", 1), code, {}
        self.ready, self._tasks, self.page_hash, self.upstream = asyncio.Event(), {}, "", None

    def _rerun(self, fragment: str = "") -> bytes:
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        state = msg.rerun_script
        state.query_string = f"room={self.code}"
        if self.page_hash:  # as the browser does once the server has named the page
            state.page_script_hash = self.page_hash
        else:
            state.page_name = "lesson"
        if fragment:
            state.fragment_id, state.is_auto_rerun = fragment, True
        return msg.SerializeToString()

    async def run(self) -> None:
        import websockets
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        async with websockets.connect(f"{self.url}/_stcore/stream", subprotocols=["streamlit"], max_size=None) as ws:
            self.ws = ws
            response = getattr(ws, "response", None)
            self.upstream = response.headers.get("X-Senet-Upstream") if response is not None else None
            await ws.send(self._rerun())
            async for raw in ws:
                msg = ForwardMsg.FromString(raw)
                kind = msg.WhichOneof("type")
                if kind == "auto_rerun" and msg.auto_rerun.fragment_id not in self._tasks:
                    # the page's fragment asks to be run every interval: one timer, for the fragment the
                    # page now holds (the browser's timers are replaced the same way)
                    for task in self._tasks.values():
                        task.cancel()
                    fragment = msg.auto_rerun.fragment_id
                    self._tasks = {fragment: asyncio.create_task(self._look(ws, fragment, msg.auto_rerun.interval))}
                elif kind == "delta" and msg.delta.new_element.WhichOneof("type") == "heading":
                    head = msg.delta.new_element.heading.body.split(".")[0]
                    if head.isdigit():  # the lesson's title: its page is the one the looks name, as the browser's do
                        self.page_hash = msg.metadata.active_script_hash
                        self.steps_seen.setdefault(int(head), time.perf_counter())
                        self.ready.set()

    async def _look(self, ws, fragment: str, interval: float) -> None:
        while True:
            await asyncio.sleep(interval)
            await ws.send(self._rerun(fragment))

    async def close(self) -> None:
        for t in self._tasks.values():
            t.cancel()
        await self.ws.close()


async def classroom(url: str, server: Server, students: int, steps: int, ttl: float, browsers: int = 1,
                    password: str | None = None) -> dict:
    from playwright.async_api import async_playwright

    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        lecturer_ctx = await browser.new_context(viewport={"width": 1280, "height": 800})
        lecturer = await lecturer_ctx.new_page()
        said: list[str] = []  # the lecturer page's console and errors, kept for a run that fails
        lecturer.on("console", lambda m: said.append(f"{time.strftime('%H:%M:%S')} console.{m.type}: {m.text}"))
        lecturer.on("pageerror", lambda e: said.append(f"{time.strftime('%H:%M:%S')} pageerror: {e}"))
        lecturer.on("crash", lambda *_: said.append(f"{time.strftime('%H:%M:%S')} the page crashed"))
        lecturer.on("framenavigated", lambda f: said.append(f"{time.strftime('%H:%M:%S')} navigated: {f.url}")
                    if f == lecturer.main_frame else None)
        await lecturer.goto(f"{url}/lesson")
        await rendered(lecturer)
        if server.group:  # every app process loads its model before memory is measured: a few sessions, spread
            warm = [ProtocolStudent(url, "") for _ in range(8)]
            tasks = [asyncio.create_task(w.run()) for w in warm]
            await asyncio.gather(*[asyncio.wait_for(w.ready.wait(), 180) for w in warm])
            for w, task in zip(warm, tasks):
                await w.close()
                task.cancel()
        await asyncio.sleep(2)
        before, before_by_process = server.rss_mib(), server.rss_by_process()
        sampler = Sampler(server)
        sampler.start()
        await lecturer.get_by_role("button", name="Start a room").click()  # the popover
        if password:  # behind the proxy every browser is remote: the lecturer password starts a room
            await lecturer.get_by_label("Lecturer password").fill(password)
            await lecturer.get_by_label("Lecturer password").press("Enter")
        await lecturer.get_by_role("button", name="Start", exact=True).click()
        heading = lecturer.locator("h3", has_text="Room").first
        await heading.wait_for(timeout=60_000)
        code = re.search(r"Room\s+(\w{6})", await heading.inner_text()).group(1)
        contexts = [await browser.new_context(viewport={"width": 1000, "height": 700}) for _ in range(browsers)]
        pages = [await c.new_page() for c in contexts]
        joined = time.perf_counter()
        protocol = [ProtocolStudent(url, code) for _ in range(students - browsers)]
        runners = [asyncio.create_task(p.run()) for p in protocol]
        await asyncio.gather(*[pg.goto(f"{url}/lesson?room={code}", timeout=180_000) for pg in pages])
        await asyncio.gather(*[rendered(pg) for pg in pages], *[asyncio.wait_for(p.ready.wait(), 180) for p in protocol])
        join_seconds = time.perf_counter() - joined
        await asyncio.sleep(3)
        idle_cpu = server.cpu_seconds()
        await asyncio.sleep(10)
        idle_cpu = (server.cpu_seconds() - idle_cpu) / 10  # the followers' looks at the room, per second
        delays, per_step, browser_delays = [], [], []
        for step in range(2, steps + 1):
            started, cpu = time.perf_counter(), server.cpu_seconds()
            try:
                await lecturer.get_by_role("button", name="Next ▶").click()
            except Exception:
                where = ROOT / "test-artifacts" / f"room-load-lecturer-step-{step}"
                await lecturer.screenshot(path=str(where.with_suffix(".png")))
                where.with_suffix(".html").write_text(await lecturer.content())
                where.with_suffix(".console.txt").write_text("\n".join(said) + "\n")
                raise
            drawn = await asyncio.gather(*[wait_step(pg, step, started) for pg in pages])
            deadline = time.perf_counter() + 30
            while time.perf_counter() < deadline and any(step not in p.steps_seen for p in protocol):
                await asyncio.sleep(0.05)
            arrived = [p.steps_seen.get(step, float("inf")) - started for p in protocol]
            behind = [{"upstream": p.upstream, "last_step": max(p.steps_seen, default=None)}
                      for p in protocol if step not in p.steps_seen]
            took = [*drawn, *arrived]
            browser_delays += drawn
            server_cpu = server.cpu_seconds() - cpu
            delays += took
            per_step.append({"step": step, "p50": float(np.median(took)), "p95": float(np.percentile(took, 95)),
                             "max": float(max(took)),
                             "left_behind": int(sum(np.isinf(took))), "behind": behind,
                             "server_cpu_s": server_cpu, "wall_s": time.perf_counter() - started})
            for pg in pages:  # a student left behind is brought back, so the next step is timed afresh
                if not (await pg.locator("[data-testid='stMain'] h1").first.inner_text()).startswith(f"{step}."):
                    await pg.reload()
                    await rendered(pg)
            await asyncio.sleep(2)
        peak = sampler.peak
        for c in contexts:
            await c.close()
        for p, task in zip(protocol, runners):
            await p.close()
            task.cancel()
        await lecturer_ctx.close()
        await asyncio.sleep(max(0.0, ttl) + 5)
        late_ctx = await browser.new_context()
        late = await late_ctx.new_page()
        await late.goto(f"{url}/lesson?room={code}")
        await rendered(late)
        expired = await late.locator("[data-testid='stAlertContentError']").all_inner_texts()
        await late_ctx.close()
        await asyncio.sleep(5)
        after, after_by_process = server.rss_mib(), server.rss_by_process()
        sampler.running = False
        await browser.close()
    drawn = {"p50": float(np.percentile(browser_delays, 50)), "max": float(max(browser_delays)), "n": len(browser_delays)} \
        if browser_delays else None
    return {"students": students, "browsers": browsers, "steps": steps, "join_seconds": join_seconds,
            "browser_drawn_seconds": drawn,
            "follow_seconds": {"p50": float(np.percentile(delays, 50)), "p95": float(np.percentile(delays, 95)),
                               "max": float(max(delays)), "n": len(delays),
                               "left_behind": int(sum(np.isinf(delays)))},
            "per_step": per_step, "rss_mib": {"before": before, "peak": peak, "after_expiry": after},
            "rss_mib_by_process": {"before": before_by_process, "after_expiry": after_by_process},
            "room_ttl_s": ttl, "expired_message": expired,
            "server_cpu_per_s_while_following": idle_cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--students", type=int, default=30)
    ap.add_argument("--browsers", type=int, default=1, help="how many of the students are Chromium pages")
    ap.add_argument("--steps", type=int, default=10, help="the lecturer's steps, the first included (10: the lesson)")
    ap.add_argument("--processes", type=int, default=0,
                    help="N app processes behind nginx with Redis (scripts/classroom.sh); 0: one `streamlit run`")
    ap.add_argument("--classes", type=int, default=1, help="rooms run one after the other on the same server "
                    "(does memory grow from class to class?)")
    ap.add_argument("--ttl", type=float, default=120.0, help="room expiry for this run, seconds (longer than joining takes)")
    ap.add_argument("--out", type=Path)
    ap.add_argument("--log", type=Path, default=None, help="the server's output (default: beside --out as .server.log)")
    args = ap.parse_args()
    # PYTHONFAULTHANDLER: a server that dies of a signal (a crash in a native library) writes every
    # thread's Python stack into its log before it ends
    env = {"SENET_VIZ_ROOM_TTL": str(args.ttl), "SENET_VIZ_THREADS": "2", "PYTHONFAULTHANDLER": "1"}
    password = "room-load" if args.processes else None  # behind the proxy rooms start with the lecturer password
    log = args.log or (args.out.with_suffix(".server.log") if args.out else Path("test-artifacts/room-load.server.log"))
    log.parent.mkdir(parents=True, exist_ok=True)
    served = classroom_server(args.processes, {**env, "SENET_VIZ_LECTURER_PASSWORD": password}, log=log) if args.processes \
        else app_server(env=env, log=log)
    ended = None
    with served as (url, proc, *_):
        server = Server(proc.pid, group=bool(args.processes))
        try:
            classes = [asyncio.run(classroom(url, server, args.students, args.steps, args.ttl, args.browsers, password))
                       for _ in range(args.classes)]
        except BaseException:  # a benchmark that fails says whether the server had ended by then (not after)
            state = f"had ended (exit {proc.returncode})" if proc.poll() is not None else "was still running"
            print(f"the run failed; the server process {state}; its log: {log}", file=sys.stderr)
            raise
        if proc.poll() is not None:  # the server (or, behind the proxy, the classroom script) ended during the run
            ended = {"returncode": proc.returncode, "log_tail": log.read_text(errors="replace")[-4000:]}
            print(f"the server process ended during the run (exit {proc.returncode}); its log: {log}", file=sys.stderr)
    result = {**classes[0], "classes": [{"follow_seconds": c["follow_seconds"], "rss_mib": c["rss_mib"]} for c in classes]}
    result["server_log"], result["server_ended"] = str(log), ended
    result["processes"] = args.processes or 1
    result["proxy"] = "nginx, sticky sessions, Redis" if args.processes else None
    result["machine"] = {"cpu": platform.processor() or platform.machine(), "cores": len(os.sched_getaffinity(0))}
    text = json.dumps(result, indent=1, default=float)
    print(text)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")


if __name__ == "__main__":
    main()

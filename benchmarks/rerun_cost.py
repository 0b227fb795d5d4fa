"""Server CPU per rerun of the Lesson page, step by step: one session (Streamlit's websocket
protocol, as the browser speaks it) asks for the same step again and again, and the app
process's CPU counters are read around the reruns. What one follower costs the server at each
step, without the noise of a class; run py-spy on the printed process to see where it goes.

    .venv/bin/python benchmarks/rerun_cost.py --reruns 40 [--steps 2,4] [--wait 30]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from browser_support import app_server  # noqa: E402
from room_load import Server  # noqa: E402


async def one_step(url: str, server: Server, step: int, reruns: int) -> tuple[float, float, float]:
    """(CPU s, wall s, bytes) per rerun of ``step``, after three reruns that warm the caches."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    async with websockets.connect(url.replace("http", "ws", 1) + "/_stcore/stream", subprotocols=["streamlit"],
                                  max_size=None) as ws:
        async def rerun() -> int:
            msg = BackMsg()
            msg.rerun_script.query_string = f"step={step}"
            msg.rerun_script.page_name = "lesson"
            await ws.send(msg.SerializeToString())
            size = 0
            async for raw in ws:
                size += len(raw)
                if ForwardMsg.FromString(raw).WhichOneof("type") == "script_finished":
                    return size
            return size

        for _ in range(3):
            await rerun()
        cpu, wall, size = server.cpu_seconds(), time.perf_counter(), 0
        for _ in range(reruns):
            size += await rerun()
        return (server.cpu_seconds() - cpu) / reruns, (time.perf_counter() - wall) / reruns, size / reruns


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reruns", type=int, default=40)
    ap.add_argument("--steps", default="1,2,3,4,5,6,7,8,9,10", help="1-based steps, comma-separated")
    ap.add_argument("--wait", type=float, default=0.0, help="seconds to wait after start (time to attach py-spy)")
    args = ap.parse_args()
    with app_server(env={"SENET_VIZ_THREADS": "2"}) as (url, proc):
        print(f"app process {proc.pid}", flush=True)
        time.sleep(args.wait)
        server = Server(proc.pid)
        for step in (int(s) for s in args.steps.split(",")):
            cpu, wall, size = asyncio.run(one_step(url, server, step, args.reruns))
            print(f"step {step}: {1000 * cpu:.1f} ms CPU, {1000 * wall:.1f} ms wall, {size / 1024:.0f} KiB per rerun",
                  flush=True)


if __name__ == "__main__":
    main()

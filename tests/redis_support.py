"""A real Redis server for the room-store tests and the two-process check: Debian's redis-server
on a free loopback port, nothing written to disk, stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import time

from browser_support import free_port, stop

REDIS_SERVER = "redis-server"


def ensure_redis() -> str | None:
    """The path of redis-server, installing Debian's package when missing and allowed; None if not to be had."""
    found = shutil.which(REDIS_SERVER)
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], env=env, check=False, timeout=600)
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], env=env, check=False, timeout=1200)
        found = shutil.which(REDIS_SERVER)
    return found


@contextlib.contextmanager
def redis_server():
    """Yields the URL of a fresh redis-server bound to 127.0.0.1."""
    binary = ensure_redis()
    if binary is None:
        raise RuntimeError("redis-server is not installed and cannot be installed here")
    port = free_port()
    proc = subprocess.Popen([binary, "--bind", "127.0.0.1", "--port", str(port), "--save", "", "--appendonly", "no",
                             "--protected-mode", "yes"], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    url = f"redis://127.0.0.1:{port}/0"
    try:
        import redis

        client = redis.Redis.from_url(url)
        deadline = time.time() + 20
        while True:
            try:
                client.ping()
                break
            except redis.ConnectionError:
                if time.time() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not answer within 20 s") from None
                time.sleep(0.1)
        yield url
    finally:
        stop(proc, 10)

"""What the server grants a browser: every browser is a stranger unless it is on this machine or
its session typed the lecturer password.

- ``is_loopback``: an address of this machine (IPv4-mapped IPv6 included: a browser at
  ``http://127.0.0.1:PORT`` arrives at a server listening on ``::`` as ``::ffff:127.0.0.1``);
- ``Limiter``: at most so many tries per key and per process in a sliding window (lecturer
  passwords);
- ``Signer``: ids the server issued, with an HMAC only it can make (voter ids), so an invented
  or altered id is refused;
- ``spreadsheet_cell``: text that a spreadsheet would read as a formula made inert (OWASP's
  rule for CSV injection).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable

#: Request headers a proxy adds: a request carrying one came from elsewhere, whatever its address.
PROXY_HEADERS = ("X-Forwarded-For", "X-Real-Ip", "Forwarded", "X-Forwarded-Host", "X-Forwarded-Proto")


def is_loopback(address: str | None) -> bool:
    """Whether ``address`` is this machine: 127.0.0.0/8, ::1, or either as IPv4-mapped IPv6."""
    if not address:
        return False
    try:
        ip = ipaddress.ip_address(str(address).split("%")[0].strip("[]"))
    except ValueError:
        return False
    mapped = getattr(ip, "ipv4_mapped", None)
    return ip.is_loopback or (mapped is not None and mapped.is_loopback)


def through_proxy(headers: dict | None) -> bool:
    """Whether a request came through a proxy (behind one, every browser's address is the proxy's)."""
    names = {str(k).lower() for k in (headers or {})}
    return any(h.lower() in names for h in PROXY_HEADERS)


class Limiter:
    """At most ``per_key`` events per key and ``overall`` events in all within ``window`` seconds."""

    def __init__(self, per_key: int, overall: int, window: float = 60.0, clock: Callable[[], float] = time.monotonic,
                 max_keys: int = 10_000) -> None:
        self.per_key, self.overall, self.window, self.clock, self.max_keys = per_key, overall, window, clock, max_keys
        self._keys: dict[str, deque] = {}
        self._all: deque = deque()
        self._lock = threading.Lock()

    def _trim(self, q: deque, now: float) -> None:
        while q and q[0] <= now - self.window:
            q.popleft()

    def allow(self, key: str) -> bool:
        """Count one event for ``key``; False (and nothing counted) when a limit is reached."""
        with self._lock:
            now = self.clock()
            self._trim(self._all, now)
            q = self._keys.setdefault(key, deque())
            self._trim(q, now)
            if len(q) >= self.per_key or len(self._all) >= self.overall:
                return False
            q.append(now)
            self._all.append(now)
            if len(self._keys) > self.max_keys:  # forget keys whose window has passed
                for k in [k for k, v in self._keys.items() if not v or v[-1] <= now - self.window]:
                    del self._keys[k]
            return True

    def wait(self, key: str) -> float:
        """Seconds until ``key`` may try again (0 when it may now)."""
        with self._lock:
            now = self.clock()
            q, waits = self._keys.get(key, deque()), [0.0]
            if len(q) >= self.per_key:
                waits.append(q[-self.per_key] + self.window - now)
            if len(self._all) >= self.overall:
                waits.append(self._all[-self.overall] + self.window - now)
            return max(waits)


_ID = re.compile(r"^[0-9a-f]{32}$")


class Signer:
    """Ids issued by this server (32 hex digits) with an HMAC-SHA256 tag: ``issue()`` makes
    ``ID.TAG``, ``verify(token)`` gives the id back only for a token this secret made."""

    def __init__(self, secret: bytes, purpose: str) -> None:
        if len(secret) < 16:
            raise ValueError("a signing secret needs at least 16 bytes")
        self._key = hmac.new(secret, purpose.encode(), hashlib.sha256).digest()

    def _tag(self, ident: str) -> str:
        return hmac.new(self._key, ident.encode(), hashlib.sha256).hexdigest()[:32]

    def issue(self) -> str:
        ident = secrets.token_hex(16)
        return f"{ident}.{self._tag(ident)}"

    def verify(self, token: str | None) -> str | None:
        ident, _, tag = str(token or "").partition(".")
        if not _ID.match(ident) or len(tag) != 32:
            return None
        return ident if hmac.compare_digest(tag, self._tag(ident)) else None


_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_cell(value: object) -> object:
    """A CSV cell a spreadsheet cannot run: text that starts with = + - @ tab or carriage return
    gets a leading apostrophe (OWASP, CSV injection); numbers stay numbers."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value

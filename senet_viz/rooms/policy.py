"""Who may start a room: the lecturer password, or the server's own machine where none is set."""

from __future__ import annotations

import hmac

from ..guard import is_loopback
from ..i18n import _

PASSWORD_ENV = "SENET_VIZ_LECTURER_PASSWORD"


def start_refusal(configured: str | None, given: str | None, client: str | None) -> str | None:
    """Why this browser may not start a room (one line), or None when it may. With a lecturer
    password configured, whoever types it; without one, only a browser on the server's own
    machine (loopback), so a student on the network cannot fill the store's places."""
    if configured:
        if given and hmac.compare_digest(given.encode(), configured.encode()):
            return None
        return _("wrong lecturer password: no room was started") if given else _("type the lecturer password to start a room")
    if is_loopback(client):
        return None
    return _("rooms start only from a browser on this server's own machine while no lecturer password is set; the operator "
             "sets {variable} (or lecturer_password in Streamlit's secrets) to let lecturers start rooms from elsewhere",
             variable=PASSWORD_ENV)



"""Connection faults the chat stand-ins can script instead of an HTTP status: resets and cut answers.

The values are status-like sentinels for the stubs' `fail(...)`:

- `RESET`: the request is read, nothing is done with it, and the connection is reset (TCP RST), no answer.
- `RESET_ACCEPTED`: the request is carried out (the message *is* delivered), then the connection is reset
  before any answer: the client cannot tell it from `RESET`, so its resend is a duplicate.
- `CUT`: the request is carried out, the status line, headers and half the body are sent, then the
  connection closes: the answer is cut short (the Content-Length shows it).
- `CUT_UNFRAMED`: the same without a Content-Length, so the body ends where the connection closes and
  the client reads half a JSON document as the whole answer.
- `PASS`: answer this call normally (a gap in a scripted sequence of failures).

Only `RESET_ACCEPTED`, `CUT` and `CUT_UNFRAMED` can cause a duplicate; `delivered(kind)` says so.
"""

from __future__ import annotations

import socket
import struct
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler

PASS = 0
RESET = -1
RESET_ACCEPTED = -2
CUT = -3
CUT_UNFRAMED = -4
DROPS = (RESET, RESET_ACCEPTED, CUT, CUT_UNFRAMED)
CUTS = (CUT, CUT_UNFRAMED)
NAMES = {
    PASS: "pass", RESET: "reset", RESET_ACCEPTED: "reset-accepted", CUT: "cut", CUT_UNFRAMED: "cut-unframed"
}  # fmt: skip


def delivered(kind: int) -> bool:
    """Whether a request answered with `kind` was carried out by the platform before the connection broke."""
    return kind in (RESET_ACCEPTED, CUT, CUT_UNFRAMED)


def reset(handler: BaseHTTPRequestHandler) -> None:
    """Abort the connection with a TCP RST and no answer at all."""
    # SO_LINGER with a zero timeout makes close() send RST instead of FIN.
    handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    handler.close_connection = True
    handler.rfile.close()  # the file object holds the socket open; close it so close() is final
    handler.connection.close()


def cut(
    handler: BaseHTTPRequestHandler, status: int, body: bytes, headers: Mapping[str, str], *, framed: bool
) -> None:
    """Send the status and headers (with the full Content-Length when `framed`) and half the body, then
    close the connection."""
    handler.send_response(status)
    for name, value in headers.items():
        handler.send_header(name, value)
    if framed:
        handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.close_connection = True
    try:
        handler.wfile.write(body[: len(body) // 2])
    except ConnectionError:
        return

"""A TCP proxy on 127.0.0.1 in front of a real server, to make it "restart" at the network edge.

What a client sees when PostgreSQL restarts is its connections closed at once, then connections refused
for a moment. Restarting the shared server from a test is not possible (CI shares it and may not be
root), so tests point DATABASE_URL at this proxy instead and script the restart here:

    with TcpProxy("127.0.0.1", 5432) as proxy:
        url = make_url(database_url).set(host="127.0.0.1", port=proxy.port)
        proxy.cut()                   # every open connection closed, both sides, at once
        proxy.down(); proxy.up()      # new connections refused until up()
        proxy.cut_on(b"COMMIT", 1)    # cut when the client next sends a message containing b"COMMIT"

`cut_on` makes a cut deterministic in the middle of a transaction: the matching bytes are forwarded
(the server runs the statement) and the answer never reaches the client, as when the server dies
right after receiving it.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Self

from tests.servers.threaded import LocalServer

BUFFER = 65536
# SO_LINGER with a zero timeout: close() sends a reset, as a refusing or dying server's kernel does.
_RESET = struct.pack("ii", 1, 0)


@dataclass(slots=True)
class _Pair:
    client: socket.socket
    upstream: socket.socket
    closed: bool = False
    muted: bool = False  # the server's answers are dropped, never reaching the client
    armed: bool = False  # the client sent the trigger's `after` bytes

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        # The client gets a reset, as from a dying server. The server gets an orderly end of stream, so
        # it runs whatever it had already received before noticing: what happened server-side is known.
        for sock, reset in ((self.client, True), (self.upstream, False)):
            try:
                if reset:
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                sock.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked in recv() on this socket
            except OSError:
                pass
            sock.close()


@dataclass(slots=True)
class _Trigger:
    pattern: bytes
    remaining: int
    after: bytes | None = None
    then: Callable[[], None] | None = field(default=None)


class TcpProxy(LocalServer):
    """Forwards 127.0.0.1:<port> to (host, port); a thread per direction per connection."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.accepted = 0  # connections forwarded
        self.refused = 0  # connections turned away while down
        self.cuts = 0
        self._pairs: list[_Pair] = []
        self._down = False
        self._trigger: _Trigger | None = None
        self._lock = threading.Lock()
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self) -> Self:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        listener.listen(128)
        self._listener = listener
        self._thread = threading.Thread(target=self._accept_loop, name="tcp-proxy", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            with contextlib.suppress(OSError):
                self._listener.shutdown(socket.SHUT_RDWR)
            self._listener.close()
        self.cut()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _address(self) -> tuple[Any, ...] | None:
        return None if self._listener is None else tuple(self._listener.getsockname())

    # ------------------------------------------------------------------ faults

    def cut(self) -> int:
        """Close every open connection, client and upstream sides at once; how many were open."""
        with self._lock:
            pairs, self._pairs = self._pairs, []
            self.cuts += 1
        for pair in pairs:
            pair.close()
        return len(pairs)

    def down(self) -> None:
        """Refuse new connections (each is reset at once) until `up()`; the port stays ours."""
        with self._lock:
            self._down = True

    def up(self) -> None:
        """Accept and forward new connections again."""
        with self._lock:
            self._down = False

    def cut_on(
        self,
        pattern: bytes,
        nth: int = 1,
        *,
        after: bytes | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Cut everything right after forwarding the `nth` client message containing `pattern` (counting
        only on connections that already sent `after`, if given); `then` runs after the cut (e.g. `down`).

        psycopg prepares a statement after its fifth run on a connection and then stops sending its
        text, so match statements within their first runs; COMMIT is always sent as text.
        """
        with self._lock:
            self._trigger = _Trigger(pattern, nth, after, then)
            for pair in self._pairs:
                pair.armed = False

    @property
    def triggered(self) -> bool:
        """Whether the last `cut_on` has fired."""
        with self._lock:
            return self._trigger is None or self._trigger.remaining <= 0

    def upstream_ports(self) -> set[int]:
        """Local ports of the open upstream connections: pg_stat_activity's client_port for them."""
        with self._lock:
            ports = set()
            for pair in self._pairs:
                try:
                    ports.add(int(pair.upstream.getsockname()[1]))
                except OSError:
                    continue
            return ports

    # ------------------------------------------------------------------ forwarding

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # stopped
            with self._lock:
                down = self._down
                if down:
                    self.refused += 1
            if down:
                client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, _RESET)
                client.close()
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=10)
            except OSError:
                client.close()
                continue
            upstream.settimeout(None)
            pair = _Pair(client, upstream)
            with self._lock:
                self._pairs.append(pair)
                self.accepted += 1
            for source, sink, watch in ((client, upstream, True), (upstream, client, False)):
                threading.Thread(
                    target=self._pump, args=(pair, source, sink, watch), name="tcp-proxy-pump", daemon=True
                ).start()

    def _pump(self, pair: _Pair, source: socket.socket, sink: socket.socket, watch: bool) -> None:
        try:
            while data := source.recv(BUFFER):
                fires = watch and self._fires(pair, data)
                if fires:
                    pair.muted = True  # set before forwarding: the answer cannot come back sooner
                if not (pair.muted and not watch):
                    sink.sendall(data)
                if fires:
                    self._fire()
                    return
        except OSError:
            pass
        with self._lock:
            if pair in self._pairs:
                self._pairs.remove(pair)
        pair.close()

    def _fires(self, pair: _Pair, data: bytes) -> bool:
        with self._lock:
            trigger = self._trigger
            if trigger is None or trigger.remaining <= 0:
                return False
            if trigger.after is not None and not pair.armed:
                pair.armed = trigger.after in data
                return False
            if trigger.pattern not in data:
                return False
            trigger.remaining -= 1
            return trigger.remaining == 0

    def _fire(self) -> None:
        self.cut()
        with self._lock:
            then = self._trigger.then if self._trigger else None
        if then is not None:
            then()

"""The lifecycle the tests' local servers share: bind an ephemeral 127.0.0.1 port, serve from a thread."""

from __future__ import annotations

import threading
from http.server import ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self


class LocalServer:
    """Started by `with` and stopped on leaving it, whatever happened inside; listens on `port`."""

    def start(self) -> Self:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def _address(self) -> tuple[Any, ...] | None:
        """The (host, port) it listens on, once started."""
        raise NotImplementedError

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The port it listens on."""
        address = self._address()
        if address is None:
            raise RuntimeError(f"the {type(self).__name__} is not started")
        return int(address[1])


class ThreadedServer(LocalServer):
    """Base of an HTTP stand-in: subclasses build their server in `start()` and hand it to `_serve`."""

    _httpd: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    def _serve(self, httpd: ThreadingHTTPServer) -> Self:
        """Serve `httpd` in a background thread."""
        self._httpd = httpd
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _address(self) -> tuple[Any, ...] | None:
        return None if self._httpd is None else tuple(self._httpd.server_address)

    @property
    def base_url(self) -> str:
        """http://127.0.0.1:<port>, without a trailing slash."""
        return f"http://127.0.0.1:{self.port}"

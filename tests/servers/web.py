"""A real HTTP server on 127.0.0.1 for tests: feeds, pages, redirects, slow and hostile answers.

Tests register routes, point real clients at `server.url(path)` and read `server.requests` to see
what the client sent. Every route is answered over HTTP/1.1 keep-alive by a thread of its own.

    def test_x(web_server: WebServer) -> None:
        web_server.add("/feed.xml", b"<rss/>", content_type="application/rss+xml", etag='"v1"')
        web_server.redirect("/old", "/feed.xml")
        web_server.handler("/echo", lambda h, request: respond(h, 200, request.body))
        web_server.handler("/raw", lambda h, request: h.wfile.write(b"HTTP/1.1 200 OK\\r\\n..."))

Request bodies are read by Content-Length (chunked request bodies are not supported).
"""

from __future__ import annotations

import gzip as gzip_module
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.servers.threaded import ThreadedServer

FIXTURES_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "fixtures"

# Content-Type each shared fixture is served with: the charset its publisher used, and none at all
# for the windows-1256 snippet, which must be recognised from its bytes alone.
FIXTURE_CONTENT_TYPES: dict[str, str] = {
    "feeds/guardian.utf-8.rss": "application/rss+xml; charset=utf-8",
    "feeds/newsru.com.koi8-r.rss.xml": "application/rss+xml; charset=koi8-r",
    "feeds/hagada.org.il.windows-1255.rss.xml": "text/xml; charset=windows-1255",
    "feeds/heise.developer.atom": "application/atom+xml; charset=utf-8",
    "pages/cnn-arabic.syria-2013.utf-8.html": "text/html; charset=UTF-8",
    "pages/assabah.com.tn.sudan-interview.utf-8.html": "text/html; charset=utf-8",
    "pages/arabic-news-snippet.windows-1256.no-charset.html": "text/html",
}


@dataclass(frozen=True, slots=True)
class Recorded:
    """One request as the server saw it; `headers` match names in any case."""

    method: str
    path: str
    headers: httpx.Headers
    body: bytes
    client_port: int


Handler = Callable[[BaseHTTPRequestHandler, Recorded], None]


@dataclass(slots=True)
class Route:
    """A canned answer. `trickle` is seconds between single body bytes (True means one byte a second)."""

    body: bytes = b""
    content_type: str = "text/plain; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0
    trickle: float = 0.0
    gzip: bool = False
    chunked: bool = False


class WebServer(ThreadedServer):
    """A threaded HTTP/1.1 server on an ephemeral 127.0.0.1 port; use as a context manager."""

    def __init__(self) -> None:
        self.requests: list[Recorded] = []
        self._routes: dict[str, Route | Handler] = {}
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def start(self) -> WebServer:
        """Bind and serve in a background thread."""
        httpd = _Server(("127.0.0.1", 0), _RequestHandler)
        httpd.owner = self
        return self._serve(httpd)

    def stop(self) -> None:
        """Stop serving; slow and trickling answers in progress are cut short."""
        self._stopping.set()
        super().stop()

    def url(self, path: str) -> str:
        """The absolute URL of a path on this server."""
        return self.base_url + path

    def add(
        self,
        path: str,
        body: bytes,
        *,
        content_type: str = "text/plain; charset=utf-8",
        headers: Mapping[str, str] | None = None,
        status: int = 200,
        etag: str | None = None,
        last_modified: str | None = None,
        delay: float = 0.0,
        trickle: float = 0.0,
        gzip: bool = False,
        chunked: bool = False,
    ) -> str:
        """Serve `body` at `path` (a matching If-None-Match/If-Modified-Since gets a 304); returns its URL.

        `headers` win over the defaults: a `Content-Length` there replaces the true one, so a test
        can make the server lie. `gzip` compresses `body` once, here; `chunked` drops the length.
        """
        self._routes[path] = Route(
            body=gzip_module.compress(body, compresslevel=6, mtime=0) if gzip else body,
            content_type=content_type,
            headers=dict(headers or {}),
            status=status,
            etag=etag,
            last_modified=last_modified,
            delay=delay,
            trickle=float(trickle),
            gzip=gzip,
            chunked=chunked,
        )
        return self.url(path)

    def redirect(self, path: str, location: str, status: int = 302) -> str:
        """Answer `path` with a redirect to `location` (absolute, relative, any scheme); returns its URL."""
        return self.add(path, b"", status=status, headers={"Location": location})

    def handler(self, path: str, function: Handler) -> str:
        """Let `function(handler, request)` write the whole answer (see `respond`); returns its URL."""
        self._routes[path] = function
        return self.url(path)

    def requests_for(self, path: str) -> list[Recorded]:
        """The recorded requests whose path (query string included) is `path`."""
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def _route(self, target: str) -> Route | Handler | None:
        return self._routes.get(target) or self._routes.get(urlsplit(target).path)

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)


def add_fixtures(server: WebServer, *, root: Path = FIXTURES_DIR) -> dict[str, str]:
    """Serve every shared fixture at /fixtures/<name> with its publisher's charset; returns name → URL."""
    return {
        name: server.add(f"/fixtures/{name}", (root / name).read_bytes(), content_type=content_type)
        for name, content_type in FIXTURE_CONTENT_TYPES.items()
    }


@pytest.fixture
def web_server() -> Iterator[WebServer]:
    """A started WebServer, stopped after the test."""
    with WebServer() as server:
        yield server


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # A trickling handler must not hold up stop(); its thread dies with the test process.
    block_on_close = False
    owner: WebServer


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        """Keep test output quiet."""

    def do_GET(self) -> None:
        self._dispatch()

    do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def _dispatch(self) -> None:
        owner = self.server.owner
        request = self._recorded()
        owner._record(request)
        route = owner._route(self.path)
        if route is None:
            respond(self, 404, b"not found")
        elif isinstance(route, Route):
            self._send_route(route, owner._stopping)
        else:
            route(self, request)

    def _recorded(self) -> Recorded:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers = httpx.Headers(list(self.headers.items()))
        return Recorded(self.command, self.path, headers, body, int(self.client_address[1]))

    def _send_route(self, route: Route, stopping: threading.Event) -> None:
        if route.delay and stopping.wait(route.delay):
            self.close_connection = True
            return
        if self._not_modified(route):
            self.send_response(304)
            self._validators(route)
            self.end_headers()
            return
        self.send_response(route.status)
        overrides = {name.lower() for name in route.headers}
        if "content-type" not in overrides:
            self.send_header("Content-Type", route.content_type)
        if route.gzip:
            self.send_header("Content-Encoding", "gzip")
        self._validators(route)
        for name, value in route.headers.items():
            if name.lower() != "content-length":
                self.send_header(name, value)
        self._send_length(route)
        self.end_headers()
        if self.command != "HEAD":
            self._send_body(route, stopping)

    def _validators(self, route: Route) -> None:
        if route.etag:
            self.send_header("ETag", route.etag)
        if route.last_modified:
            self.send_header("Last-Modified", route.last_modified)

    def _send_length(self, route: Route) -> None:
        if route.chunked:
            self.send_header("Transfer-Encoding", "chunked")
            return
        lying = {k.lower(): v for k, v in route.headers.items()}.get("content-length")
        if lying is not None:
            self.close_connection = True  # the stream no longer frames the next request
        self.send_header("Content-Length", lying or str(len(route.body)))

    def _send_body(self, route: Route, stopping: threading.Event) -> None:
        size = 1 if route.trickle else 65536
        try:
            for start in range(0, len(route.body), size):
                piece = route.body[start : start + size]
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece) if route.chunked else piece)
                if route.trickle and stopping.wait(route.trickle):
                    self.close_connection = True
                    return
            if route.chunked:
                self.wfile.write(b"0\r\n\r\n")
        except ConnectionError:
            self.close_connection = True  # the client gave up, as a fetcher with limits should

    def _not_modified(self, route: Route) -> bool:
        if route.status != 200:
            return False
        if_none_match = self.headers.get("If-None-Match")
        if if_none_match is not None:
            tags = [tag.strip() for tag in if_none_match.split(",")]
            return route.etag is not None and ("*" in tags or route.etag in tags)
        since = self.headers.get("If-Modified-Since")
        if since is None or route.last_modified is None:
            return False
        return _not_after(route.last_modified, since)


def respond(
    handler: BaseHTTPRequestHandler,
    status: int = 200,
    body: bytes = b"",
    *,
    content_type: str = "text/plain; charset=utf-8",
    headers: Mapping[str, str] | None = None,
) -> None:
    """Write a complete answer with a Content-Length, for custom handlers."""
    handler.send_response(status)
    handler.send_header("Content-Type", content_type)
    for name, value in (headers or {}).items():
        handler.send_header(name, value)
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    if handler.command != "HEAD":
        handler.wfile.write(body)


def _not_after(last_modified: str, since: str) -> bool:
    if last_modified == since:
        return True
    try:
        return parsedate_to_datetime(last_modified) <= parsedate_to_datetime(since)
    except (TypeError, ValueError):
        return False

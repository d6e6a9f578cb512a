"""A real HTTP server on 127.0.0.1 that stands in for the Slack Web API, plus Slack's request signing.

Point `AsyncWebClient(base_url=stub.api_url)` at it. It answers `auth.test`, records `chat.postMessage`,
`chat.postEphemeral`, `chat.update` and the posts to `response_url`s it hands out, validates Block Kit
limits the way Slack does (50 blocks, 3000-character sections, 10 context elements) and can answer
with scripted failures: 429 with `Retry-After`, 5xx, an error such as `channel_not_found`, or a
connection fault from tests/servers/drops.py (RESET, RESET_ACCEPTED, CUT, CUT_UNFRAMED).

    def test_x(slack_stub: SlackStub) -> None:
        stub.fail("chat.postMessage", status=429, retry_after=0, times=3)
        stub.fail("chat.postMessage", status=CUT, channel="C1")  # posted, the answer cut short
        stub.refuse_every("chat.postMessage", 3, retry_after=1)  # a 429 storm: every third call
        ...
        await stub.wait_for(lambda: len(stub.posts()) == 1)

`signed_headers(secret, body)` signs a request body exactly as Slack does.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import shutil
import socket
import threading
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode

import httpx
import pytest
import uvicorn

from tests.servers import drops
from tests.servers.drops import CUT, PASS, RESET, RESET_ACCEPTED
from tests.servers.threaded import ThreadedServer

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T0001"
SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"

MAX_BLOCKS = 50
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_BUTTON_VALUE = 2000
POSTING_METHODS = ("chat.postMessage", "chat.postEphemeral", "chat.update")


def signed_headers(secret: str, body: bytes | str, *, timestamp: int | None = None) -> dict[str, str]:
    """The headers Slack sends: X-Slack-Signature v0=HMAC-SHA256(secret, "v0:{ts}:{body}") and the time."""
    ts = int(time.time()) if timestamp is None else timestamp
    raw = body.decode("utf-8") if isinstance(body, bytes) else body
    digest = hmac.new(secret.encode(), f"v0:{ts}:{raw}".encode(), hashlib.sha256).hexdigest()
    return {"X-Slack-Request-Timestamp": str(ts), "X-Slack-Signature": f"v0={digest}"}


def event_body(event: Mapping[str, Any], *, event_id: str, team_id: str = TEAM_ID) -> bytes:
    """An Events API `event_callback` envelope around `event`, as JSON bytes."""
    envelope = {
        "token": "legacy",
        "team_id": team_id,
        "api_app_id": "A0001",
        "event": dict(event),
        "type": "event_callback",
        "event_id": event_id,
        "event_time": int(time.time()),
        "authorizations": [{"team_id": team_id, "user_id": BOT_USER_ID, "is_bot": True}],
    }
    return json.dumps(envelope).encode()


def command_body(
    text: str, *, user_id: str, channel_id: str, response_url: str, command: str = "/newsbrief"
) -> bytes:
    """A slash command's form-encoded body."""
    fields = {
        "token": "legacy",
        "team_id": TEAM_ID,
        "team_domain": "test",
        "channel_id": channel_id,
        "channel_name": "general",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": "A0001",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }
    return urlencode(fields).encode()


def action_body(
    action_id: str, value: str, *, user_id: str, channel_id: str, response_url: str, message_ts: str = ""
) -> bytes:
    """A block_actions interactivity payload (a button press), form-encoded as Slack sends it."""
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "test"},
        "user": {"id": user_id, "team_id": TEAM_ID},
        "api_app_id": "A0001",
        "token": "legacy",
        "container": {"type": "message", "message_ts": message_ts, "channel_id": channel_id},
        "trigger_id": "1.2.3",
        "channel": {"id": channel_id, "name": "general"},
        "message": {"ts": message_ts, "text": ""},
        "response_url": response_url,
        "actions": [
            {"action_id": action_id, "block_id": "b", "value": value, "type": "button", "action_ts": "1"}
        ],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


@dataclass(frozen=True, slots=True)
class Call:
    """One request the stub answered: the API method (or response:<name>), its body and HTTP status."""

    method: str
    body: dict[str, Any]
    token: str
    status: int
    at: float


@dataclass(slots=True)
class _Failure:
    status: int
    error: str
    retry_after: int | None
    channel: str | None = None


@dataclass(frozen=True, slots=True)
class Drop:
    """A call answered with a connection fault instead of a response."""

    kind: int  # drops.RESET, RESET_ACCEPTED, CUT or CUT_UNFRAMED
    method: str
    channel: str | None
    delivered: bool  # the message was posted before the connection broke


@dataclass
class _State:
    calls: list[Call] = field(default_factory=list)
    failures: dict[str, deque[_Failure]] = field(default_factory=dict)
    drops: list[Drop] = field(default_factory=list)
    every: dict[str, tuple[int, int]] = field(default_factory=dict)  # method → (n, retry_after)
    counts: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    ts: Iterator[int] = field(default_factory=lambda: itertools.count(1))


class SlackStub(ThreadedServer):
    """A threaded HTTP/1.1 Slack Web API stand-in on an ephemeral 127.0.0.1 port."""

    def __init__(self, *, bot_user_id: str = BOT_USER_ID, team_id: str = TEAM_ID) -> None:
        self.bot_user_id = bot_user_id
        self.team_id = team_id
        self._state = _State()

    # ------------------------------------------------------------ lifecycle

    def start(self) -> SlackStub:
        """Bind and serve in a background thread."""
        httpd = _Server(("127.0.0.1", 0), _Handler)
        httpd.stub = self
        return self._serve(httpd)

    @property
    def api_url(self) -> str:
        """The Web API base URL for AsyncWebClient(base_url=...), with its trailing slash."""
        return self.base_url + "/api/"

    def response_url(self, name: str) -> str:
        """A response_url for a slash command or a button press; its posts are recorded as response:<name>."""
        return f"{self.base_url}/response/{name}"

    # ------------------------------------------------------------ scripting and reading

    def fail(
        self,
        method: str,
        *,
        status: int = 429,
        times: int = 1,
        retry_after: int | None = 1,
        error: str = "",
        channel: str | None = None,
    ) -> None:
        """Answer the next `times` calls of `method` (to `channel`, if given) with `status` (429 carries
        Retry-After), a connection fault (tests/servers/drops.py), or normally (PASS)."""
        default = {429: "ratelimited"}.get(status, "internal_error" if status >= 500 else "invalid")
        failure = _Failure(status, error or default, retry_after if status == 429 else None, channel)
        with self._state.lock:
            self._state.failures.setdefault(method, deque()).extend([failure] * times)

    def refuse_every(self, method: str, n: int, *, retry_after: int = 1) -> None:
        """From now on every `n`-th call of `method` answers 429 `ratelimited` with Retry-After."""
        with self._state.lock:
            self._state.every[method] = (n, retry_after)
            self._state.counts[method] = 0

    def drops(self) -> list[Drop]:
        """The calls answered with a connection fault, in order."""
        with self._state.lock:
            return list(self._state.drops)

    def calls(self, method: str | None = None) -> list[Call]:
        """Every call answered, or those of one method; failed ones included."""
        with self._state.lock:
            return [c for c in self._state.calls if method is None or c.method == method]

    def posts(self, channel: str | None = None) -> list[dict[str, Any]]:
        """Bodies of the chat.postMessage calls that succeeded (in one channel when given)."""
        return [
            c.body
            for c in self.calls("chat.postMessage")
            if c.status == 200 and (channel is None or c.body.get("channel") == channel)
        ]

    def ephemerals(self) -> list[dict[str, Any]]:
        """Bodies of the chat.postEphemeral calls that succeeded."""
        return [c.body for c in self.calls("chat.postEphemeral") if c.status == 200]

    def responses(self, name: str | None = None) -> list[dict[str, Any]]:
        """Bodies posted to response_urls (one of them when `name` is given)."""
        prefix = f"response:{name}" if name else "response:"
        return [c.body for c in self.calls() if c.method.startswith(prefix)]

    def posted_anything(self) -> bool:
        """Whether any message was posted, ephemeral or not, or any response_url used."""
        return any(c.method in POSTING_METHODS or c.method.startswith("response:") for c in self.calls())

    async def wait_for(self, condition: Callable[[], bool], *, timeout: float = 20.0) -> None:
        """Poll `condition` until it holds; fail the test when it does not within `timeout` seconds."""
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise AssertionError(f"the Slack stub did not see the expected calls; it saw {self.calls()}")
            await asyncio.sleep(0.02)

    # ------------------------------------------------------------ answering

    def answer(
        self, method: str, body: dict[str, Any], token: str
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        """The (status, JSON, headers) for one call, recording it; a negative status is a connection
        fault the HTTP handler carries out (the call is recorded with the status Slack gave it, 0 if none)."""
        failure = self._every_nth(method) or self._next_failure(method, body)
        kind = failure.status if failure is not None and failure.status in drops.DROPS else None
        if failure is not None and failure.status not in (PASS, *drops.DROPS):
            status, data = failure.status, {"ok": False, "error": failure.error}
            headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        elif kind == RESET:  # dropped before Slack did anything
            status, data, headers = 0, {}, {}
        else:
            status, headers = 200, {}
            data = self._success(method, body, token)
        with self._state.lock:
            self._state.calls.append(Call(method, body, token, status, time.monotonic()))
            if kind is not None:
                delivered = kind != RESET and bool(data.get("ok"))
                self._state.drops.append(Drop(kind, method, body.get("channel"), delivered))
        return (kind, data, headers) if kind is not None else (status, data, headers)

    def _every_nth(self, method: str) -> _Failure | None:
        with self._state.lock:
            if method not in self._state.every:
                return None
            n, retry_after = self._state.every[method]
            self._state.counts[method] += 1
            return None if self._state.counts[method] % n else _Failure(429, "ratelimited", retry_after)

    def _next_failure(self, method: str, body: Mapping[str, Any]) -> _Failure | None:
        with self._state.lock:
            queue = self._state.failures.get(method) or deque()
            for failure in queue:
                if failure.channel is None or failure.channel == body.get("channel"):
                    queue.remove(failure)
                    return failure
            return None

    def _success(self, method: str, body: dict[str, Any], token: str) -> dict[str, Any]:
        if method.startswith("response:"):
            return {"ok": True}
        if token != BOT_TOKEN:
            return {"ok": False, "error": "invalid_auth"}
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://test.slack.com/",
                "team": "test",
                "user": "newsbrief",
                "team_id": self.team_id,
                "user_id": self.bot_user_id,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        if method in POSTING_METHODS:
            problem = _invalid_message(body)
            if problem:
                return {"ok": False, "error": "invalid_blocks", "errors": [problem]}
            with self._state.lock:
                ts = f"{1_700_000_000 + next(self._state.ts)}.000100"
            return {"ok": True, "channel": body.get("channel"), "ts": ts, "message": {"ts": ts}}
        return {"ok": False, "error": "unknown_method"}


def _invalid_message(body: Mapping[str, Any]) -> str:
    """Why Slack would refuse this message, or "" when it is valid."""
    if not body.get("channel"):
        return "channel is required"
    blocks = body.get("blocks")
    if isinstance(blocks, str):
        blocks = json.loads(blocks)
    if not blocks:
        return "" if body.get("text") else "text or blocks are required"
    if len(blocks) > MAX_BLOCKS:
        return f"{len(blocks)} blocks; at most {MAX_BLOCKS}"
    for block in blocks:
        problem = _invalid_block(block)
        if problem:
            return problem
    return ""


def _invalid_block(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "section":
        text = block.get("text", {}).get("text", "")
        return f"section text of {len(text)} characters" if not text or len(text) > MAX_SECTION_TEXT else ""
    if kind == "header":
        text = block.get("text", {}).get("text", "")
        return f"header text of {len(text)} characters" if not text or len(text) > MAX_HEADER_TEXT else ""
    if kind == "context":
        elements = block.get("elements", [])
        if not elements or len(elements) > MAX_CONTEXT_ELEMENTS:
            return f"context block with {len(elements)} elements"
        return next((f"context element of {len(e['text'])}" for e in elements if len(e["text"]) > 3000), "")
    if kind == "actions":
        values = [str(e.get("value", "")) for e in block.get("elements", [])]
        return next((f"button value of {len(v)}" for v in values if len(v) > MAX_BUTTON_VALUE), "")
    return "" if kind in ("divider", "image", "rich_text") else f"unknown block type {kind!r}"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: SlackStub


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:  # quiet: pytest shows failures itself
        pass

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        if path.startswith("/api/"):
            method = path.removeprefix("/api/")
        elif path.startswith("/response/"):
            method = "response:" + path.removeprefix("/response/")
        else:
            self._send(404, {"ok": False, "error": "not_found"}, {})
            return
        token = (self.headers.get("Authorization") or "").removeprefix("Bearer ").strip()
        body = _parse(raw, self.headers.get("Content-Type") or "")
        token = token or str(body.pop("token", ""))
        status, data, headers = self.server.stub.answer(method, body, token)
        if status in (RESET, RESET_ACCEPTED):
            drops.reset(self)
        elif status in drops.CUTS:
            payload = json.dumps(data).encode()
            headers = {"Content-Type": "application/json; charset=utf-8", **headers}
            drops.cut(self, 200, payload, headers, framed=status == CUT)
        else:
            self._send(status, data, headers)

    def _send(self, status: int, data: dict[str, Any], headers: Mapping[str, str]) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


def _parse(raw: bytes, content_type: str) -> dict[str, Any]:
    if not raw:
        return {}
    if "json" in content_type:
        parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else {"_": parsed}
    return {key: values[-1] for key, values in parse_qs(raw.decode("utf-8")).items()}


@pytest.fixture
def slack_stub() -> Iterator[SlackStub]:
    """A started SlackStub, stopped after the test."""
    with SlackStub() as stub:
        yield stub


# ---------------------------------------------------------------- the other direction: Slack calling us


class SlackSide:
    """Sends signed requests to our /slack/events the way Slack does; response_urls point at the stub."""

    def __init__(self, url: str, stub: SlackStub, *, secret: str = SIGNING_SECRET) -> None:
        self.url, self.stub, self.secret = url, stub, secret
        self.http = httpx.AsyncClient(timeout=30)
        self._names = itertools.count(1)

    async def close(self) -> None:
        """Close the HTTP client."""
        await self.http.aclose()

    async def send(
        self,
        body: bytes,
        content_type: str,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        retry_num: int | None = None,
    ) -> httpx.Response:
        """POST a body, signed (or with the given signature), as Slack would."""
        headers = signed_headers(self.secret, body, timestamp=timestamp)
        if signature is not None:
            headers["X-Slack-Signature"] = signature
        headers["Content-Type"] = content_type
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = "http_timeout"
        return await self.http.post(self.url, content=body, headers=headers)

    async def event(self, event: Mapping[str, Any], *, event_id: str, **options: Any) -> httpx.Response:
        """An Events API callback."""
        return await self.send(event_body(event, event_id=event_id), "application/json", **options)

    async def command(self, text: str, *, user: str, channel: str = "C1") -> tuple[httpx.Response, str]:
        """A `/newsbrief` invocation; returns the response and the name of its response_url."""
        name = f"cmd{next(self._names)}"
        body = command_body(text, user_id=user, channel_id=channel, response_url=self.stub.response_url(name))
        return await self.send(body, "application/x-www-form-urlencoded"), name

    async def press(
        self, action_id: str, value: str, *, user: str, channel: str = "C1"
    ) -> tuple[httpx.Response, str]:
        """A button press; returns the response and the name of its response_url."""
        name = f"act{next(self._names)}"
        body = action_body(
            action_id, value, user_id=user, channel_id=channel, response_url=self.stub.response_url(name)
        )
        return await self.send(body, "application/x-www-form-urlencoded"), name


@asynccontextmanager
async def serve_asgi(app: Any) -> AsyncIterator[str]:
    """Serve an ASGI app with uvicorn on an ephemeral 127.0.0.1 port in this event loop; yields its URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


# ---------------------------------------------------------------- our app, served as in production


@dataclass
class SlackHarness:
    """Our Slack adapter served over real HTTP, the stub as Slack's Web API, and a signed-request sender."""

    ctx: Any
    adapter: Any
    stub: SlackStub
    slack: SlackSide

    async def settle(self, timeout: float = 30.0) -> None:
        """Wait until every answer and command started so far has finished."""
        await self.adapter.idle(timeout)


def slack_settings(data_dir: Path, stub: SlackStub, **overrides: Any) -> Any:
    """Settings for a test: our data folder, the stub as SLACK_API_URL, one admin (UADMIN)."""
    from bot.config import Settings

    values: dict[str, Any] = {
        "data_dir": data_dir,
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": stub.api_url,
        "slack_admin_ids": ["UADMIN"],
        "fetch_allowed_private_hosts": ["127.0.0.1"],
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


@pytest.fixture(scope="session")
def seeded_archive(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A data folder whose database holds the five seed articles, ingested once per session."""
    from bot.app import build_context
    from bot.config import Settings
    from bot.runtime.ingest_cycle import ingest_due

    folder = tmp_path_factory.mktemp("slack-archive")
    ctx = build_context(Settings(_env_file=None, data_dir=folder))
    asyncio.run(ingest_due(ctx, force=True))
    ctx.db.dispose()
    return folder


@pytest.fixture(scope="session")
def shared_embedder() -> Any:
    """The local embedder, loaded once per session (loading it costs a second or more)."""
    from bot.embed import make_embedder

    return make_embedder("local")


def copy_archive(source: Path, target: Path) -> Path:
    """A private copy of a data folder (the database and its WAL files)."""
    target.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file():
            shutil.copy2(path, target / path.name)
    return target


@asynccontextmanager
async def slack_harness(
    stub: SlackStub,
    data_dir: Path,
    *,
    embedder: Any = None,
    settings: Any = None,
    **build_options: Any,
) -> AsyncIterator[SlackHarness]:
    """Build the context and the Slack adapter, serve /slack/events on our web app, and clean up."""
    from starlette.applications import Starlette

    from bot.app import build_context
    from bot.chat.slack import build_slack

    ctx = build_context(settings or slack_settings(data_dir, stub))
    if embedder is not None:
        ctx._embedder = embedder  # one loaded model shared by every test
    build_options.setdefault("channel_interval", 0.0)
    adapter = build_slack(ctx, **build_options)
    app = _web_app(ctx, adapter.routes(), Starlette)
    await adapter.start()
    async with serve_asgi(app) as url:
        side = SlackSide(url + "/slack/events", stub)
        try:
            yield SlackHarness(ctx, adapter, stub, side)
        finally:
            await adapter.stop(grace=10)
            await side.close()
            ctx.db.dispose()


def _web_app(ctx: Any, routes: list[Any], starlette: Any) -> Any:
    """Our production web app when it exists (bot.runtime.web), else a bare Starlette app with the same routes."""
    try:
        from bot.runtime.web import create_web_app
    except ImportError:
        return starlette(routes=routes)
    return create_web_app(ctx, routes=routes)


@pytest.fixture
async def slack(
    slack_stub: SlackStub, seeded_archive: Path, shared_embedder: Any, tmp_path: Path
) -> AsyncIterator[SlackHarness]:
    """The Slack adapter over a private copy of the seed archive, served on 127.0.0.1."""
    data_dir = copy_archive(seeded_archive, tmp_path / "data")
    async with slack_harness(slack_stub, data_dir, embedder=shared_embedder) as harness:
        yield harness

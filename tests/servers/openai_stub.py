"""A scripted OpenAI-compatible server on 127.0.0.1, real enough for the `openai` SDK.

Tests queue replies (content, HTTP errors, delays, broken bodies), set a default responder, or set
`always` to a reply served whenever the queue is empty (an endpoint that fails every time), then point
`bot.llm.LLM(base_url=stub.base_url + "/v1")` at it and inspect what it received.
"""

from __future__ import annotations

import base64
import hashlib
import json
import struct
import threading
from collections import Counter, deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

EMBEDDING_DIMENSIONS = 8
# Errors carry a tiny Retry-After so the SDK's retries do not slow the suite down.
RETRY_AFTER_MS = 5


@dataclass(frozen=True, slots=True)
class Reply:
    """One scripted reply to a chat completion.

    `content` is the assistant message; `status` other than 200 sends an OpenAI-style error;
    `delay` waits before answering (to provoke client timeouts); `body` sends these bytes
    verbatim as the response, labelled `content_type`; `truncate` promises more bytes than it sends,
    then hangs up.
    """

    content: str = "{}"
    status: int = 200
    delay: float = 0.0
    body: bytes | None = None
    truncate: bool = False
    content_type: str = "application/json"
    finish_reason: str = "stop"
    error_message: str = "scripted failure"


@dataclass(frozen=True, slots=True)
class Received:
    """One request the stub received."""

    method: str
    path: str
    headers: dict[str, str]
    json: dict[str, Any]


@dataclass
class OpenAIStub:
    """The server's script and observations; `base_url` is http://127.0.0.1:<port>."""

    base_url: str = ""
    replies: deque[Reply] = field(default_factory=deque)
    responder: Callable[[dict[str, Any]], str] = field(default=lambda request: "{}")
    always: Reply | None = None
    embedder: Callable[[str], list[float]] = field(default=lambda text: fake_embedding(text))
    models: list[str] = field(default_factory=lambda: ["stub-model", "stub-embed"])
    requests: list[Received] = field(default_factory=list)
    calls: Counter[str] = field(default_factory=Counter)
    prompt_tokens: int = 0
    completion_tokens: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    stopping: threading.Event = field(default_factory=threading.Event, repr=False)

    def push(self, *replies: Reply | str) -> None:
        """Queue replies, served in order before the responder is consulted; a str is content."""
        for reply in replies:
            self.replies.append(Reply(content=reply) if isinstance(reply, str) else reply)

    def chat_requests(self) -> list[dict[str, Any]]:
        """Bodies of the chat completion requests received, oldest first."""
        return [r.json for r in self.requests if r.path.endswith("/chat/completions")]

    def last_messages(self) -> dict[str, str]:
        """The last chat request's messages as {role: content} (the last of each role)."""
        requests = self.chat_requests()
        assert requests, "the stub received no chat request"
        return {m["role"]: m["content"] for m in requests[-1]["messages"]}

    def _next_reply(self, request: dict[str, Any]) -> Reply:
        with self.lock:
            if self.replies:
                return self.replies.popleft()
            if self.always is not None:
                return self.always
        return Reply(content=self.responder(request))


def count_tokens(text: str) -> int:
    """A rough token count: whitespace-separated words."""
    return len(text.split())


def fake_embedding(text: str) -> list[float]:
    """A deterministic unit-free vector derived from the text's hash."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return [round(byte / 255, 4) for byte in digest[:EMBEDDING_DIMENSIONS]]


def _handler(stub: OpenAIStub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

        def do_GET(self) -> None:
            self._receive({})
            if self.path.rstrip("/").endswith("/models"):
                data = [
                    {"id": name, "object": "model", "created": 0, "owned_by": "stub"} for name in stub.models
                ]
                self._send_json(200, {"object": "list", "data": data})
            else:
                self._send_error(404, "not found")

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except ValueError:
                self._send_error(400, "request body is not JSON")
                return
            self._receive(body)
            if self.path.endswith("/chat/completions"):
                self._chat(body)
            elif self.path.endswith("/embeddings"):
                self._embeddings(body)
            else:
                self._send_error(404, "not found")

        def _receive(self, body: dict[str, Any]) -> None:
            received = Received(
                self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
            )
            with stub.lock:
                stub.requests.append(received)
                stub.calls[self.path] += 1

        def _chat(self, request: dict[str, Any]) -> None:
            reply = stub._next_reply(request)
            if reply.delay and stub.stopping.wait(reply.delay):
                return
            if reply.body is not None or reply.truncate:
                body = reply.body or b'{"id": "chatcmpl-cut", "choices": ['
                self._send_raw(body, truncate=reply.truncate, content_type=reply.content_type)
            elif reply.status != 200:
                self._send_error(reply.status, reply.error_message)
            else:
                self._send_json(200, self._completion(request, reply))

        def _completion(self, request: dict[str, Any], reply: Reply) -> dict[str, Any]:
            prompt = sum(count_tokens(str(m.get("content", ""))) for m in request.get("messages", []))
            completion = count_tokens(reply.content)
            with stub.lock:
                stub.prompt_tokens += prompt
                stub.completion_tokens += completion
            message = {"role": "assistant", "content": reply.content}
            return {
                "id": f"chatcmpl-stub-{len(stub.requests)}",
                "object": "chat.completion",
                "created": 0,
                "model": request.get("model", "stub-model"),
                "choices": [{"index": 0, "message": message, "finish_reason": reply.finish_reason}],
                "usage": {
                    "prompt_tokens": prompt,
                    "completion_tokens": completion,
                    "total_tokens": prompt + completion,
                },
            }

        def _embeddings(self, request: dict[str, Any]) -> None:
            texts = request.get("input", [])
            texts = [texts] if isinstance(texts, str) else texts
            as_base64 = request.get("encoding_format") == "base64"
            data = []
            for index, text in enumerate(texts):
                vector: Any = stub.embedder(text)
                if as_base64:
                    vector = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
                data.append({"object": "embedding", "index": index, "embedding": vector})
            tokens = sum(count_tokens(text) for text in texts)
            with stub.lock:
                stub.prompt_tokens += tokens
            usage = {"prompt_tokens": tokens, "total_tokens": tokens}
            self._send_json(
                200, {"object": "list", "data": data, "model": request.get("model"), "usage": usage}
            )

        def _send_error(self, status: int, message: str) -> None:
            error = {"message": message, "type": "stub_error", "param": None, "code": f"http_{status}"}
            self._send_json(status, {"error": error}, headers={"retry-after-ms": str(RETRY_AFTER_MS)})

        def _send_json(
            self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None
        ) -> None:
            body = json.dumps(payload, ensure_ascii=False).encode("utf-8")
            self.send_response(status)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self._write(body)

        def _send_raw(self, body: bytes, *, truncate: bool, content_type: str) -> None:
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body) + (1000 if truncate else 0)))
            if truncate:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            self._write(body)

        def _write(self, body: bytes) -> None:
            try:
                self.wfile.write(body)
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                self.close_connection = True

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False


def start_stub(port: int = 0) -> tuple[OpenAIStub, Callable[[], None]]:
    """Start a stub on `port` (0: an ephemeral one); returns it and the function that stops it.

    A fixed port lets a test bring an endpoint back up where a client already points.
    """
    stub = OpenAIStub()
    server = _Server(("127.0.0.1", port), _handler(stub))
    stub.base_url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), name="openai-stub", daemon=True)
    thread.start()

    def stop() -> None:
        stub.stopping.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return stub, stop


@pytest.fixture
def openai_stub() -> Iterator[OpenAIStub]:
    """A fresh OpenAI-compatible stub server for one test."""
    stub, stop = start_stub()
    try:
        yield stub
    finally:
        stop()

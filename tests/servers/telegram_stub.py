"""A Telegram Bot API stand-in: a real HTTP server on 127.0.0.1 that PTB reaches through base_url.

It answers the methods the bot uses, validates sendMessage/editMessageText the way Telegram does
(allowed HTML tags, balanced, known entities, at most 4096 UTF-16 units of visible text) and rejects
with Telegram's own 400 "can't parse entities". Tests inject updates (messages, commands, button
presses), script failures (429 with retry_after, 403, 5xx, and the connection faults of
tests/servers/drops.py: RESET, RESET_ACCEPTED, CUT, CUT_UNFRAMED) and may enforce a rate per second.

    def test_x(telegram_stub: TelegramStub) -> None:
        settings = Settings(telegram_bot_token=TOKEN, telegram_base_url=telegram_stub.base_url, ...)
        telegram_stub.send_text(chat_id=42, text="/start")
        telegram_stub.fail("sendMessage", 429, retry_after=1, times=3)
        telegram_stub.fail("sendMessage", RESET_ACCEPTED)  # delivered, then the connection is reset
        telegram_stub.refuse_every("sendMessage", 5, retry_after=1)  # a 429 storm: every fifth call
"""

from __future__ import annotations

import html
import itertools
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

import httpx
import pytest

from tests.servers import drops
from tests.servers.drops import CUT, PASS, RESET, RESET_ACCEPTED

TOKEN = "123456:TEST-token-for-the-stand-in"
BOT_ID = 123456
BOT_USERNAME = "newsbrief_test_bot"
MAX_LENGTH = 4096
ALLOWED_TAGS = {
    "b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre",
    "blockquote", "tg-emoji",
}  # fmt: skip
_STRING_FIELDS = {"text", "parse_mode", "url", "secret_token", "callback_query_id", "caption", "action"}
_TAG = re.compile(
    r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s>]+))?)*)\s*>"
)
_SPECIAL = re.compile(r"[<&]")
_ENTITY = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|lt|gt|amp|quot);")


class EntityError(ValueError):
    """What Telegram calls "can't parse entities"."""


def visible_text(text: str, parse_mode: str | None) -> str:
    """The message text as Telegram shows it; raises EntityError as Telegram would refuse it."""
    if (parse_mode or "").upper() != "HTML":
        return text
    out: list[str] = []
    stack: list[str] = []
    index = 0
    while (special := _SPECIAL.search(text, index)) is not None:
        out.append(text[index : special.start()])
        index = special.start()
        if text[index] == "<":
            match = _TAG.match(text, index)
            if not match:
                raise EntityError(f"Unexpected end of name token at byte offset {index}")
            closing, name = match.group(1), match.group(2).lower()
            if name not in ALLOWED_TAGS:
                raise EntityError(f'Unsupported start tag "{name}" at byte offset {index}')
            if closing:
                if not stack or stack[-1] != name:
                    raise EntityError(f'Can\'t find end tag corresponding to start tag "{name}"')
                stack.pop()
            else:
                if name == "a" and "href" not in match.group(3):
                    raise EntityError(f"Can't find href of a link at byte offset {index}")
                stack.append(name)
        else:
            match = _ENTITY.match(text, index)
            if not match:
                raise EntityError(f"Unsupported entity at byte offset {index}")
            out.append(html.unescape(match.group(0)))
        index = match.end()
    out.append(text[index:])
    if stack:
        raise EntityError(f'Can\'t find end tag corresponding to start tag "{stack[-1]}"')
    return "".join(out)


def utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


@dataclass(slots=True)
class Sent:
    """A message the bot sent (or edited)."""

    method: str
    chat_id: int
    message_id: int
    text: str
    parse_mode: str | None
    reply_markup: dict[str, Any] | None
    reply_to: int | None


@dataclass(frozen=True, slots=True)
class Attempt:
    """One sendMessage call as the stand-in saw it: to whom, what, its answer and when (on `stub.clock`)."""

    chat_id: int
    text: str
    status: int
    at: float


@dataclass(slots=True)
class _Failure:
    status: int
    retry_after: int | None
    times: int
    chat_id: int | None


@dataclass(frozen=True, slots=True)
class Drop:
    """A call answered with a connection fault instead of a response."""

    kind: int  # drops.RESET, RESET_ACCEPTED, CUT or CUT_UNFRAMED
    method: str
    chat_id: int | None
    delivered: bool  # the message reached the chat before the connection broke


@dataclass
class StubState:
    updates: deque[dict[str, Any]] = field(default_factory=deque)
    sent: list[Sent] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    failures: dict[str, list[_Failure]] = field(default_factory=dict)
    webhook: dict[str, Any] = field(default_factory=dict)
    commands: list[Any] = field(default_factory=list)
    admins: dict[int, set[int]] = field(default_factory=dict)
    answered_callbacks: list[str] = field(default_factory=list)
    rejected: list[tuple[str, str]] = field(default_factory=list)  # (method, description)
    rate_limited: int = 0
    drops: list[Drop] = field(default_factory=list)
    every: dict[str, tuple[int, int]] = field(default_factory=dict)  # method → (n, retry_after)
    counts: dict[str, int] = field(default_factory=dict)
    attempts: list[Attempt] = field(default_factory=list)


class TelegramStub:
    """The stand-in server; use as a context manager or through the `telegram_stub` fixture."""

    def __init__(self, *, rate_limit: float | None = None, record_calls: bool = True) -> None:
        self.state = StubState()
        self.rate_limit = rate_limit
        self.record_calls = record_calls
        self.clock: Callable[[], float] = time.monotonic  # stamps `attempts`; tests may pass a FakeClock's
        self._lock = threading.Condition()
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1000)
        self._window: deque[float] = deque()
        self._closing = False
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ lifecycle

    def start(self, port: int = 0) -> TelegramStub:
        """Serve on `port` (any free one by default); a stopped stand-in may start again on its old port."""
        stub = self
        self._closing = False

        class Handler(_Handler):
            owner = stub

        class Server(ThreadingHTTPServer):
            request_queue_size = 1024  # a broadcast opens many connections at once

        self._server = Server(("127.0.0.1", port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._lock:
            self._closing = True
            self._lock.notify_all()
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> TelegramStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """What TELEGRAM_BASE_URL should be (PTB appends the token)."""
        return f"http://127.0.0.1:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/file/bot"

    # ------------------------------------------------------------------ scripting

    def fail(
        self,
        method: str,
        status: int,
        *,
        retry_after: int | None = None,
        times: int = 1,
        chat_id: int | None = None,
    ) -> None:
        """The next `times` calls of `method` (to `chat_id`, if given) answer with `status`, or with a
        connection fault (tests/servers/drops.py), or normally (PASS: a gap in a sequence)."""
        with self._lock:
            self.state.failures.setdefault(method, []).append(_Failure(status, retry_after, times, chat_id))

    def refuse_every(self, method: str, n: int, *, retry_after: int = 1) -> None:
        """From now on every `n`-th call of `method` answers 429 with `retry_after`, whoever sends it."""
        with self._lock:
            self.state.every[method] = (n, retry_after)
            self.state.counts[method] = 0

    def make_admin(self, chat_id: int, user_id: int) -> None:
        """`user_id` administers group `chat_id` (getChatMember answers so)."""
        with self._lock:
            self.state.admins.setdefault(chat_id, set()).add(user_id)

    # ------------------------------------------------------------------ injecting updates

    def send_text(
        self,
        *,
        chat_id: int,
        text: str,
        user_id: int | None = None,
        chat_type: str | None = None,
        reply_to: int | None = None,
        language_code: str = "en",
    ) -> dict[str, Any]:
        """A user writes `text` (a command when it starts with /); returns the injected update."""
        user_id = user_id if user_id is not None else chat_id
        chat_type = chat_type or ("private" if chat_id > 0 else "group")
        chat: dict[str, Any] = {"id": chat_id, "type": chat_type}
        if chat_type == "private":
            chat["first_name"] = f"user{user_id}"
        else:
            chat["title"] = f"group{chat_id}"
        message: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat,
            "from": {
                "id": user_id,
                "is_bot": False,
                "first_name": f"user{user_id}",
                "language_code": language_code,
            },
            "text": text,
        }
        if text.startswith("/"):
            command = text.split()[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": utf16_len(command)}]
        if reply_to is not None:
            original = self.message(reply_to)
            message["reply_to_message"] = {
                "message_id": reply_to,
                "date": int(time.time()),
                "chat": chat,
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "newsbrief", "username": BOT_USERNAME},
                "text": original.text if original else "",
            }
        return self._push({"message": message})

    def press(
        self, *, chat_id: int, data: str, message_id: int, user_id: int | None = None
    ) -> dict[str, Any]:
        """A user presses the inline button carrying `data` under the bot's message `message_id`."""
        user_id = user_id if user_id is not None else chat_id
        original = self.message(message_id)
        chat_type = "private" if chat_id > 0 else "group"
        callback = {
            "id": str(next(self._update_ids) * 7919),
            "chat_instance": str(chat_id),
            "from": {"id": user_id, "is_bot": False, "first_name": f"user{user_id}", "language_code": "en"},
            "data": data,
            "message": {
                "message_id": message_id,
                "date": int(time.time()),
                "chat": {"id": chat_id, "type": chat_type, "first_name": "x", "title": "x"},
                "from": {"id": BOT_ID, "is_bot": True, "first_name": "newsbrief", "username": BOT_USERNAME},
                "text": original.text if original else "",
            },
        }
        return self._push({"callback_query": callback})

    def _push(self, body: dict[str, Any]) -> dict[str, Any]:
        update = {"update_id": next(self._update_ids), **body}
        webhook = self.state.webhook.get("url")
        if webhook:
            headers = {}
            if self.state.webhook.get("secret_token"):
                headers["X-Telegram-Bot-Api-Secret-Token"] = self.state.webhook["secret_token"]
            # From a thread: the bot under test may share the caller's event loop.
            threading.Thread(
                target=httpx.post, args=(webhook,), kwargs={"json": update, "headers": headers, "timeout": 10}
            ).start()
            return update
        with self._lock:
            self.state.updates.append(update)
            self._lock.notify_all()
        return update

    # ------------------------------------------------------------------ reading what the bot did

    def stats(self) -> dict[str, Any]:
        """Counts for benches: messages accepted, 429s answered, messages rejected."""
        with self._lock:
            chats = {s.chat_id for s in self.state.sent}
            return {
                "sent": len(self.state.sent),
                "chats": len(chats),
                "rate_limited": self.state.rate_limited,
                "rejected": len(self.state.rejected),
            }

    def messages(self, chat_id: int | None = None) -> list[Sent]:
        """Messages sent (and edits), optionally to one chat, in order."""
        with self._lock:
            return [s for s in self.state.sent if chat_id is None or s.chat_id == chat_id]

    def message(self, message_id: int) -> Sent | None:
        with self._lock:
            found = [s for s in self.state.sent if s.message_id == message_id]
        return found[-1] if found else None

    def wait_for(self, predicate: Callable[[], Any], *, timeout: float = 10.0) -> Any:
        """Block until `predicate()` is truthy (the bot answers asynchronously); its value."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = predicate()
            if value:
                return value
            time.sleep(0.01)
        raise AssertionError("the bot did not answer in time")

    def wait_for_message(self, chat_id: int, *, count: int = 1, timeout: float = 10.0) -> Sent:
        """The `count`-th message to `chat_id`, waiting for it."""
        self.wait_for(lambda: len(self.messages(chat_id)) >= count, timeout=timeout)
        return self.messages(chat_id)[count - 1]

    # ------------------------------------------------------------------ the methods

    def call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call: (HTTP status, JSON body)."""
        if self.record_calls:
            with self._lock:
                self.state.calls.append((method, params))
        status, payload = self._call(method, params)
        if method == "sendMessage":
            attempt = Attempt(
                int(params.get("chat_id") or 0), str(params.get("text", "")), status, self.clock()
            )
            with self._lock:
                self.state.attempts.append(attempt)
        return status, payload

    def _call(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self._every_nth(method):
            return _error(429, self.state.every[method][1])
        scripted = self._scripted(method, params)
        if scripted and scripted[0] == RESET:
            self._dropped(RESET, method, params, delivered=False)
            return scripted
        if scripted and scripted[0] not in (PASS, RESET_ACCEPTED, *drops.CUTS):
            return scripted
        status, payload = self._answer(method, params)
        if scripted and scripted[0] in (RESET_ACCEPTED, *drops.CUTS):
            # Carried out, then the connection breaks: the HTTP handler resets or cuts the answer.
            self._dropped(scripted[0], method, params, delivered=status == 200)
            return scripted[0], payload
        return status, payload

    def _dropped(self, kind: int, method: str, params: dict[str, Any], *, delivered: bool) -> None:
        chat = params.get("chat_id")
        with self._lock:
            self.state.drops.append(Drop(kind, method, int(chat) if chat is not None else None, delivered))

    def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if method in ("sendMessage", "editMessageText"):
            limited = self._rate_check()
            if limited:
                return limited
        if method == "getUpdates":
            return 200, {"ok": True, "result": self._get_updates(params)}
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return handler(params)

    def _every_nth(self, method: str) -> bool:
        with self._lock:
            if method not in self.state.every:
                return False
            self.state.counts[method] += 1
            if self.state.counts[method] % self.state.every[method][0]:
                return False
            self.state.rate_limited += 1
            return True

    def _scripted(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        with self._lock:
            queue = self.state.failures.get(method, [])
            for failure in queue:
                if failure.chat_id is not None and str(failure.chat_id) != str(params.get("chat_id")):
                    continue
                failure.times -= 1
                if failure.times <= 0:
                    queue.remove(failure)
                if failure.status in (PASS, *drops.DROPS):
                    return failure.status, {}
                return _error(failure.status, failure.retry_after)
        return None

    def _rate_check(self) -> tuple[int, dict[str, Any]] | None:
        if not self.rate_limit:
            return None
        with self._lock:
            now = time.monotonic()
            while self._window and self._window[0] <= now - 1.0:
                self._window.popleft()
            if len(self._window) >= self.rate_limit:
                self.state.rate_limited += 1
                return _error(429, 1)
            self._window.append(now)
        return None

    def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        timeout = min(float(params.get("timeout") or 0), 30.0)
        limit = int(params.get("limit") or 100)
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                while self.state.updates and self.state.updates[0]["update_id"] < offset:
                    self.state.updates.popleft()  # confirmed by the offset
                if self.state.updates or self._closing:
                    return list(itertools.islice(self.state.updates, limit))
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return []
                self._lock.wait(remaining)  # long poll: sleep until an update arrives

    def _m_getMe(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        me = {
            "id": BOT_ID, "is_bot": True, "first_name": "newsbrief", "username": BOT_USERNAME,
            "can_join_groups": True, "can_read_all_group_messages": False, "supports_inline_queries": False,
        }  # fmt: skip
        return 200, {"ok": True, "result": me}

    def _m_sendMessage(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._message("sendMessage", params, next(self._message_ids))

    def _m_editMessageText(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return self._message("editMessageText", params, int(params["message_id"]))

    def _message(self, method: str, params: dict[str, Any], message_id: int) -> tuple[int, dict[str, Any]]:
        text, parse_mode = str(params.get("text", "")), params.get("parse_mode")
        try:
            shown = visible_text(text, parse_mode)
        except EntityError as error:
            return self._reject(method, f"Bad Request: can't parse entities: {error}")
        if not shown.strip():
            return self._reject(method, "Bad Request: message text is empty")
        if utf16_len(shown) > MAX_LENGTH:
            return self._reject(method, "Bad Request: message is too long")
        chat_id = int(params["chat_id"])
        reply = params.get("reply_parameters") or {}
        reply_to = reply.get("message_id") if isinstance(reply, dict) else None
        reply_to = reply_to or params.get("reply_to_message_id")
        sent = Sent(method, chat_id, message_id, text, parse_mode, params.get("reply_markup"), reply_to)
        with self._lock:
            self.state.sent.append(sent)
        chat_type = "private" if chat_id > 0 else "group"
        result = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat_id, "type": chat_type, "first_name": "x", "title": "x"},
            "from": {"id": BOT_ID, "is_bot": True, "first_name": "newsbrief", "username": BOT_USERNAME},
            "text": shown,
        }
        return 200, {"ok": True, "result": result}

    def _reject(self, method: str, description: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.state.rejected.append((method, description))
        return 400, {"ok": False, "error_code": 400, "description": description}

    def _m_answerCallbackQuery(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.state.answered_callbacks.append(str(params.get("callback_query_id")))
        return 200, {"ok": True, "result": True}

    def _m_setMyCommands(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.state.commands = list(params.get("commands") or [])
        return 200, {"ok": True, "result": True}

    def _m_deleteWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.state.webhook = {}
        return 200, {"ok": True, "result": True}

    def _m_setWebhook(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.state.webhook = {"url": params.get("url"), "secret_token": params.get("secret_token")}
        return 200, {"ok": True, "result": True}

    def _m_getWebhookInfo(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        info = {
            "url": self.state.webhook.get("url") or "",
            "has_custom_certificate": False,
            "pending_update_count": 0,
        }
        return 200, {"ok": True, "result": info}

    def _m_getChatMember(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        admin = user_id in self.state.admins.get(chat_id, set())
        user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        if admin:
            member = {
                "status": "administrator", "user": user, "can_be_edited": False, "is_anonymous": False,
                "can_manage_chat": True, "can_delete_messages": True, "can_manage_video_chats": True,
                "can_restrict_members": True, "can_promote_members": False, "can_change_info": True,
                "can_invite_users": True, "can_post_stories": False, "can_edit_stories": False,
                "can_delete_stories": False,
            }  # fmt: skip
        else:
            member = {"status": "member", "user": user}
        return 200, {"ok": True, "result": member}

    def _m_sendChatAction(self, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        return 200, {"ok": True, "result": True}


def _error(status: int, retry_after: int | None) -> tuple[int, dict[str, Any]]:
    descriptions = {
        429: f"Too Many Requests: retry after {retry_after}",
        403: "Forbidden: bot was blocked by the user",
        500: "Internal Server Error",
        502: "Bad Gateway",
    }
    body: dict[str, Any] = {
        "ok": False,
        "error_code": status,
        "description": descriptions.get(status, "Error"),
    }
    if status == 429:
        body["parameters"] = {"retry_after": retry_after or 1}
    return status, body


class _Handler(BaseHTTPRequestHandler):
    owner: TelegramStub
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:  # silence the default stderr log
        return

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        path = self.path.split("?", 1)[0]
        if path == "/stub/stats":  # for benches running the stand-in in another process
            self._reply(200, self.owner.stats())
            return
        match = re.match(r"^/bot([^/]+)/(\w+)$", path)
        if not match or match.group(1) != TOKEN:
            self._reply(401 if match else 404, {"ok": False, "error_code": 404, "description": "Not Found"})
            return
        status, payload = self.owner.call(match.group(2), _params(self.headers.get("Content-Type", ""), body))
        if status in (RESET, RESET_ACCEPTED):
            drops.reset(self)
        elif status in drops.CUTS:
            code = 200 if payload.get("ok") else int(payload.get("error_code") or 500)
            headers = {"Content-Type": "application/json"}
            drops.cut(self, code, json.dumps(payload).encode(), headers, framed=status == CUT)
        else:
            self._reply(status, payload)

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        try:
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):  # the client gave up (a cancelled long poll)
            self.close_connection = True


def _params(content_type: str, body: bytes) -> dict[str, Any]:
    """Bot API parameters from a JSON or form body (PTB sends a form whose values are JSON)."""
    if not body:
        return {}
    if "json" in content_type:
        return dict(json.loads(body))
    params: dict[str, Any] = {}
    for key, value in parse_qsl(body.decode(), keep_blank_values=True):
        if key in _STRING_FIELDS:
            params[key] = value
            continue
        try:
            params[key] = json.loads(value)
        except ValueError:
            params[key] = value
    return params


@pytest.fixture
def telegram_stub() -> Iterator[TelegramStub]:
    """A running Bot API stand-in."""
    with TelegramStub() as stub:
        yield stub


# ---------------------------------------------------------------------- helpers for the chat tests


class FakeClock:
    """A controlled clock for Context(clock=...) and for the worker's pacing and 429 waits."""

    def __init__(self, now: Any) -> None:
        self.now = now
        self.ticks = 0.0

    def __call__(self) -> Any:
        return self.now

    def monotonic(self) -> float:
        return self.ticks

    async def sleep(self, seconds: float) -> None:
        """Time passes at once: no wall-clock waiting in tests."""
        import asyncio
        from datetime import timedelta

        self.ticks += max(seconds, 0.0)
        self.now = self.now + timedelta(seconds=max(seconds, 0.0))
        await asyncio.sleep(0)

    def advance(self, **delta: float) -> None:
        from datetime import timedelta

        step = timedelta(**delta)
        self.now = self.now + step
        self.ticks += step.total_seconds()


async def until(predicate: Callable[[], Any], *, timeout: float = 10.0) -> Any:
    """Await until `predicate()` is truthy, for a bot running in the test's own event loop."""
    import asyncio

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        await asyncio.sleep(0.01)
    raise AssertionError("the bot did not answer in time")


def asgi_app(stub: TelegramStub) -> Any:
    """The same stand-in as an ASGI app, for benches that need more requests per second than
    http.server gives (serve it with uvicorn in a process of its own)."""
    from starlette.applications import Starlette
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def endpoint(request: Request) -> JSONResponse:
        token, method = request.path_params["token"], request.path_params["method"]
        if token != TOKEN:
            return JSONResponse({"ok": False, "error_code": 404, "description": "Not Found"}, status_code=404)
        params = _params(request.headers.get("content-type", ""), await request.body())
        if method == "getUpdates":  # a long poll blocks: keep it off the event loop
            status, payload = await run_in_threadpool(stub.call, method, params)
        else:
            status, payload = stub.call(method, params)
        if status < 0:  # ASGI cannot reset a connection: a scripted drop becomes a bare 502
            status, payload = _error(502, None)
        return JSONResponse(payload, status_code=status)

    async def stats(request: Request) -> JSONResponse:
        return JSONResponse(stub.stats())

    return Starlette(
        routes=[
            Route("/stub/stats", stats),
            Route("/bot{token}/{method}", endpoint, methods=["GET", "POST"]),
        ]
    )

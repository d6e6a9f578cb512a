"""The only module that talks to an LLM endpoint (any OpenAI-compatible server).

`LLM.chat_json` sends a rendered prompt, pulls the first JSON object out of the reply (local
servers may ignore JSON mode or wrap the object in prose or fences), checks it against a small
JSON-schema subset, and records every call. Failures become `LLMUnavailable` (worth falling back
to the offline path), `LLMRequestError` (the endpoint refused this request) or `LLMOutputError`
(the model answered, but not with what was asked). Messages never carry the API key.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from bot.breaker import Breaker
from prompts import RenderedPrompt

if TYPE_CHECKING:
    import openai

log = logging.getLogger(__name__)

Outcome = Literal["ok", "invalid", "error", "timeout"]

DEFAULT_MODEL = "gpt-4o-mini"
DEFAULT_TIMEOUT = 60.0
DEFAULT_MAX_RETRIES = 2
# Local servers (Ollama, llama.cpp, vLLM) accept any key, but the SDK insists on one.
KEYLESS_PLACEHOLDER = "not-needed"
EMBED_PURPOSE = "embed"

_THINKING = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_SCHEMA_KEYWORDS = frozenset(
    {"type", "required", "properties", "additionalProperties", "items", "minItems", "maxItems"}
    | {"minLength", "maxLength", "enum", "description", "title"}
)
_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
}


class LLMError(Exception):
    """Base of every error raised by this module."""


class LLMUnavailable(LLMError):
    """The endpoint could not be reached or kept failing (timeout, connection, 429, 5xx) after retries."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMRequestError(LLMError):
    """The endpoint refused the request (4xx other than 408/409/429): bad key, unknown model, too long."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class LLMOutputError(LLMError):
    """The model replied, but not with JSON matching the schema; `raw` and `problems` feed a repair prompt."""

    def __init__(self, message: str, *, raw: str, problems: Sequence[str]) -> None:
        super().__init__(message)
        self.raw = raw
        self.problems = list(problems)


class SchemaError(ValueError):
    """A schema uses a keyword outside the subset `schema_problems` understands."""


@dataclass(frozen=True, slots=True)
class LLMCall:
    """One call to the endpoint, for metrics and token budgets."""

    purpose: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    outcome: Outcome


Recorder = Callable[[LLMCall], None]


class LLM:
    """A client for one OpenAI-compatible endpoint and chat model.

    Sync methods (`chat_json`, `embed`) and async twins (`achat_json`, `aembed`) share everything
    but the transport; the SDK retries timeouts, connection errors, 408/409/429 and 5xx with
    exponential backoff (honouring Retry-After) up to `max_retries` times. The async client is
    built on first use and keeps its connections on that event loop: use one LLM per loop.
    """

    def __init__(
        self,
        *,
        base_url: str,
        api_key: str = "",
        model: str = DEFAULT_MODEL,
        timeout: float = DEFAULT_TIMEOUT,
        max_retries: int = DEFAULT_MAX_RETRIES,
        record: Recorder | None = None,
        json_mode: bool = True,
        temperature: float | None = None,
        max_tokens: int | None = None,
        breaker: Breaker | None = None,
    ) -> None:
        if not base_url:
            raise LLMRequestError("LLM base URL is empty; set LLM_BASE_URL or use the offline summarizer")
        self.base_url = base_url
        self.model = model
        self.timeout = timeout
        self.max_retries = max_retries
        self.json_mode = json_mode
        self.temperature = temperature
        self.max_tokens = max_tokens
        self._api_key = api_key or KEYLESS_PLACEHOLDER
        self.breaker = breaker
        self._record = record
        self._sync: openai.OpenAI | None = None
        self._async: openai.AsyncOpenAI | None = None

    def __repr__(self) -> str:
        return f"LLM(endpoint={self.endpoint!r}, model={self.model!r})"

    @property
    def endpoint(self) -> str:
        """The endpoint's host and port, safe to show (no path, query or credentials)."""
        parts = urlsplit(self.base_url)
        if not parts.hostname:
            return "?"
        return f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname

    def chat_json(self, *, purpose: str, prompt: RenderedPrompt, schema: dict[str, Any]) -> dict[str, Any]:
        """Send `prompt`, return the reply's JSON object once it matches `schema`."""
        import openai  # loaded on first use: most commands never talk to an LLM

        self._check_breaker(purpose)
        started = time.perf_counter()
        client = self._sync_client()
        try:
            try:
                response = client.chat.completions.create(**self._chat_arguments(prompt))
            except openai.BadRequestError as exc:
                if not self._drop_json_mode(exc):
                    raise
                response = client.chat.completions.create(**self._chat_arguments(prompt))
        except (openai.OpenAIError, ValueError) as exc:
            raise self._failure(purpose, self.model, started, exc) from None
        return self._finish(purpose, started, response, schema)

    async def achat_json(
        self, *, purpose: str, prompt: RenderedPrompt, schema: dict[str, Any]
    ) -> dict[str, Any]:
        """Async `chat_json`: the same request, checks and record, on `openai.AsyncOpenAI`."""
        import openai  # loaded on first use: most commands never talk to an LLM

        self._check_breaker(purpose)
        started = time.perf_counter()
        client = self._async_client()
        try:
            try:
                response = await client.chat.completions.create(**self._chat_arguments(prompt))
            except openai.BadRequestError as exc:
                if not self._drop_json_mode(exc):
                    raise
                response = await client.chat.completions.create(**self._chat_arguments(prompt))
        except (openai.OpenAIError, ValueError) as exc:
            raise self._failure(purpose, self.model, started, exc) from None
        return self._finish(purpose, started, response, schema)

    def embed(self, texts: list[str], *, model: str) -> list[list[float]]:
        """Embed `texts` with the endpoint's `model` (POST /v1/embeddings), in input order."""
        import openai  # loaded on first use: most commands never talk to an LLM

        if not texts:
            return []
        self._check_breaker(EMBED_PURPOSE)
        started = time.perf_counter()
        try:
            response = self._sync_client().embeddings.create(
                model=model, input=texts, encoding_format="float"
            )
        except (openai.OpenAIError, ValueError) as exc:
            raise self._failure(EMBED_PURPOSE, model, started, exc) from None
        return self._finish_embedding(model, started, response, len(texts))

    async def aembed(self, texts: list[str], *, model: str) -> list[list[float]]:
        """Async `embed`."""
        import openai  # loaded on first use: most commands never talk to an LLM

        if not texts:
            return []
        self._check_breaker(EMBED_PURPOSE)
        started = time.perf_counter()
        try:
            response = await self._async_client().embeddings.create(
                model=model, input=texts, encoding_format="float"
            )
        except (openai.OpenAIError, ValueError) as exc:
            raise self._failure(EMBED_PURPOSE, model, started, exc) from None
        return self._finish_embedding(model, started, response, len(texts))

    def close(self) -> None:
        """Close the sync client's connections (the async one closes with `aclose`)."""
        if self._sync is not None:
            self._sync.close()
            self._sync = None

    async def aclose(self) -> None:
        """Close both clients' connections."""
        self.close()
        if self._async is not None:
            await self._async.close()
            self._async = None

    # Clients are built on first use: constructing an LLM opens nothing.
    def _sync_client(self) -> openai.OpenAI:
        import openai  # loaded on first use: most commands never talk to an LLM

        if self._sync is None:
            self._sync = openai.OpenAI(**self._client_options())
        return self._sync

    def _async_client(self) -> openai.AsyncOpenAI:
        import openai  # loaded on first use: most commands never talk to an LLM

        if self._async is None:
            self._async = openai.AsyncOpenAI(**self._client_options())
        return self._async

    def _client_options(self) -> dict[str, Any]:
        return {
            "base_url": self.base_url,
            "api_key": self._api_key,
            "timeout": self.timeout,
            "max_retries": self.max_retries,
        }

    def _chat_arguments(self, prompt: RenderedPrompt) -> dict[str, Any]:
        arguments: dict[str, Any] = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": prompt.system},
                {"role": "user", "content": prompt.user},
            ],
        }
        if self.json_mode:
            arguments["response_format"] = {"type": "json_object"}
        if self.temperature is not None:
            arguments["temperature"] = self.temperature
        if self.max_tokens is not None:
            arguments["max_tokens"] = self.max_tokens
        return arguments

    def _drop_json_mode(self, exc: openai.BadRequestError) -> bool:
        # Some servers reject response_format outright; the prompt asks for JSON anyway.
        if self.json_mode and "response_format" in _error_text(exc):
            log.info("LLM endpoint %s rejects response_format; continuing without JSON mode", self.endpoint)
            self.json_mode = False
            return True
        return False

    def _finish(self, purpose: str, started: float, response: Any, schema: dict[str, Any]) -> dict[str, Any]:
        choices = getattr(response, "choices", None)
        if not isinstance(choices, list) or not choices:
            # A proxy's HTML error page with status 200 reaches us as plain text (the SDK hands back
            # any non-JSON body as a str): the endpoint failed, the model never answered.
            raise self._failure(purpose, self.model, started, ValueError("no chat completion")) from None
        usage = getattr(response, "usage", None)
        prompt_tokens = getattr(usage, "prompt_tokens", 0) or 0
        completion_tokens = getattr(usage, "completion_tokens", 0) or 0
        choice = choices[0]
        raw = getattr(getattr(choice, "message", None), "content", None) or ""
        try:
            if getattr(choice, "finish_reason", None) == "length":
                raise LLMOutputError(
                    f"{purpose}: the reply was cut off at the token limit",
                    raw=raw,
                    problems=["the reply was cut off before the JSON object ended"],
                )
            value = parse_json_object(raw, purpose=purpose)
            problems = schema_problems(value, schema)
            if problems:
                raise LLMOutputError(
                    f"{purpose}: the reply does not match the schema: {'; '.join(problems[:5])}",
                    raw=raw,
                    problems=problems,
                )
        except LLMOutputError as error:
            self._emit(
                LLMCall(purpose, self.model, prompt_tokens, completion_tokens, _ms(started), "invalid")
            )
            log.warning("%s", error)  # once per call, like the failures in _failure
            raise
        self._emit(LLMCall(purpose, self.model, prompt_tokens, completion_tokens, _ms(started), "ok"))
        return value

    def _finish_embedding(
        self, model: str, started: float, response: Any, expected: int
    ) -> list[list[float]]:
        tokens = getattr(getattr(response, "usage", None), "prompt_tokens", 0) or 0
        data = sorted(getattr(response, "data", None) or [], key=lambda item: item.index)
        vectors = [list(item.embedding) for item in data]
        if len(vectors) != expected or not all(isinstance(v, float | int) for vec in vectors for v in vec):
            self._emit(LLMCall(EMBED_PURPOSE, model, tokens, 0, _ms(started), "invalid"))
            raise LLMOutputError(
                f"embed: expected {expected} float vector(s), got {len(vectors)}",
                raw="",
                problems=[f"expected {expected} vectors"],
            )
        self._emit(LLMCall(EMBED_PURPOSE, model, tokens, 0, _ms(started), "ok"))
        return [[float(v) for v in vec] for vec in vectors]

    def _failure(self, purpose: str, model: str, started: float, exc: Exception) -> LLMError:
        import openai  # loaded on first use: most commands never talk to an LLM

        where = f"LLM endpoint {self.endpoint}"
        error: LLMError
        if isinstance(exc, openai.APITimeoutError):
            outcome: Outcome = "timeout"
            error = LLMUnavailable(
                f"{purpose}: {where} timed out after {self.timeout:g}s and {self.max_retries} retries"
            )
        elif isinstance(exc, openai.APIConnectionError):
            outcome = "error"
            error = LLMUnavailable(f"{purpose}: cannot connect to {where} ({type(exc.__cause__).__name__})")
        elif isinstance(exc, openai.APIStatusError):
            outcome = "error"
            error = _status_error(purpose, where, exc)
        elif isinstance(exc, openai.APIResponseValidationError | ValueError):
            # The SDK lets a body that is not JSON surface as a ValueError (JSONDecodeError).
            outcome = "error"
            error = LLMUnavailable(f"{purpose}: {where} sent a response that is not an OpenAI API response")
        else:
            outcome = "error"
            error = LLMUnavailable(f"{purpose}: {where} failed ({type(exc).__name__})")
        self._emit(LLMCall(purpose, model, 0, 0, _ms(started), outcome))
        log.warning("%s", error)
        return error

    def _check_breaker(self, purpose: str) -> None:
        if self.breaker is None:
            return
        wait = self.breaker.wait_left()
        if wait > 0:  # not logged: the warning went out once, when the breaker opened
            raise LLMUnavailable(
                f"{purpose}: LLM endpoint {self.endpoint} failed {self.breaker.failures} times in a row; "
                f"not asked again for {wait:.0f} s"
            )

    def _track(self, outcome: Outcome) -> None:
        if self.breaker is None:
            return
        if outcome in ("ok", "invalid"):  # an invalid reply is the model's fault, not the endpoint's
            self.breaker.succeeded()
        elif self.breaker.failed():
            log.warning(
                "LLM endpoint %s failed %d times in a row: briefs and answers go offline for %.0f s",
                self.endpoint,
                self.breaker.failures,
                self.breaker.cooldown,
            )

    def _emit(self, call: LLMCall) -> None:
        self._track(call.outcome)
        log.debug(
            "llm call purpose=%s model=%s tokens=%d+%d latency_ms=%d outcome=%s",
            call.purpose,
            call.model,
            call.prompt_tokens,
            call.completion_tokens,
            call.latency_ms,
            call.outcome,
        )
        if self._record is None:
            return
        try:
            self._record(call)
        except Exception:  # a broken metrics sink must not turn a good answer into a failure
            log.exception("recording an LLM call failed")


def parse_json_object(text: str, *, purpose: str = "reply") -> dict[str, Any]:
    """The JSON object in a model's reply: the whole text, or the first object found inside it."""
    text = _THINKING.sub("", text).strip()
    try:
        value = json.loads(text)
    except ValueError:
        value = _first_object(text)
    if not isinstance(value, dict):
        shown = text[:80] + ("…" if len(text) > 80 else "")
        raise LLMOutputError(
            f"{purpose}: the reply holds no JSON object: {shown!r}",
            raw=text,
            problems=["the reply must be a single JSON object"],
        )
    return value


def _first_object(text: str) -> Any:
    decoder = json.JSONDecoder()
    start = text.find("{")
    while start != -1:
        try:
            value, _ = decoder.raw_decode(text, start)
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    return None


def schema_problems(value: Any, schema: dict[str, Any], path: str = "$") -> list[str]:
    """Where `value` breaks `schema` (type, required, properties, items, min/max, enum); [] if it fits."""
    unknown = schema.keys() - _SCHEMA_KEYWORDS
    if unknown:
        raise SchemaError(f"schema at {path} uses unsupported keyword(s) {', '.join(sorted(unknown))}")
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_TYPES[name](value) for name in names):
            return [f"{path}: expected {' or '.join(names)}, got {_json_type(value)}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{path}: must be one of {schema['enum']!r}"]
    if isinstance(value, dict):
        return _object_problems(value, schema, path)
    if isinstance(value, list):
        return _array_problems(value, schema, path)
    if isinstance(value, str):
        return _length_problems(len(value), schema, path, "character")
    return []


def _object_problems(value: dict[str, Any], schema: dict[str, Any], path: str) -> list[str]:
    problems = [
        f"{path}: missing required key {key!r}" for key in schema.get("required", []) if key not in value
    ]
    properties: dict[str, Any] = schema.get("properties", {})
    for key, item in value.items():
        if key in properties:
            problems += schema_problems(item, properties[key], f"{path}.{key}")
        elif schema.get("additionalProperties") is False:
            problems.append(f"{path}: unexpected key {key!r}")
    return problems


def _array_problems(value: list[Any], schema: dict[str, Any], path: str) -> list[str]:
    problems = _length_problems(len(value), schema, path, "item", low="minItems", high="maxItems")
    if "items" in schema:
        for index, item in enumerate(value):
            problems += schema_problems(item, schema["items"], f"{path}[{index}]")
    return problems


def _length_problems(
    size: int,
    schema: dict[str, Any],
    path: str,
    noun: str,
    *,
    low: str = "minLength",
    high: str = "maxLength",
) -> list[str]:
    if low in schema and size < schema[low]:
        return [f"{path}: expected at least {schema[low]} {noun}(s), got {size}"]
    if high in schema and size > schema[high]:
        return [f"{path}: expected at most {schema[high]} {noun}(s), got {size}"]
    return []


def _json_type(value: Any) -> str:
    return next((name for name, check in _TYPES.items() if check(value)), type(value).__name__)


def _status_error(purpose: str, where: str, exc: openai.APIStatusError) -> LLMError:
    # Only the status and the error code from the body: some servers echo part of the key in the message.
    code = _error_code(exc)
    detail = f" ({code})" if code else ""
    status = exc.status_code
    if status in (408, 409, 429) or status >= 500:
        return LLMUnavailable(f"{purpose}: {where} kept failing with HTTP {status}{detail}", status=status)
    return LLMRequestError(
        f"{purpose}: {where} refused the request with HTTP {status}{detail}", status=status
    )


def _error_code(exc: openai.APIStatusError) -> str:
    body = exc.body
    if isinstance(body, dict):
        error = body.get("error", body)
        if isinstance(error, dict):
            code = error.get("code") or error.get("type")
            if isinstance(code, str) and re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", code):
                return code
    return ""


def _error_text(exc: openai.APIStatusError) -> str:
    return json.dumps(exc.body, default=str) if exc.body is not None else ""


def _ms(started: float) -> int:
    return round((time.perf_counter() - started) * 1000)

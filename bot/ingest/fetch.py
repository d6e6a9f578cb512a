"""Fetch one URL safely: SSRF checks on every hop, a total deadline, a size limit, conditional GET.

Every new connection resolves its host once, vets each address and dials exactly the vetted one
(bot.ingest.netguard), so a DNS server that changes its answer between check and connect gains nothing.

One `Fetcher` holds one pooled `httpx.AsyncClient`; create it once and share it. Callers bound their
own concurrency (e.g. a semaphore of ~50): time spent waiting for a pooled connection counts against
each fetch's deadline.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from types import TracebackType
from typing import ClassVar, Literal
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

import httpx

from bot.ingest.charset import Decoded, decode_body
from bot.ingest.netguard import (
    AddressGuard,
    ForbiddenAddress,
    GuardedTransport,
    Resolver,
    UnresolvableHost,
    system_resolve,
)
from bot.ingest.netguard import forbidden_kind as forbidden_kind  # re-exported: part of this module's API

DEFAULT_TIMEOUT = 20.0
DEFAULT_MAX_BYTES = 5_000_000
DEFAULT_MAX_REDIRECTS = 5
DEFAULT_MAX_CONNECTIONS = 100
DEFAULT_USER_AGENT = "newsbrief/0.1 (+https://github.com/newsbrief)"

_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.9, "
    "text/html;q=0.8, */*;q=0.5"
)
_SCHEMES = frozenset({"http", "https"})
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
# A redirect or 304 body is read (so the connection returns to the pool) only up to this size.
_DRAIN_LIMIT = 65_536
_LOCATION = "newsbrief.location"
_SECRET_PARAM = re.compile(r"token|key|secret|pass|auth|sig|session|credential", re.IGNORECASE)

Reason = Literal[
    "bad-url",
    "bad-scheme",
    "blocked-address",
    "too-many-redirects",
    "too-large",
    "timeout",
    "http-status",
    "network",
]


class FetchError(Exception):
    """A fetch that failed; `reason` is a short code, the message is for people and holds no secret."""

    reason: ClassVar[Reason] = "network"

    def __init__(self, message: str, *, url: str) -> None:
        super().__init__(message)
        self.url = url


class BadURL(FetchError):
    """The URL cannot be parsed or has no host."""

    reason = "bad-url"


class BadScheme(FetchError):
    """The URL, or a redirect target, is not http or https."""

    reason = "bad-scheme"


class BlockedAddress(FetchError):
    """The host resolves to an address that is not public, and is not in the allowed private hosts."""

    reason = "blocked-address"

    def __init__(self, message: str, *, url: str, address: str) -> None:
        super().__init__(message, url=url)
        self.address = address


class TooManyRedirects(FetchError):
    """More redirects than allowed, or a redirect loop."""

    reason = "too-many-redirects"


class TooLarge(FetchError):
    """The body (after decompression) exceeds the byte limit."""

    reason = "too-large"


class FetchTimeout(FetchError):
    """The whole fetch, redirects and body included, missed its deadline."""

    reason = "timeout"


class HTTPStatusError(FetchError):
    """The server answered 4xx or 5xx (or a 3xx that cannot be followed)."""

    reason = "http-status"

    def __init__(self, message: str, *, url: str, status: int, retry_after: str | None = None) -> None:
        super().__init__(message, url=url)
        self.status = status
        self.retry_after = retry_after


class NetworkError(FetchError):
    """DNS, connection, TLS or protocol failure."""

    reason = "network"


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A completed fetch. On 304 `not_modified` is set, `content` is empty and the validators carry over."""

    url: str
    status: int
    content: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    not_modified: bool = False

    @property
    def decoded(self) -> Decoded:
        """The body decoded by `bot.ingest.charset.decode_body`, with the encoding it chose."""
        return decode_body(self.content, content_type=self.content_type, url=self.url)

    @property
    def text(self) -> str:
        """The body as text (BOM, UTF-8, declared charset, then detection)."""
        return self.decoded.text


class Fetcher:
    """Fetches http(s) URLs over one pooled client; use `async with Fetcher(...) as fetcher`."""

    def __init__(
        self,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        max_bytes: int = DEFAULT_MAX_BYTES,
        max_redirects: int = DEFAULT_MAX_REDIRECTS,
        allowed_private_hosts: Iterable[str] = (),
        user_agent: str = DEFAULT_USER_AGENT,
        max_connections: int = DEFAULT_MAX_CONNECTIONS,
        transport: httpx.AsyncBaseTransport | None = None,
        resolve: Resolver = system_resolve,
    ) -> None:
        """Set up the pooled client.

        `resolve(host, port)` looks up addresses (blocking, run in a thread; default getaddrinfo). A
        `transport` given here replaces the one that pins checked addresses, leaving only the per-hop
        check, which a rebinding DNS server can pass: meant for tests.
        """
        if timeout <= 0 or max_bytes <= 0 or max_redirects < 0 or max_connections <= 0:
            raise ValueError("timeout, max_bytes and max_connections must be positive, max_redirects >= 0")
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._guard = AddressGuard(allowed_private_hosts=allowed_private_hosts, resolve=resolve)
        self.allowed_private_hosts = self._guard.allowed_private_hosts
        limits = httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections)
        # trust_env=False: a proxy from the environment would bypass the address checks below.
        self._client = httpx.AsyncClient(
            transport=transport or GuardedTransport(self._guard, limits=limits),
            follow_redirects=False,
            trust_env=False,
            timeout=httpx.Timeout(timeout),
            headers={"User-Agent": user_agent, "Accept": _ACCEPT},
            event_hooks={"response": [_set_location_aside]},
        )

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close pooled connections."""
        await self._client.aclose()

    async def fetch(
        self, url: str, *, etag: str | None = None, last_modified: str | None = None
    ) -> FetchResult:
        """GET `url`, following redirects; raises a `FetchError` subclass on any failure."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        try:
            async with asyncio.timeout(self.timeout):
                result = await self._follow(_parse(url), headers)
        except TimeoutError:
            message = f"{redact_url(url)} did not answer completely within {self.timeout:g} s"
            raise FetchTimeout(message, url=redact_url(url)) from None
        if result.not_modified:  # a 304 may omit the validators; the caller keeps what it sent
            return replace(
                result, etag=result.etag or etag, last_modified=result.last_modified or last_modified
            )
        return result

    async def _follow(self, url: httpx.URL, headers: dict[str, str]) -> FetchResult:
        seen: set[str] = set()
        while True:
            seen.add(str(url))
            with _refusals(url):
                await self._check_address(url)
                outcome = await self._request(url, headers)
            if isinstance(outcome, FetchResult):
                return outcome
            shown = redact_url(str(url))
            if str(outcome) in seen:
                message = f"{shown} redirects in a loop (back to {redact_url(str(outcome))})"
                raise TooManyRedirects(message, url=shown)
            if len(seen) > self.max_redirects:
                message = f"gave up on {shown}: more than {self.max_redirects} redirects"
                raise TooManyRedirects(message, url=shown)
            url = outcome

    async def _check_address(self, url: httpx.URL) -> None:
        # An early, clear refusal before any connection, which also covers a caller's own transport.
        # It is not what stops DNS rebinding: the default transport resolves again when it connects,
        # checks that answer and dials exactly it (bot.ingest.netguard), so a second, different answer is
        # caught there.
        host = url.raw_host.decode("ascii")  # the IDNA form; the guard matches allowed hosts in both
        if not self._guard.allows_private(host):
            await self._guard.addresses(host, url.port or (443 if url.scheme == "https" else 80))

    async def _request(self, url: httpx.URL, headers: dict[str, str]) -> FetchResult | httpx.URL:
        shown = redact_url(str(url))
        try:
            async with self._client.stream("GET", url, headers=headers) as response:
                return await self._answer(url, response)
        except httpx.InvalidURL:
            raise BadURL(f"{shown} answered with an unusable URL", url=shown) from None
        except httpx.TimeoutException:
            raise FetchTimeout(f"{shown} did not answer within {self.timeout:g} s", url=shown) from None
        except httpx.HTTPError as exc:
            detail = _scrub(f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__, url)
            raise NetworkError(f"could not fetch {shown}: {detail}", url=shown) from None

    async def _answer(self, url: httpx.URL, response: httpx.Response) -> FetchResult | httpx.URL:
        status = response.status_code
        location = response.extensions.get(_LOCATION)
        if status in _REDIRECTS and location:
            await _drain(response)
            return _redirect_target(url, location)
        if status == 304:
            await _drain(response)
            return self._result(url, response, b"", not_modified=True)
        if status >= 300:
            shown = redact_url(str(url))
            message = f"{shown} answered {status} {response.reason_phrase}".rstrip()
            retry_after = response.headers.get("retry-after")
            raise HTTPStatusError(message, url=shown, status=status, retry_after=retry_after)
        return self._result(url, response, await self._read(url, response))

    async def _read(self, url: httpx.URL, response: httpx.Response) -> bytes:
        limit = self.max_bytes
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit:
            shown = redact_url(str(url))
            message = f"{shown} is {int(declared)} bytes (Content-Length), over the {limit}-byte limit"
            raise TooLarge(message, url=shown)
        chunks: list[bytes] = []
        total = 0
        # aiter_bytes yields decompressed bytes, so a gzip bomb is caught by what it expands to.
        # One network read (<= 64 KiB) can still expand ~1000x in memory before this check runs.
        async for chunk in response.aiter_bytes():
            total += len(chunk)
            if total > limit:
                shown = redact_url(str(url))
                raise TooLarge(f"{shown} is over the {limit}-byte limit", url=shown)
            chunks.append(chunk)
        return b"".join(chunks)

    @staticmethod
    def _result(
        url: httpx.URL, response: httpx.Response, content: bytes, *, not_modified: bool = False
    ) -> FetchResult:
        return FetchResult(
            url=str(url.copy_with(userinfo=b"")),
            status=response.status_code,
            content=content,
            content_type=response.headers.get("content-type"),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            not_modified=not_modified,
        )


def redact_url(url: str) -> str:
    """The URL without user:password@ and with secret-looking query values masked, for messages."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return re.sub(r"//[^/@]*@", "//", url.split("?")[0])
    if parts.scheme and parts.scheme.lower() not in _SCHEMES:
        return f"a {parts.scheme.lower()}: URL"
    netloc = parts.netloc.rpartition("@")[2]
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    query = (
        urlencode([(k, "***" if _SECRET_PARAM.search(k) else v) for k, v in pairs]) if pairs else parts.query
    )
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _parse(url: str) -> httpx.URL:
    shown = redact_url(url)
    try:
        parsed = httpx.URL(url.strip())
    except (httpx.InvalidURL, TypeError, UnicodeError):
        raise BadURL(f"{shown!r} is not a valid URL", url=shown) from None
    if parsed.scheme not in _SCHEMES:
        raise BadScheme(f"refused to fetch {shown}: only http and https URLs are fetched", url=shown)
    if not parsed.host:
        raise BadURL(f"{shown!r} has no host", url=shown)
    return parsed


def _redirect_target(url: httpx.URL, location: str) -> httpx.URL:
    shown = redact_url(str(url))
    try:
        target = url.join(location.strip())
    except (httpx.InvalidURL, UnicodeError):
        raise BadURL(f"{shown} redirects to an invalid URL", url=shown) from None
    if target.scheme not in _SCHEMES:
        message = f"{shown} redirects to {redact_url(str(target))}; only http and https are followed"
        raise BadScheme(message, url=shown)
    if not target.host:
        raise BadURL(f"{shown} redirects to a URL without a host", url=shown)
    return target


async def _set_location_aside(response: httpx.Response) -> None:
    # httpx builds a redirect request even with follow_redirects=False and raises a bare InvalidURL
    # for a host-less Location such as javascript: or data: (see wapiti-scanner/wapiti#690). Hiding
    # the header from it leaves every redirect decision to _redirect_target.
    location = response.headers.pop("location", None)
    if location is not None:
        response.extensions[_LOCATION] = location


async def _drain(response: httpx.Response) -> None:
    # Reading a short body to its end lets the connection go back to the pool; a long one is dropped.
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > _DRAIN_LIMIT:
            return


@contextmanager
def _refusals(url: httpx.URL) -> Iterator[None]:
    # The guard speaks of hosts; turn its refusals into fetch errors that name the (redacted) URL.
    shown = redact_url(str(url))
    try:
        yield
    except ForbiddenAddress as exc:
        message = (
            f"refused to fetch {shown}: {url.host} resolves to {exc.address}, a {exc.kind} address; "
            f"add {url.host} to FETCH_ALLOWED_PRIVATE_HOSTS to allow it"
        )
        raise BlockedAddress(message, url=shown, address=str(exc.address)) from None
    except UnresolvableHost as exc:
        raise NetworkError(f"could not resolve {url.host} for {shown}: {exc.detail}", url=shown) from None


def _scrub(text: str, url: httpx.URL) -> str:
    # Library messages may quote the URL; keep its credentials out of ours.
    for secret in {url.userinfo.decode("ascii", "replace"), url.password} - {""}:
        text = text.replace(secret, "***")
    return text

"""Connect only to vetted addresses: one lookup per connection, every answer checked, that answer dialled.

Checking a name and then letting the HTTP library resolve it again leaves a gap a rebinding DNS server
walks through (public address for the check, 127.0.0.1 for the connection). Here the lookup that is
checked is the one that is connected to: `GuardedBackend` is an httpcore network backend, and
`GuardedTransport` plugs it into httpx through public APIs only. TLS SNI and the Host header still use
the name, since httpcore takes those from the URL, not from the address dialled.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import httpcore
import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""`resolve(host, port)` -> the host's addresses as strings; blocking (it runs in a thread); raises OSError."""

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
# Every spelling inet_aton (and so getaddrinfo) reads as IPv4: 2130706433, 0177.0.0.1, 0x7f.1, 127.1.
_INET_ATON = re.compile(r"(?:0x[0-9a-f]*|[0-9]+)(?:\.(?:0x[0-9a-f]*|[0-9]+)){0,3}", re.IGNORECASE)


class ForbiddenAddress(Exception):
    """A host resolved to an address that is not public and the host is not allowed private addresses."""

    def __init__(self, host: str, address: IPAddress, kind: str) -> None:
        super().__init__(f"{host} resolves to {address}, a {kind} address")
        self.host = host
        self.address = address
        self.kind = kind


class UnresolvableHost(Exception):
    """The resolver failed for a host, or answered nothing usable."""

    def __init__(self, host: str, detail: str) -> None:
        super().__init__(f"could not resolve {host}: {detail}")
        self.host = host
        self.detail = detail


def system_resolve(host: str, port: int) -> list[str]:
    """The host's TCP addresses from the system resolver (getaddrinfo), in its preferred order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


def forbidden_kind(address: IPAddress) -> str | None:
    """Why an address must not be fetched ("loopback", "private", ...), or None when it is public."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            address = embedded
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("private", address.is_private),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("non-public", not address.is_global),
    )
    return next((kind for kind, hit in checks if hit), None)


def ip_literal(host: str) -> IPAddress | None:
    """The address a host spells in any form a resolver accepts (e.g. 2130706433, 0x7f.1), or None."""
    text = host.strip().strip("[]").rstrip(".")
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        pass
    if _INET_ATON.fullmatch(text):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(text))
        except OSError:
            return None
    return None


def host_key(host: str) -> str:
    """A host as compared with FETCH_ALLOWED_PRIVATE_HOSTS: no brackets or final dot, lower case."""
    return host.strip().strip("[]").rstrip(".").lower()


class AddressGuard:
    """Resolves a host once and vets every address, unless the host may use private addresses."""

    def __init__(self, *, allowed_private_hosts: Iterable[str] = (), resolve: Resolver = system_resolve):
        self._resolve = resolve
        keys: set[str] = set()
        for host in allowed_private_hosts:
            keys.add(host_key(host))
            keys.add(_ascii_key(host))  # connections see the IDNA form of an internationalized name
        self.allowed_private_hosts = frozenset(keys - {""})

    def allows_private(self, host: str) -> bool:
        """Whether `host` (as written or in IDNA form) may resolve to non-public addresses."""
        return host_key(host) in self.allowed_private_hosts or _ascii_key(host) in self.allowed_private_hosts

    async def addresses(self, host: str, port: int) -> list[IPAddress]:
        """The host's addresses, resolved now; raises ForbiddenAddress or UnresolvableHost."""
        literal = ip_literal(host)
        # A literal never goes to the resolver: a custom one could answer anything for "2130706433".
        found = [literal] if literal is not None else await self._lookup(host, port)
        if self.allows_private(host):
            return found
        # Every answer must pass, not just the one dialled first: the connection falls back to the
        # next address when one refuses, so any answer may end up connected to; and a name mixing
        # public and private answers is what a rebinding server looks like, so it gets no benefit of
        # the doubt (the verdict would otherwise depend on answer order, which the attacker controls).
        for address in found:
            kind = forbidden_kind(address)
            if kind:
                raise ForbiddenAddress(host, address, kind)
        return found

    async def _lookup(self, host: str, port: int) -> list[IPAddress]:
        try:
            answers = await asyncio.to_thread(self._resolve, host, port)
        except (OSError, UnicodeError) as exc:
            raise UnresolvableHost(host, str(exc) or type(exc).__name__) from None
        found: list[IPAddress] = []
        for answer in answers:
            try:
                found.append(ipaddress.ip_address(answer))
            except ValueError:
                raise UnresolvableHost(host, f"the resolver answered {answer!r}, not an address") from None
        if not found:
            raise UnresolvableHost(host, "the resolver found no address")
        return list(dict.fromkeys(found))  # getaddrinfo repeats an address per protocol


class GuardedBackend(httpcore.AsyncNetworkBackend):
    """An httpcore network backend that dials only addresses its guard has just vetted."""

    def __init__(self, guard: AddressGuard, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._guard = guard
        self._inner = inner if inner is not None else httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: httpcore.ConnectError | None = None
        # Tried in the resolver's order, one at a time: the inner backend gets an address literal, so
        # nothing resolves the name again between the check and the connect.
        for address in await self._guard.addresses(host, port):
            try:
                return await self._inner.connect_tcp(
                    str(address), port, timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None  # addresses() never returns an empty list
        raise failure

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


class GuardedTransport(httpx.AsyncBaseTransport):
    """An httpx transport over an httpcore pool whose every new connection goes through `GuardedBackend`.

    httpx.AsyncHTTPTransport takes no network backend (httpx 0.28), so this is the public way in. It
    never uses a proxy: a proxy would connect, on our behalf, to addresses we never saw.
    """

    def __init__(self, guard: AddressGuard, *, limits: httpx.Limits) -> None:
        self._pool = httpcore.AsyncConnectionPool(
            # trust_env=False as in the client: certificates come from certifi, not the environment.
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(guard),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(request.stream, httpx.AsyncByteStream):
            raise TypeError("GuardedTransport needs an async request body")
        core_request = httpcore.Request(
            method=request.method,
            url=httpcore.URL(
                scheme=request.url.raw_scheme,
                host=request.url.raw_host,
                port=request.url.port,
                target=request.url.raw_path,
            ),
            headers=request.headers.raw,
            content=request.stream,
            extensions=request.extensions,  # carries the timeouts
        )
        with _as_httpx_errors():
            response = await self._pool.handle_async_request(core_request)
        if not isinstance(response.stream, AsyncIterable):
            raise TypeError("httpcore answered with a synchronous stream")
        return httpx.Response(
            status_code=response.status,
            headers=response.headers,
            stream=_ResponseStream(response.stream),
            extensions=response.extensions,
        )

    async def aclose(self) -> None:
        await self._pool.aclose()


class _ResponseStream(httpx.AsyncByteStream):
    # Streams the body as it arrives (the fetcher's size limit and deadline rely on that).
    def __init__(self, stream: AsyncIterable[bytes]) -> None:
        self._stream = stream

    async def __aiter__(self) -> AsyncIterator[bytes]:
        with _as_httpx_errors():
            async for part in self._stream:
                yield part

    async def aclose(self) -> None:
        close = getattr(self._stream, "aclose", None)
        if close is not None:
            await close()  # returns the connection to the pool, or closes it mid-body


# The most specific httpx error for each httpcore one, so callers catch httpx errors as usual.
_HTTPX_ERRORS: dict[type[Exception], type[httpx.TransportError]] = {
    httpcore.ConnectTimeout: httpx.ConnectTimeout,
    httpcore.ReadTimeout: httpx.ReadTimeout,
    httpcore.WriteTimeout: httpx.WriteTimeout,
    httpcore.PoolTimeout: httpx.PoolTimeout,
    httpcore.TimeoutException: httpx.TimeoutException,
    httpcore.ConnectError: httpx.ConnectError,
    httpcore.ReadError: httpx.ReadError,
    httpcore.WriteError: httpx.WriteError,
    httpcore.NetworkError: httpx.NetworkError,
    httpcore.RemoteProtocolError: httpx.RemoteProtocolError,
    httpcore.LocalProtocolError: httpx.LocalProtocolError,
    httpcore.ProtocolError: httpx.ProtocolError,
    httpcore.UnsupportedProtocol: httpx.UnsupportedProtocol,
}


@contextmanager
def _as_httpx_errors() -> Iterator[None]:
    try:
        yield
    except Exception as exc:
        # ForbiddenAddress and UnresolvableHost are not in the table and pass through unchanged.
        mapped = next((_HTTPX_ERRORS[kind] for kind in type(exc).__mro__ if kind in _HTTPX_ERRORS), None)
        if mapped is None:
            raise
        raise mapped(str(exc)) from exc


def _ascii_key(host: str) -> str:
    key = host_key(host)
    try:
        return httpx.URL(scheme="http", host=key).raw_host.decode("ascii").lower()
    except (httpx.InvalidURL, UnicodeError):
        return key

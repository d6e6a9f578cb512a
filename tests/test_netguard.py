"""The address guard and its httpcore network backend, against real sockets on 127.0.0.1."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

import httpcore
import pytest

from bot.ingest.netguard import AddressGuard, ForbiddenAddress, GuardedBackend, UnresolvableHost, ip_literal

PUBLIC = "93.184.216.34"  # a global address no test ever connects to


class DialLog(httpcore.AsyncNetworkBackend):
    """The network edge: records every address dialled, connects to loopback, and refuses anything
    else the way an offline machine would, so no test reaches the internet."""

    def __init__(self) -> None:
        self.dialled: list[str] = []
        self._real = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        self.dialled.append(host)
        if not ipaddress.ip_address(host).is_loopback:
            raise httpcore.ConnectError(f"no route to {host} in tests")
        return await self._real.connect_tcp(host, port, timeout)


def answering(*addresses: str) -> Any:
    lookups: list[str] = []

    def resolve(host: str, port: int) -> Sequence[str]:
        lookups.append(host)
        return addresses

    resolve.lookups = lookups  # type: ignore[attr-defined]
    return resolve


@pytest.fixture
def listener() -> Iterator[socket.socket]:
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield server


def connections_waiting(listener: socket.socket) -> int:
    # A completed TCP handshake sits in the accept queue, so after connect_tcp returns or raises
    # this sees every connection that was made, without waiting.
    listener.setblocking(False)
    count = 0
    while True:
        try:
            connection, _ = listener.accept()
        except BlockingIOError:
            return count
        connection.close()
        count += 1


@pytest.mark.parametrize(
    "answer", [[PUBLIC, "127.0.0.1"], ["127.0.0.1", PUBLIC], [PUBLIC, "169.254.169.254", "127.0.0.1"]]
)
async def test_backend_refuses_a_name_with_any_private_address_before_dialling_any(
    listener: socket.socket, answer: list[str]
) -> None:
    # Checking only the address about to be dialled would dial PUBLIC first, then fall back to a
    # private one; every answer has to pass before the first dial.
    inner = DialLog()
    backend = GuardedBackend(AddressGuard(resolve=answering(*answer)), inner)
    with pytest.raises(ForbiddenAddress) as caught:
        await backend.connect_tcp("mixed.example", listener.getsockname()[1])
    assert str(caught.value.address) != PUBLIC
    assert "mixed.example resolves to" in str(caught.value)
    assert inner.dialled == []
    assert connections_waiting(listener) == 0


async def test_backend_dials_the_address_it_resolved_once_never_the_name(listener: socket.socket) -> None:
    resolve = answering("127.0.0.1")
    inner = DialLog()
    backend = GuardedBackend(AddressGuard(allowed_private_hosts=["feeds.internal"], resolve=resolve), inner)
    stream = await backend.connect_tcp("feeds.internal", listener.getsockname()[1])
    await stream.aclose()
    assert inner.dialled == ["127.0.0.1"]
    assert resolve.lookups == ["feeds.internal"]
    assert connections_waiting(listener) == 1


async def test_backend_tries_the_next_checked_address_when_one_refuses(listener: socket.socket) -> None:
    inner = DialLog()
    guard = AddressGuard(allowed_private_hosts=["feeds.internal"], resolve=answering(PUBLIC, "127.0.0.1"))
    stream = await GuardedBackend(guard, inner).connect_tcp("feeds.internal", listener.getsockname()[1])
    await stream.aclose()
    assert inner.dialled == [PUBLIC, "127.0.0.1"]
    assert connections_waiting(listener) == 1


async def test_backend_refuses_a_private_literal_without_a_lookup(listener: socket.socket) -> None:
    resolve = answering(PUBLIC)
    inner = DialLog()
    with pytest.raises(ForbiddenAddress) as caught:
        await GuardedBackend(AddressGuard(resolve=resolve), inner).connect_tcp(
            "2130706433", listener.getsockname()[1]
        )
    assert (str(caught.value.address), caught.value.kind) == ("127.0.0.1", "loopback")
    assert (resolve.lookups, inner.dialled) == ([], [])
    assert connections_waiting(listener) == 0


async def test_a_failing_resolver_is_an_unresolvable_host() -> None:
    def fail(host: str, port: int) -> Sequence[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(UnresolvableHost, match=r"could not resolve nowhere\.example: .*not known"):
        await AddressGuard(resolve=fail).addresses("nowhere.example", 80)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("017700000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0x7f.0.0.1", "127.0.0.1"),
        ("0X7F000001", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("10.1", "10.0.0.1"),
        ("127.0.0.1.", "127.0.0.1"),
        ("[::1]", "::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
        ("0.0.0.0", "0.0.0.0"),
        ("example.com", None),
        ("1.2.3.4.5", None),
        ("127.0.0.1.example", None),
        ("0xcafe.example", None),
        ("999.0.0.1", None),
    ],
)
def test_ip_literal_reads_every_spelling_a_resolver_would(host: str, address: str | None) -> None:
    found = ip_literal(host)
    assert (str(found) if found is not None else None) == address


def test_allowed_hosts_match_in_any_case_with_a_final_dot_and_in_idna_form() -> None:
    guard = AddressGuard(allowed_private_hosts=["Feeds.Internal.", "bücher.internal", "[::1]"])
    assert guard.allows_private("feeds.internal")
    assert guard.allows_private("xn--bcher-kva.internal")
    assert guard.allows_private("bücher.internal")
    assert guard.allows_private("::1")
    assert not guard.allows_private("other.internal")

"""The safe fetcher against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import socket
import threading
from collections.abc import AsyncIterator, Sequence
from http.server import BaseHTTPRequestHandler

import httpx
import pytest

from bot.ingest.fetch import (
    BadScheme,
    BadURL,
    BlockedAddress,
    Fetcher,
    FetchError,
    FetchTimeout,
    HTTPStatusError,
    NetworkError,
    TooLarge,
    TooManyRedirects,
    forbidden_kind,
    redact_url,
)
from tests.servers.web import Recorded, WebServer, add_fixtures, respond

LOOPBACK = ["127.0.0.1"]
PUBLIC = "93.184.216.34"  # a global address no test ever connects to


class ScriptedResolver:
    """A DNS stand-in: answers the scripted lists in turn (the last one repeats) and records lookups."""

    def __init__(self, *answers: Sequence[str]) -> None:
        self.answers = answers
        self.lookups: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.lookups.append(host)
        if not self.answers:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.answers[min(len(self.lookups), len(self.answers)) - 1]


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    async with Fetcher(allowed_private_hosts=LOOPBACK, timeout=5, max_bytes=1_000_000) as instance:
        yield instance


async def _error(fetcher: Fetcher, url: str) -> FetchError:
    with pytest.raises(FetchError) as caught:
        await fetcher.fetch(url)
    return caught.value


async def test_fetch_returns_body_type_and_validators(web_server: WebServer, fetcher: Fetcher) -> None:
    url = web_server.add(
        "/feed.xml",
        b"<rss/>",
        content_type="application/rss+xml",
        etag='"v1"',
        last_modified="Mon, 01 Jan 2024 00:00:00 GMT",
    )
    result = await fetcher.fetch(url)
    assert (result.status, result.content, result.url) == (200, b"<rss/>", url)
    assert (result.content_type, result.etag) == ("application/rss+xml", '"v1"')
    assert result.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert not result.not_modified


async def test_user_agent_is_sent(web_server: WebServer) -> None:
    url = web_server.add("/ua", b"ok")
    async with Fetcher(allowed_private_hosts=LOOPBACK, user_agent="newsbrief-test/1") as fetcher:
        await fetcher.fetch(url)
    assert web_server.requests_for("/ua")[0].headers["user-agent"] == "newsbrief-test/1"


async def test_matching_etag_gives_not_modified_and_was_sent(web_server: WebServer, fetcher: Fetcher) -> None:
    url = web_server.add("/feed", b"<rss>body</rss>", etag='"abc"')
    result = await fetcher.fetch(url, etag='"abc"')
    assert result.not_modified
    assert (result.status, result.content, result.etag) == (304, b"", '"abc"')
    assert web_server.requests_for("/feed")[0].headers["If-None-Match"] == '"abc"'


async def test_changed_etag_gives_the_new_body(web_server: WebServer, fetcher: Fetcher) -> None:
    url = web_server.add("/feed", b"<rss>new</rss>", etag='"new"')
    result = await fetcher.fetch(url, etag='"old"')
    assert (result.not_modified, result.content, result.etag) == (False, b"<rss>new</rss>", '"new"')


async def test_last_modified_gives_not_modified_and_was_sent(web_server: WebServer, fetcher: Fetcher) -> None:
    stamp = "Tue, 02 Jan 2024 10:00:00 GMT"
    url = web_server.add("/feed", b"<rss/>", last_modified=stamp)
    result = await fetcher.fetch(url, last_modified=stamp)
    assert result.not_modified
    assert result.last_modified == stamp
    assert web_server.requests_for("/feed")[0].headers["if-modified-since"] == stamp


async def test_not_modified_answers_reuse_the_pooled_connection(
    web_server: WebServer, fetcher: Fetcher
) -> None:
    url = web_server.add("/feed", b"<rss/>" * 100, etag='"e"')
    for _ in range(3):
        assert (await fetcher.fetch(url, etag='"e"')).not_modified
    ports = {request.client_port for request in web_server.requests_for("/feed")}
    assert len(ports) == 1


async def test_text_uses_the_declared_legacy_charset(web_server: WebServer, fetcher: Fetcher) -> None:
    urls = add_fixtures(web_server)
    koi8 = await fetcher.fetch(urls["feeds/newsru.com.koi8-r.rss.xml"])
    assert "Новости" in koi8.text
    snippet = await fetcher.fetch(urls["pages/arabic-news-snippet.windows-1256.no-charset.html"])
    assert snippet.content_type == "text/html"
    assert "كتائب" in snippet.text


@pytest.mark.timeout(15)
async def test_slow_server_hits_the_deadline(web_server: WebServer) -> None:
    url = web_server.add("/slow", b"late", delay=30)
    async with Fetcher(allowed_private_hosts=LOOPBACK, timeout=0.5) as fetcher:
        error = await _error(fetcher, url)
    assert isinstance(error, FetchTimeout)
    assert error.reason == "timeout"
    assert "0.5 s" in str(error)


@pytest.mark.timeout(15)
async def test_trickling_server_hits_the_total_deadline(web_server: WebServer) -> None:
    # A byte every 0.1 s never trips a per-read timeout of 1 s; only a deadline on the whole fetch does.
    url = web_server.add("/trickle", b"x" * 1000, trickle=0.1)
    async with Fetcher(allowed_private_hosts=LOOPBACK, timeout=1) as fetcher:
        error = await _error(fetcher, url)
    assert error.reason == "timeout"
    assert len(web_server.requests_for("/trickle")) == 1


async def test_body_over_the_limit_is_refused(web_server: WebServer) -> None:
    url = web_server.add("/big", b"x" * 2000, chunked=True)
    async with Fetcher(allowed_private_hosts=LOOPBACK, max_bytes=1000) as fetcher:
        error = await _error(fetcher, url)
        exact = await fetcher.fetch(web_server.add("/exact", b"y" * 1000, chunked=True))
    assert isinstance(error, TooLarge)
    assert "1000-byte limit" in str(error)
    assert len(exact.content) == 1000


@pytest.mark.timeout(15)
async def test_content_length_over_the_limit_is_refused_before_reading(web_server: WebServer) -> None:
    # The server promises 10 MB and sends 5 bytes: a fetcher that read the body would wait and time out.
    url = web_server.add("/huge", b"small", headers={"Content-Length": "10000000"})
    async with Fetcher(allowed_private_hosts=LOOPBACK, timeout=3, max_bytes=1_000_000) as fetcher:
        error = await _error(fetcher, url)
    assert isinstance(error, TooLarge)
    assert "Content-Length" in str(error)


async def test_gzip_bomb_is_refused_by_its_decompressed_size(web_server: WebServer) -> None:
    url = web_server.add("/bomb", b"\0" * 20_000_000, gzip=True)
    async with Fetcher(allowed_private_hosts=LOOPBACK, max_bytes=1_000_000) as fetcher:
        error = await _error(fetcher, url)
    assert isinstance(error, TooLarge)


async def test_gzip_body_within_the_limit_is_decompressed(web_server: WebServer, fetcher: Fetcher) -> None:
    url = web_server.add("/gz", "روسيا وكوريا".encode() * 100, gzip=True)
    result = await fetcher.fetch(url)
    assert result.text == "روسيا وكوريا" * 100


async def test_redirects_are_followed_to_the_final_url(web_server: WebServer, fetcher: Fetcher) -> None:
    final = web_server.add("/final", b"done")
    web_server.redirect("/b", "/final", status=301)
    start = web_server.redirect("/a", web_server.url("/b"), status=307)
    result = await fetcher.fetch(start)
    assert (result.url, result.content) == (final, b"done")


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{port}/secret",
        "http://[::1]:{port}/secret",
        "http://169.254.169.254/latest/meta-data/",
        "http://0.0.0.0:{port}/",
        "http://2130706433:{port}/",
        "http://10.0.0.1/",
        "http://[::ffff:127.0.0.1]:{port}/",
        "http://0x7f.1:{port}/secret",
        "http://127.1:{port}/secret",
        "http://017700000001:{port}/secret",
    ],
)
async def test_redirect_to_a_private_address_is_refused(web_server: WebServer, target: str) -> None:
    start = f"http://localhost:{web_server.port}/go"
    web_server.redirect("/go", target.format(port=web_server.port))
    web_server.add("/secret", b"internal")
    async with Fetcher(allowed_private_hosts=["localhost"]) as fetcher:
        error = await _error(fetcher, start)
    assert isinstance(error, BlockedAddress)
    assert "FETCH_ALLOWED_PRIVATE_HOSTS" in str(error)
    assert web_server.requests_for("/secret") == []


@pytest.mark.parametrize(
    "target", ["file:///etc/passwd", "javascript:alert(1)", "data:text/html,<b>x</b>", "ftp://x/"]
)
async def test_redirect_to_another_scheme_is_refused(
    web_server: WebServer, fetcher: Fetcher, target: str
) -> None:
    url = web_server.redirect("/go", target)
    error = await _error(fetcher, url)
    assert isinstance(error, BadScheme)
    assert error.reason == "bad-scheme"
    assert "only http and https" in str(error)


@pytest.mark.parametrize("url", ["file:///etc/passwd", "javascript:alert(1)", "data:,x", "gopher://h/"])
async def test_other_schemes_are_refused_up_front(fetcher: Fetcher, url: str) -> None:
    assert (await _error(fetcher, url)).reason == "bad-scheme"


@pytest.mark.parametrize("url", ["http://", "http://[::1/", "not a url at all", ""])
async def test_malformed_urls_are_bad_url_or_bad_scheme(fetcher: Fetcher, url: str) -> None:
    assert (await _error(fetcher, url)).reason in {"bad-url", "bad-scheme"}


async def test_loopback_is_refused_by_default(web_server: WebServer) -> None:
    url = web_server.add("/feed", b"<rss/>")
    async with Fetcher() as fetcher:
        error = await _error(fetcher, url)
    assert isinstance(error, BlockedAddress)
    assert (error.reason, error.address) == ("blocked-address", "127.0.0.1")
    assert "127.0.0.1" in str(error)
    assert "loopback" in str(error)
    assert web_server.requests == []


async def test_allowed_private_host_is_fetched(web_server: WebServer) -> None:
    url = web_server.add("/feed", b"<rss/>")
    async with Fetcher(allowed_private_hosts=["LOCALHOST."]) as fetcher:
        result = await fetcher.fetch(url.replace("127.0.0.1", "localhost"))
    assert result.content == b"<rss/>"


async def test_redirect_loop_is_refused(web_server: WebServer, fetcher: Fetcher) -> None:
    web_server.redirect("/a", "/b")
    url = web_server.redirect("/b", "/a")
    error = await _error(fetcher, url)
    assert isinstance(error, TooManyRedirects)
    assert "loop" in str(error)


async def test_redirects_beyond_the_limit_are_refused(web_server: WebServer) -> None:
    web_server.add("/3", b"end")
    for hop in range(3):
        web_server.redirect(f"/{hop}", f"/{hop + 1}")
    async with Fetcher(allowed_private_hosts=LOOPBACK, max_redirects=3) as fetcher:
        assert (await fetcher.fetch(web_server.url("/0"))).content == b"end"
    async with Fetcher(allowed_private_hosts=LOOPBACK, max_redirects=2) as fetcher:
        error = await _error(fetcher, web_server.url("/0"))
    assert error.reason == "too-many-redirects"
    assert len(web_server.requests_for("/3")) == 1  # reached by the first fetcher only


@pytest.mark.parametrize("status", [404, 410, 500, 503])
async def test_error_statuses_carry_the_status(web_server: WebServer, fetcher: Fetcher, status: int) -> None:
    url = web_server.add("/x", b"nope", status=status, headers={"Retry-After": "120"})
    error = await _error(fetcher, url)
    assert isinstance(error, HTTPStatusError)
    assert (error.reason, error.status, error.retry_after) == ("http-status", status, "120")
    assert str(status) in str(error)


async def test_redirect_without_location_is_a_status_error(web_server: WebServer, fetcher: Fetcher) -> None:
    url = web_server.add("/x", b"", status=302)
    assert (await _error(fetcher, url)).reason == "http-status"


async def test_refused_connection_is_a_network_error(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    error = await _error(fetcher, f"http://127.0.0.1:{port}/")
    assert isinstance(error, NetworkError)


async def test_server_that_hangs_up_is_a_network_error(web_server: WebServer, fetcher: Fetcher) -> None:
    def hang_up(handler: BaseHTTPRequestHandler, request: Recorded) -> None:
        handler.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this")
        handler.close_connection = True

    error = await _error(fetcher, web_server.handler("/cut", hang_up))
    assert error.reason == "network"


async def test_credentials_never_appear_in_messages(web_server: WebServer) -> None:
    web_server.add("/missing", b"", status=404)
    base = f"http://reader:hunter2-pw@127.0.0.1:{web_server.port}"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    urls = [
        f"{base}/missing",
        f"{base}/feed?token=tok-123456&page=2",
        f"http://reader:hunter2-pw@127.0.0.1:{closed}/",
        "http://reader:hunter2-pw@[::1/",
    ]
    errors = []
    async with Fetcher(allowed_private_hosts=LOOPBACK) as fetcher:
        errors += [await _error(fetcher, url) for url in urls]
    async with Fetcher() as fetcher:
        errors.append(await _error(fetcher, f"{base}/missing"))
    assert {error.reason for error in errors} == {"http-status", "network", "bad-url", "blocked-address"}
    for error in errors:
        assert "hunter2" not in str(error) and "hunter2" not in error.url
        assert "tok-123456" not in str(error)


async def test_url_credentials_are_sent_as_basic_auth_but_not_reported(
    web_server: WebServer, fetcher: Fetcher
) -> None:
    web_server.add("/private", b"ok")
    result = await fetcher.fetch(f"http://reader:pw@127.0.0.1:{web_server.port}/private")
    assert web_server.requests_for("/private")[0].headers["authorization"].startswith("Basic ")
    assert result.url == web_server.url("/private")


def test_redact_url_masks_credentials_and_secret_parameters() -> None:
    assert (
        redact_url("https://u:p@example.com/f?api_key=s3cret&x=1")
        == "https://example.com/f?api_key=%2A%2A%2A&x=1"
    )
    assert redact_url("javascript:alert(document.cookie)") == "a javascript: URL"


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("169.254.169.254", "link-local"),
        ("10.1.2.3", "private"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "non-public"),
        ("::ffff:192.168.0.1", "private"),
        ("64:ff9b::7f00:1", "loopback"),
        ("2002:7f00:1::", "loopback"),
        ("8.8.8.8", None),
        ("2606:4700:4700::1111", None),
    ],
)
def test_forbidden_kind_classifies_addresses(address: str, kind: str | None) -> None:
    import ipaddress

    assert forbidden_kind(ipaddress.ip_address(address)) == kind


async def test_transport_option_is_used_for_requests() -> None:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=b"mocked"))
    async with Fetcher(allowed_private_hosts=LOOPBACK, transport=transport) as fetcher:
        assert (await fetcher.fetch("http://127.0.0.1/x")).content == b"mocked"


async def test_rebinding_dns_answer_at_connect_time_is_refused_and_never_reaches_the_server(
    web_server: WebServer,
) -> None:
    # The first lookup (the hop check) sees a public address, the next (the connection) 127.0.0.1. The
    # name is "localhost", so a fetcher that let httpx resolve it again would reach the server.
    resolver = ScriptedResolver([PUBLIC], ["127.0.0.1"])
    web_server.add("/secret", b"internal")
    async with Fetcher(resolve=resolver, timeout=5) as fetcher:
        error = await _error(fetcher, f"http://localhost:{web_server.port}/secret")
    assert isinstance(error, BlockedAddress)
    assert (error.address, "loopback" in str(error)) == ("127.0.0.1", True)
    assert resolver.lookups == ["localhost", "localhost"]  # the connection looked up through the guard
    assert web_server.requests == []


@pytest.mark.parametrize("answer", [[PUBLIC, "127.0.0.1"], ["127.0.0.1", PUBLIC], [PUBLIC, "10.0.0.7"]])
async def test_a_name_with_one_private_address_among_public_ones_is_refused(
    web_server: WebServer, answer: list[str]
) -> None:
    web_server.add("/secret", b"internal")
    async with Fetcher(resolve=ScriptedResolver(answer), timeout=5) as fetcher:
        error = await _error(fetcher, f"http://mixed.example:{web_server.port}/secret")
    assert isinstance(error, BlockedAddress)
    assert error.address == next(address for address in answer if address != PUBLIC)
    assert "mixed.example" in str(error) and "FETCH_ALLOWED_PRIVATE_HOSTS" in str(error)
    assert web_server.requests == []


@pytest.mark.parametrize(
    ("host", "kind"),
    [
        ("[::1]", "loopback"),
        ("[0:0:0:0:0:0:0:1]", "loopback"),
        ("[::ffff:127.0.0.1]", "loopback"),
        ("[::ffff:7f00:1]", "loopback"),
        ("0.0.0.0", "unspecified"),
        ("[::]", "unspecified"),
        ("2130706433", "loopback"),
        ("017700000001", "loopback"),
        ("0x7f.1", "loopback"),
        ("0x7f000001", "loopback"),
        ("127.1", "loopback"),
        ("127.0.0.1.", "loopback"),
        ("0177.0.0.1", None),  # httpx itself refuses the octal dotted quad as an invalid URL
    ],
)
async def test_every_spelling_of_a_private_address_is_refused_without_a_dns_lookup(
    web_server: WebServer, host: str, kind: str | None
) -> None:
    # The resolver would answer public: a literal that reached it could be waved through.
    resolver = ScriptedResolver([PUBLIC])
    web_server.add("/secret", b"internal")
    async with Fetcher(resolve=resolver, timeout=5) as fetcher:
        error = await _error(fetcher, f"http://{host}:{web_server.port}/secret")
    if kind is None:
        assert error.reason == "bad-url"
    else:
        assert isinstance(error, BlockedAddress)
        assert f"a {kind} address" in str(error)
    assert resolver.lookups == []
    assert web_server.requests == []


async def test_allowed_private_name_is_dialled_at_its_resolved_address_and_sent_as_host(
    web_server: WebServer,
) -> None:
    # feeds.internal exists only in this resolver: the connection cannot have asked the system.
    resolver = ScriptedResolver(["127.0.0.1"])
    web_server.add("/feed", b"<rss/>")
    async with Fetcher(allowed_private_hosts=["feeds.internal"], resolve=resolver) as fetcher:
        result = await fetcher.fetch(f"http://feeds.internal:{web_server.port}/feed")
    assert result.content == b"<rss/>"
    assert web_server.requests_for("/feed")[0].headers["host"] == f"feeds.internal:{web_server.port}"
    assert resolver.lookups == ["feeds.internal"]  # allowed: no hop check, one lookup to connect


async def test_an_allowed_internationalized_name_is_allowed_in_its_idna_form_too(
    web_server: WebServer,
) -> None:
    # The connection only ever sees xn--bcher-kva.internal; the setting says bücher.internal.
    resolver = ScriptedResolver(["127.0.0.1"])
    web_server.add("/feed", b"<rss/>")
    async with Fetcher(allowed_private_hosts=["bücher.internal"], resolve=resolver) as fetcher:
        result = await fetcher.fetch(f"http://bücher.internal:{web_server.port}/feed")
    assert result.content == b"<rss/>"
    assert resolver.lookups == ["xn--bcher-kva.internal"]


async def test_a_refused_address_falls_back_to_the_next_checked_address(web_server: WebServer) -> None:
    # The server listens on 127.0.0.1 only, so 127.0.0.2 refuses the connection.
    resolver = ScriptedResolver(["127.0.0.2", "127.0.0.1"])
    web_server.add("/feed", b"<rss/>")
    async with Fetcher(allowed_private_hosts=["feeds.internal"], resolve=resolver) as fetcher:
        result = await fetcher.fetch(f"http://feeds.internal:{web_server.port}/feed")
    assert result.content == b"<rss/>"
    assert len(web_server.requests_for("/feed")) == 1


@pytest.mark.timeout(30)
async def test_tls_names_the_host_in_sni_while_dialling_the_checked_address() -> None:
    hello = bytearray()
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(10)  # a fetcher that never connects fails the test instead of hanging it
        thread = threading.Thread(target=_read_client_hello, args=(listener, hello), daemon=True)
        thread.start()
        resolver = ScriptedResolver(["127.0.0.1"])
        port = listener.getsockname()[1]
        async with Fetcher(allowed_private_hosts=["feeds.internal"], resolve=resolver) as fetcher:
            error = await _error(fetcher, f"https://feeds.internal:{port}/feed")
        thread.join(timeout=10)
    assert error.reason == "network"  # the listener hangs up after the ClientHello
    assert hello[:1] == b"\x16"  # a TLS handshake record
    assert b"feeds.internal" in hello  # the server_name extension carries the name, not 127.0.0.1


def _read_client_hello(listener: socket.socket, into: bytearray) -> None:
    connection, _ = listener.accept()
    with connection:
        connection.settimeout(10)
        while len(into) < 5 or len(into) < 5 + int.from_bytes(into[3:5], "big"):
            chunk = connection.recv(65536)
            if not chunk:
                return
            into += chunk


@pytest.mark.parametrize(
    "resolver",
    [ScriptedResolver(), ScriptedResolver([]), ScriptedResolver(["not-an-address"])],
    ids=["lookup-fails", "no-answer", "garbage-answer"],
)
async def test_a_failed_lookup_is_a_network_error_naming_the_host(resolver: ScriptedResolver) -> None:
    async with Fetcher(resolve=resolver) as fetcher:
        error = await _error(fetcher, "https://reader:hunter2-pw@feeds.example/rss")
    assert isinstance(error, NetworkError)
    assert "could not resolve feeds.example for https://feeds.example/rss" in str(error)
    assert "hunter2" not in str(error)


async def test_proxy_settings_in_the_environment_are_ignored(
    web_server: WebServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A proxy would connect, on our behalf, to addresses the guard never saw.
    web_server.add("/feed", b"direct")
    with WebServer() as proxy:
        for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "all_proxy"):
            monkeypatch.setenv(name, proxy.base_url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        async with Fetcher(allowed_private_hosts=LOOPBACK) as fetcher:
            result = await fetcher.fetch(web_server.url("/feed"))
        assert proxy.requests == []
    assert result.content == b"direct"


def test_nonsense_options_are_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        Fetcher(timeout=0)
    assert BadURL.reason == "bad-url"


async def test_web_server_custom_handler_sees_the_request(web_server: WebServer) -> None:
    url = web_server.handler("/echo", lambda handler, request: respond(handler, 201, request.body[::-1]))
    async with httpx.AsyncClient() as client:
        response = await client.post(url + "?q=1", content=b"abc", headers={"X-Test": "yes"})
    assert (response.status_code, response.content) == (201, b"cba")
    (request,) = web_server.requests_for("/echo?q=1")
    assert (request.method, request.body, request.headers["x-test"]) == ("POST", b"abc", "yes")

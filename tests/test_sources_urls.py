"""Canonical URLs: one key for every link to the same article."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.ingest.sources.urls import InvalidUrl, canonical_url, is_http_url, redacted


@pytest.mark.parametrize(
    ("url", "canonical"),
    [
        ("HTTP://Example.COM:80/a/b", "http://example.com/a/b"),
        ("https://Example.com:443/a", "https://example.com/a"),
        ("https://example.com:8443/a", "https://example.com:8443/a"),
        ("https://example.com/a#comments", "https://example.com/a"),
        ("https://example.com/a?b=2&a=1", "https://example.com/a?a=1&b=2"),
        (
            "https://example.com/a?utm_source=tw&utm_medium=social&utm_campaign=x&id=5"
            "&fbclid=F&gclid=G&mc_cid=C&mc_eid=E&yclid=Y&ref=home",
            "https://example.com/a?id=5",
        ),
        ("http://www.heise.de/a.html?wt_mc=rss.developer.beitrag.atom", "http://www.heise.de/a.html"),
        ("https://example.com/news/story/amp", "https://example.com/news/story"),
        ("https://example.com/news/story/amp/", "https://example.com/news/story"),
        ("https://example.com/news/amp/amp", "https://example.com/news"),
        ("https://example.com/news/story?outputType=amp", "https://example.com/news/story"),
        (
            "https://example.com/ar/مقال?q=كوريا",
            "https://example.com/ar/%D9%85%D9%82%D8%A7%D9%84?q=%D9%83%D9%88%D8%B1%D9%8A%D8%A7",
        ),
        ("  https://example.com/a  ", "https://example.com/a"),
    ],
)
def test_canonical_url_folds_variants_of_one_address(url: str, canonical: str) -> None:
    assert canonical_url(url) == canonical


def test_the_same_article_from_feed_share_and_amp_links_has_one_key() -> None:
    links = [
        "https://news.example/world/lavrov-wonsan",
        "https://News.Example/world/lavrov-wonsan?utm_source=telegram#top",
        "https://news.example:443/world/lavrov-wonsan/amp",
        "https://news.example/world/lavrov-wonsan?fbclid=abc&outputType=amp",
    ]

    assert {canonical_url(link) for link in links} == {"https://news.example/world/lavrov-wonsan"}


@pytest.mark.parametrize(
    "url", ["javascript:alert(1)", "ftp://example.com/a", "/relative/path", "", "http://"]
)
def test_canonical_url_refuses_what_is_not_an_http_url(url: str) -> None:
    with pytest.raises(InvalidUrl, match="not an absolute http"):
        canonical_url(url)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.com/a", True),
        ("HTTP://example.com", True),
        ("https://[::1]:8080/", True),
        ("javascript:alert(1)", False),
        ("mailto:a@example.com", False),
        ("file:///etc/passwd", False),
        ("/seeds", False),
        ("https://", False),
        ("http://[::1", False),
        ("", False),
    ],
)
def test_is_http_url(url: str, expected: bool) -> None:
    assert is_http_url(url) is expected


@given(
    host=st.from_regex(r"[a-z]{1,10}\.(com|org|ae)", fullmatch=True),
    path=st.lists(st.from_regex(r"[a-zA-Z0-9_-]{1,8}", fullmatch=True), max_size=3),
    params=st.dictionaries(
        st.from_regex(r"[a-z]{1,6}", fullmatch=True),
        st.from_regex(r"[a-z0-9]{1,6}", fullmatch=True),
        max_size=4,
    ),
)
def test_canonical_url_is_idempotent(host: str, path: list[str], params: dict[str, str]) -> None:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    url = f"https://{host}/{'/'.join(path)}" + (f"?{query}" if query else "")

    once = canonical_url(url)

    assert canonical_url(once) == once


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://user:hunter2@feeds.example:8443/rss?token=s3cret#x", "https://feeds.example:8443/rss"),
        ("http://[::1", "(an invalid URL)"),
    ],
)
def test_redacted_urls_keep_no_credentials_or_tokens(url: str, shown: str) -> None:
    assert redacted(url) == shown

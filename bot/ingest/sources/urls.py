"""Canonical article URLs, so the same article reached through different links is stored once."""

from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

# courlan already drops utm_*, fbclid, gclid, mc_cid, mc_eid, yclid, ref, source, ...; these are the
# news-site trackers it does not know.
_EXTRA_TRACKERS = re.compile(r"^(?:wt_mc|wt_zmc|ocid|cmpid|ncid|smid|sr_share|at_[a-z]+|__twitter_\w+|ito)$")
_AMP_QUERY = {("outputtype", "amp"), ("amp", "1"), ("amp", "true"), ("amp", "")}
_AMP_PATH_SUFFIX = re.compile(r"(?:/amp)+/?$", re.IGNORECASE)


class InvalidUrl(ValueError):
    """A URL that is not an absolute http(s) URL."""


def is_http_url(url: str) -> bool:
    """True for an absolute http:// or https:// URL with a host."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except (ValueError, AttributeError):
        return False
    return parts.scheme.lower() in ("http", "https") and bool(host)


def redacted(url: str) -> str:
    """`url` fit for a message or a log: no user, password, query or fragment (they may hold tokens)."""
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname or ""
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "(an invalid URL)"
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))[:200]


def canonical_url(url: str) -> str:
    """The key form of an http(s) URL: lower-case scheme and host, no default port, fragment,
    tracking parameters or AMP marker, remaining query parameters sorted."""
    from courlan import normalize_url  # with its network stack: only when a URL is stored

    if not is_http_url(url):
        raise InvalidUrl(f"not an absolute http(s) URL: {url[:200]!r}")
    try:
        normalized = normalize_url(url.strip())
    except ValueError as error:
        raise InvalidUrl(f"cannot normalize URL {url[:200]!r}: {error}") from None
    parts = urlsplit(normalized)
    query = [
        (key, value)
        for key, value in parse_qsl(parts.query, keep_blank_values=True)
        if not _EXTRA_TRACKERS.match(key.lower()) and (key.lower(), value.lower()) not in _AMP_QUERY
    ]
    return urlunsplit((parts.scheme, parts.netloc, _without_amp(parts.path), urlencode(query), ""))


def _without_amp(path: str) -> str:
    if not _AMP_PATH_SUFFIX.search(path):
        return path
    return _AMP_PATH_SUFFIX.sub("", path) or "/"

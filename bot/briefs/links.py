"""Addresses of the public web pages (PUBLIC_BASE_URL), for links from chat messages."""

from __future__ import annotations


def story_url(base: str, story_id: int, lang: str) -> str | None:
    """The story's page, or None when no public address is configured."""
    return f"{base.rstrip('/')}/stories/{story_id}.{lang}" if base else None


def brief_url(base: str, brief_id: int) -> str | None:
    """The brief's page, or None when no public address is configured."""
    return f"{base.rstrip('/')}/briefs/{brief_id}" if base else None

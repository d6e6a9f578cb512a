"""The one exception type the text package raises."""

from __future__ import annotations


class TextError(ValueError):
    """Input the text functions cannot work on (for example bytes instead of str)."""


def require_str(value: object, *, name: str = "text") -> str:
    """Return `value` when it is a str, else raise TextError naming what arrived instead."""
    if not isinstance(value, str):
        raise TextError(f"{name} must be a str, got {type(value).__name__}; decode bytes first")
    return value

"""The `newsbrief` command: a thin layer over the service functions."""

from __future__ import annotations

from bot.cli.root import app, main

__all__ = ["app", "main"]

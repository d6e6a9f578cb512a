"""Fixture modules shared by the whole suite (local stand-ins for every outside service)."""

from __future__ import annotations

import importlib.util

# Each stand-in module defines its own pytest fixture; register those that exist.
pytest_plugins = [
    name
    for name in (
        "tests.servers.web",
        "tests.servers.openai_stub",
        "tests.servers.telegram_stub",
        "tests.servers.slack_stub",
    )
    if importlib.util.find_spec(name) is not None
]

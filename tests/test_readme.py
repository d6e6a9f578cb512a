"""The README is the front door: every command and every setting must be documented there."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer.main

from bot.cli import app
from bot.config import Settings

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")


def _command_paths(command: Any, prefix: str = "newsbrief") -> list[str]:
    # Typer vendors its own click, so groups are recognised by their subcommands.
    if getattr(command, "commands", None):
        paths = []
        for name, sub in command.commands.items():
            paths.extend(_command_paths(sub, f"{prefix} {name}"))
        return paths
    return [prefix]


def test_every_command_is_documented_in_the_readme() -> None:
    missing = [path for path in _command_paths(typer.main.get_command(app)) if f"`{path}" not in README]
    assert missing == []


def test_every_setting_is_documented_in_the_readme() -> None:
    missing = [name.upper() for name in Settings.model_fields if f"`{name.upper()}`" not in README]
    assert missing == []


def test_readme_gives_the_demo_and_test_commands() -> None:
    assert "newsbrief demo" in README
    assert "pytest" in README

"""Helpers shared by the command modules: context, output, errors."""

from __future__ import annotations

import getpass
import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, NoReturn

import typer

if TYPE_CHECKING:  # `--help` and argument errors must not wait for the database layer to load
    from bot.config import Settings
    from bot.context import Context

_state: dict[str, Any] = {}


def settings() -> Settings:
    if "settings" not in _state:
        from bot.config import Settings

        _state["settings"] = Settings()
    settings: Settings = _state["settings"]
    return settings


def context() -> Context:
    """The application context, built on first use by a command."""
    if "context" not in _state:
        from bot.app import build_context, configure_logging

        configure_logging(settings(), quiet=True)
        _state["context"] = build_context(settings())
    ctx: Context = _state["context"]
    return ctx


def reset() -> None:
    """Forget the cached settings and context (tests run several commands in one process)."""
    ctx = _state.pop("context", None)
    if ctx is not None:
        ctx.db.dispose()
    _state.clear()


def actor() -> str:
    return f"cli:{getpass.getuser()}"


def fail(message: str, code: int = 1) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def emit_json(data: Any) -> None:
    typer.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


@contextmanager
def user_errors(*kinds: type[Exception]) -> Iterator[None]:
    """Turn expected failures into a one-line message on stderr and a non-zero exit."""
    try:
        yield
    except kinds as error:
        fail(str(error))


def table(
    rows: list[dict[str, Any]], columns: list[str], render: Callable[[str, Any], str] | None = None
) -> None:
    """Plain aligned columns (readable in a terminal and in logs alike)."""
    if not rows:
        typer.echo("(none)")
        return
    cells = [[(render(c, r.get(c)) if render else _cell(r.get(c))) for c in columns] for r in rows]
    widths = [max(len(c), *(len(row[i]) for row in cells)) for i, c in enumerate(columns)]
    typer.echo("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip())
    for row in cells:
        typer.echo("  ".join(v.ljust(w) for v, w in zip(row, widths, strict=True)).rstrip())


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:59] + "…"


def is_terminal() -> bool:
    return sys.stderr.isatty()

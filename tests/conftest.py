"""Shared fixtures: databases (SQLite always, PostgreSQL when TEST_DATABASE_URL is set) and settings."""

from __future__ import annotations

import logging
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import text

from bot.config import Settings
from storage.db import Database, make_engine

pytest_plugins = ["tests.plugins"]

REPO = Path(__file__).resolve().parents[1]
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"
SEEDS = REPO / "seeds"


def _backends() -> list[str]:
    return ["sqlite", "postgres"] if os.environ.get("TEST_DATABASE_URL") else ["sqlite"]


@pytest.fixture(params=_backends())
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """A migrated, empty database on each backend under test."""
    if request.param == "sqlite":
        database = Database(f"sqlite:///{tmp_path / 'test.db'}")
        database.upgrade()
        yield database
        database.dispose()
        return
    yield from postgres_database(os.environ["TEST_DATABASE_URL"])


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """A migrated SQLite database, for tests that need only one backend."""
    database = Database(f"sqlite:///{tmp_path / 'test.db'}")
    database.upgrade()
    yield database
    database.dispose()


def postgres_schema_url(url: str, schema: str) -> str:
    """`url` confined to one schema, for this process and the processes a test starts."""
    return f"{url}{'&' if '?' in url else '?'}options=-csearch_path%3D{schema}"


def postgres_database(url: str) -> Iterator[Database]:
    """A migrated schema of its own on the PostgreSQL at `url`, dropped afterwards."""
    # A schema per test keeps tests independent without dropping the shared database.
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = make_engine(url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    database = Database(postgres_schema_url(url, schema))
    try:
        database.upgrade()
        yield database
    finally:
        database.dispose()
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., Result]]:
    """Run `newsbrief` commands in-process on a fresh data folder, offline and without embeddings."""
    from typer.testing import CliRunner

    from bot.cli import app, common

    monkeypatch.chdir(tmp_path)  # no stray .env is read
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("EMBEDDER", "none")
    for name in ("LLM_BASE_URL", "EMBEDDING_MODEL"):
        monkeypatch.delenv(name, raising=False)
    runner = CliRunner()

    def invoke(*args: str) -> Result:
        common.reset()
        result = runner.invoke(app, list(args))
        common.reset()
        return result

    yield invoke
    common.reset()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings isolated from the developer's environment and .env file."""
    return Settings(_env_file=None, data_dir=tmp_path / "data", fetch_allowed_private_hosts=["127.0.0.1"])


# Secrets the suite configures for the stand-ins; none may ever reach a log line (tests/test_logging.py
# checks the masking itself with secrets of its own).
SUITE_SECRETS = (
    "123456:TEST-token-for-the-stand-in",
    "xoxb-test-token",
    "test-signing-secret",
    "sk-test-DO-NOT-LEAK-7f3a9c",
    "sk-very-secret-key",
)


class _LogRecorder(logging.Handler):
    """Every log line of the run, formatted as a handler would write it (tracebacks included)."""

    def __init__(self) -> None:
        super().__init__(level=logging.NOTSET)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
        self.leaks: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        try:
            line = self.format(record)
        except Exception:  # a record that cannot be formatted is still checked as raw text
            line = f"{record.msg} {record.args}"
        if any(secret in line for secret in SUITE_SECRETS):
            self.leaks.append(line[:300])


@pytest.fixture(scope="session", autouse=True)
def no_secret_in_any_log_line() -> Iterator[None]:
    """Grep every log line the whole run writes for the suite's secrets."""
    recorder = _LogRecorder()
    root = logging.getLogger()
    root.addHandler(recorder)
    yield
    root.removeHandler(recorder)
    assert recorder.leaks == [], f"secrets in {len(recorder.leaks)} log line(s): {recorder.leaks[:3]}"

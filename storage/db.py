"""Engines, sessions and migrations. Nothing here runs at import time."""

from __future__ import annotations

import functools
import logging
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

T = TypeVar("T")

APPLICATION_NAME = "newsbrief"


def normalize_url(url: str) -> str:
    """Select psycopg 3 for plain postgresql:// URLs."""
    parsed = make_url(url)
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed.render_as_string(hide_password=False)


def is_sqlite(engine: Engine) -> bool:
    return engine.dialect.name == "sqlite"


def make_engine(url: str, **options: Any) -> Engine:
    """An engine for `url`; SQLite gets WAL, foreign keys and a folder to live in."""
    url = normalize_url(url)
    parsed = make_url(url)
    if parsed.drivername.startswith("sqlite"):
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30}, **options)
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    # Pre-ping: a pooled connection the server dropped (a restart) is replaced before use, not failed on.
    # The application name shows our sessions in pg_stat_activity; a name in the URL wins.
    connect_args = {} if "application_name" in parsed.query else {"application_name": APPLICATION_NAME}
    return create_engine(url, pool_pre_ping=True, connect_args=connect_args, **options)


def is_transient(error: BaseException) -> bool:
    """Whether `error` is the database being away for a moment (restart, cut connection, lock), not a bug:
    the unit of work rolled back and may be tried again."""
    return isinstance(error, OperationalError) or (
        isinstance(error, DBAPIError) and bool(error.connection_invalidated)
    )


def retry_transient(
    work: Callable[[], T],
    *,
    attempts: int = 3,
    backoff: float = 0.5,
    sleep: Callable[[float], Any] = time.sleep,
) -> T:
    """Run `work` (one whole transaction), again after a transient database error, up to `attempts` times.

    The pool has been invalidated by then, so a retry gets a fresh connection; a server that is still
    restarting gets a short backoff. The last error is raised.
    """
    for attempt in range(1, attempts + 1):
        try:
            return work()
        except Exception as error:
            if attempt == attempts or not is_transient(error):
                raise
            log.warning("database unavailable, retrying: %s", describe_db_error(error))
            sleep(backoff * 2 ** (attempt - 1))
    raise AssertionError("unreachable")


def describe_db_error(error: BaseException) -> str:
    """The driver's first line, without SQLAlchemy's statement and parameters (which may carry user data)."""
    cause = error.orig if isinstance(error, DBAPIError) and error.orig is not None else error
    first = (str(cause).strip().splitlines() or [""])[0]
    return f"{type(cause).__name__}: {first}"[:300]


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


class Database:
    """An engine and its session factory, passed down from the composition root."""

    def __init__(self, url: str, **options: Any) -> None:
        self.engine = make_engine(url, **options)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.engine)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def upgrade(self, revision: str = "head") -> None:
        """Apply the Alembic migrations up to `revision`."""
        if revision == "head" and self._at_head():
            return  # every start migrates: the common case must not pay for loading Alembic
        from alembic import command

        with self.engine.begin() as connection:
            config = alembic_config(connection)
            command.upgrade(config, revision)

    def _at_head(self) -> bool:
        """Whether the database is at the newest shipped revision, read without Alembic."""
        try:
            with self.engine.connect() as connection:
                current = (
                    connection.exec_driver_sql("SELECT version_num FROM alembic_version").scalars().all()
                )
        except DBAPIError:  # a new database: no version table yet
            return False
        return current == [head_revision()]

    def current_revision(self) -> str | None:
        from alembic.runtime.migration import MigrationContext

        with self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def dispose(self) -> None:
        self.engine.dispose()


_REVISION = re.compile(r'^(down_revision|revision)\s*(?::[^=]*)?=\s*["\']?([\w-]+)["\']?', re.M)


@functools.cache
def head_revision() -> str:
    """The one revision no other shipped migration builds on (the tree has a single head)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for path in (resources.files("storage") / "migrations" / "versions").iterdir():
        if not path.name.endswith(".py"):
            continue
        found = dict((key, value) for key, value in _REVISION.findall(path.read_text(encoding="utf-8")))
        if "revision" in found:
            revisions.add(found["revision"])
            parents.add(found.get("down_revision", "None"))
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"the migrations must have one head, found {sorted(heads)}")
    return heads.pop()


def alembic_config(connection: Any = None) -> Any:
    """An Alembic config pointing at the migrations shipped inside this package."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(resources.files("storage") / "migrations"))
    config.attributes["connection"] = connection
    return config


# Objects that live outside the models: the lexical index (0002_search) and APScheduler's job table.
UNMODELLED = ("passages_fts", "terms_tsv", "ix_passages_terms_tsv", "apscheduler_jobs")


def include_object(obj: object, name: str | None, type_: str, reflected: bool, compare_to: object) -> bool:
    """Leave objects the models do not describe out of autogenerate comparisons."""
    return not (name and name.startswith(UNMODELLED))

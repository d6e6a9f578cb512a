"""Which process runs the scheduled jobs: one leader among all the `newsbrief run` processes.

On PostgreSQL leadership is a session-level advisory lock held on a dedicated connection: when the
leader dies, even by kill -9, the server closes its session and frees the lock, and the next candidate
to retry takes it. On SQLite only one process may run at all (a `flock` on a file next to the database,
which the kernel releases when the process dies), so that process always leads.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import IO

from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.db import Database

log = logging.getLogger(__name__)

# The advisory lock's first key (any fixed number); the second is the schema's hash, so deployments
# (or test runs) sharing one database in different schemas do not compete.
LEADER_LOCK_CLASS = 0x6E657773
DEFAULT_TIMEOUT = 15.0

Hook = Callable[[], Awaitable[None]]


class AlreadyRunning(Exception):
    """Another `newsbrief run` holds the SQLite database."""


def sqlite_path(db: Database) -> Path | None:
    """The file of a SQLite database (None in memory or on another database)."""
    if not db.is_sqlite:
        return None
    name = db.engine.url.database
    return Path(name) if name and name != ":memory:" else None


def hold_sqlite(db: Database) -> IO[str] | None:
    """Lock the SQLite file for this process, or raise AlreadyRunning; keep the returned file open."""
    path = sqlite_path(db)
    if path is None:
        return None
    lock_path = path.with_name(path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    handle = lock_path.open("a+", encoding="utf-8")
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        handle.close()
        raise AlreadyRunning(
            f"another `newsbrief run` is using {path}; SQLite allows one process only — "
            "several processes need PostgreSQL (set DATABASE_URL)"
        ) from None
    handle.truncate(0)
    handle.write(f"{os.getpid()}\n")
    handle.flush()
    return handle


class Leadership:
    """Campaigns for leadership every `timeout / 3` seconds and calls `on_gain` / `on_loss` on changes."""

    def __init__(
        self,
        db: Database,
        *,
        timeout: float = DEFAULT_TIMEOUT,
        on_gain: Hook | None = None,
        on_loss: Hook | None = None,
        key: int = LEADER_LOCK_CLASS,
    ) -> None:
        self.db, self.key = db, key
        self.retry = max(0.1, timeout / 3)
        self.on_gain, self.on_loss = on_gain, on_loss
        self.is_leader = False
        self._connection: Connection | None = None
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        """Hold or seek leadership until stopped."""
        while not self._stopping.is_set():
            holds = await asyncio.to_thread(self._check)
            if holds != self.is_leader:
                log.info("leadership %s", "gained" if holds else "lost")
                await self._change(holds)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.retry)

    async def _change(self, holds: bool) -> None:
        # Leading is announced only once the jobs run, and withdrawn before they stop.
        if not holds:
            self.is_leader = False
        hook = self.on_gain if holds else self.on_loss
        if hook is not None:
            await hook()
        self.is_leader = holds

    async def stop(self) -> None:
        """Stop campaigning and give the lock up, so another process takes over at once."""
        self._stopping.set()
        if self.is_leader and self.on_loss is not None:
            await self.on_loss()
        self.is_leader = False
        await asyncio.to_thread(self._close)

    def _check(self) -> bool:
        """Whether this process leads now: always on SQLite, else the advisory lock is ours."""
        if self.db.is_sqlite:
            return True
        try:
            if self._connection is None:
                self._connection = self.db.engine.connect()
                # autocommit: the lock belongs to the session, and no transaction stays open.
                self._connection = self._connection.execution_options(isolation_level="AUTOCOMMIT")
            if self.is_leader:
                self._connection.execute(text("SELECT 1"))  # the lock lives as long as this session
                return True
            query = text("SELECT pg_try_advisory_lock(CAST(:key AS integer), hashtext(current_schema()))")
            return bool(self._connection.execute(query, {"key": self.key}).scalar())
        except Exception as error:  # the database went away: whatever we held is gone with the session
            log.warning("leadership check failed: %s", type(error).__name__)
            self._close()
            return False

    def _close(self) -> None:
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.invalidate()  # closing the session frees the advisory lock
                connection.close()

"""The shared database under the data layer: one SQLAlchemy engine per URL, and the store's write lock.

Two back ends behind the same calls:
- SQLite, the file access.sqlite3 in the data directory (the default: nothing to install, one machine); the
  write lock is a lock file next to it (.write.lock), which holds between processes of one host;
- PostgreSQL, when JUNHENG_DATABASE_URL is set (postgresql+psycopg://…): several app servers on several hosts
  share it; the write lock is a session-level advisory lock (pg_advisory_lock), which PostgreSQL releases by
  itself when the holder's connection ends (a killed server never leaves the store locked).

The tables (accounts, sessions, the audit log) are declared by junheng/access/database.py, above this layer.
"""
from __future__ import annotations

import threading
import time
import zlib
from pathlib import Path
from typing import TYPE_CHECKING

from filelock import FileLock, Timeout

from junheng import settings

if TYPE_CHECKING:
    import sqlalchemy as sa

# SQLAlchemy is imported where an engine is made: reading the data (a fresh server's first page) never needs it,
# and it took 0.15 s of that page's start-up.
LOCK_NAME = ".write.lock"
# One database serves one store; every writer of that store asks for this key.
ADVISORY_KEY = zlib.crc32(b"junheng.store.write")
POLL_S = 0.1
TRY_LOCK = "select pg_try_advisory_lock(:key)"
UNLOCK = "select pg_advisory_unlock(:key)"

_engines: dict[str, sa.Engine] = {}
_guard = threading.Lock()


def url(data_dir: Path) -> str:
    """JUNHENG_DATABASE_URL, or the SQLite file access.sqlite3 in the data directory."""
    return settings.get("JUNHENG_DATABASE_URL") or f"sqlite:///{Path(data_dir).resolve() / 'access.sqlite3'}"


def is_shared(data_dir: Path | None = None) -> bool:
    """Whether a server database (PostgreSQL) is configured rather than the embedded file."""
    return not url(data_dir or Path(".")).startswith("sqlite")


def engine(data_dir: Path) -> sa.Engine:
    """The engine for the data directory's database (cached per URL)."""
    import sqlalchemy as sa
    key = url(data_dir)
    with _guard:
        if key not in _engines:
            if key.startswith("sqlite"):
                Path(data_dir).mkdir(parents=True, exist_ok=True)
                eng = sa.create_engine(key, connect_args={"timeout": 30})
                sa.event.listen(eng, "connect", _sqlite_pragmas)
            else:
                eng = sa.create_engine(key, pool_pre_ping=True)
            _engines[key] = eng
        return _engines[key]


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("pragma journal_mode=wal")  # readers never wait for a writer
    cursor.execute("pragma foreign_keys=on")
    cursor.close()


def dispose() -> None:
    """Close every engine (tests that remove a data directory or a database)."""
    with _guard:
        for eng in _engines.values():
            eng.dispose()
        _engines.clear()


def write_lock(data_dir: Path, timeout: float):
    """The store's write lock: an advisory lock in PostgreSQL when configured, else a lock file in the data
    directory. Entering waits up to timeout seconds, then raises filelock.Timeout."""
    if is_shared(data_dir):
        return AdvisoryLock(engine(data_dir), timeout)
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    return FileLock(str(Path(data_dir) / LOCK_NAME), timeout=timeout)


class AdvisoryLock:
    """pg_advisory_lock held on a connection of its own for as long as the block runs."""

    def __init__(self, eng: sa.Engine, timeout: float):
        self.engine, self.timeout, self.connection = eng, timeout, None

    def __enter__(self):
        import sqlalchemy as sa
        connection = self.engine.connect()
        deadline = time.monotonic() + max(self.timeout, 0)
        try:
            while True:
                got = connection.execute(sa.text(TRY_LOCK), {"key": ADVISORY_KEY}).scalar_one()
                connection.commit()  # no transaction stays open while the lock is held
                if got:
                    self.connection = connection
                    return self
                if time.monotonic() >= deadline:
                    raise Timeout(f"advisory lock {ADVISORY_KEY}")
                time.sleep(POLL_S)
        except BaseException:
            connection.close()
            raise

    def __exit__(self, *exc):
        import sqlalchemy as sa
        connection, self.connection = self.connection, None
        try:
            connection.execute(sa.text(UNLOCK), {"key": ADVISORY_KEY})
            connection.commit()
        except sa.exc.DBAPIError:  # the connection is gone, and the lock with it: never pool it again
            connection.invalidate()
        finally:
            connection.close()
        return False


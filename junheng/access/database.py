"""The shared database for accounts, sessions, failed logins and the audit log (and, for several app servers,
the version catalog and the import lock): one SQLAlchemy interface, two back ends.

- SQLite, a file in the data directory (the default: nothing to install, one machine);
- PostgreSQL, when JUNHENG_DATABASE_URL is set (postgresql+psycopg://…): several app servers share it, and its
  transactions and advisory locks work across hosts.
"""
from __future__ import annotations

import os
import threading
import zlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

import sqlalchemy as sa

from junheng.data import backend

metadata = sa.MetaData()

accounts = sa.Table(
    "accounts", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("password_hash", sa.String(256), nullable=True),  # None: single sign-on only
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("region", sa.String(6), nullable=False),            # '' the whole country
    sa.Column("disabled", sa.Boolean, nullable=False, default=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
)

sessions = sa.Table(
    "sessions", metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("account", sa.String(64), sa.ForeignKey("accounts.name"), nullable=False),
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
    sa.Column("ticket", sa.String(64), nullable=True),  # one-time: exchanged once for the browser's cookie
)

# A login attempt is written here before its password is checked and deleted again when the password was right:
# the rows left are the failures (junheng/access/accounts.py verify).
login_failures = sa.Table(
    "login_failures", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("key", sa.String(128), nullable=False, index=True),  # 'user:<name>' or 'ip:<address>'
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
)

audit = sa.Table(
    "audit", metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
    sa.Column("account", sa.String(64), nullable=False),
    sa.Column("region", sa.String(6), nullable=False),
    sa.Column("action", sa.String(32), nullable=False),
    sa.Column("details", sa.Text, nullable=False),  # JSON
)

# API tokens (junheng/access/tokens.py): a token acts as an account named `token:NAME` with this role and region.
# Only the token's SHA-256 is kept: a copy of the database does not hand out working tokens.
api_tokens = sa.Table(
    "api_tokens", metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("role", sa.String(16), nullable=False),
    sa.Column("region", sa.String(6), nullable=False),            # '' the whole country
    sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    sa.Column("revoked", sa.Boolean, nullable=False, default=False),
)

# The audit log is append-only at the database itself: an update or delete is refused whatever the caller.
APPEND_ONLY = {
    "sqlite": [
        "create trigger if not exists audit_no_update before update on audit "
        "begin select raise(abort, 'the audit log is append-only'); end",
        "create trigger if not exists audit_no_delete before delete on audit "
        "begin select raise(abort, 'the audit log is append-only'); end",
    ],
    "postgresql": [
        "create or replace function audit_append_only() returns trigger language plpgsql as "
        "$$ begin raise exception 'the audit log is append-only'; end $$",
        "drop trigger if exists audit_no_change on audit",
        "create trigger audit_no_change before update or delete on audit "
        "for each row execute function audit_append_only()",
    ],
}

_ready: set[str] = set()
_lock = threading.Lock()
# PostgreSQL's two-number advisory locks are a key space apart from the store's one-number lock (data/backend.py);
# the first number says which kind of key the second is.
KEYED_LOCK_SPACE = 7001


def url(data_dir: Path) -> str:
    """JUNHENG_DATABASE_URL, or the SQLite file access.sqlite3 in the data directory."""
    return backend.url(data_dir)


def engine(data_dir: Path) -> sa.Engine:
    """The engine for the data directory's database, its tables created on first use."""
    eng = backend.engine(data_dir)
    key = str(eng.url)
    with _lock:
        if key not in _ready:
            with eng.begin() as con:
                if eng.dialect.name == "postgresql":  # servers starting at once must not race to create the tables
                    con.execute(sa.text("select pg_advisory_xact_lock(:key)"), {"key": backend.ADVISORY_KEY + 1})
                metadata.create_all(con)
                for statement in APPEND_ONLY.get(eng.dialect.name, []):
                    con.exec_driver_sql(statement)
            if eng.dialect.name == "sqlite":
                os.chmod(Path(data_dir) / "access.sqlite3", 0o600)  # password hashes: the owner only
            _ready.add(key)
        return eng


@contextmanager
def serialized(data_dir: Path, keys: Iterable[str]) -> Iterator[sa.Connection]:
    """A transaction that runs alone among those naming any of the same keys, committed when the block ends.

    SQLite: BEGIN IMMEDIATE, the database's one writer from the first statement (a reader's count cannot be
    overtaken by another writer before this one writes). PostgreSQL: a transaction-level advisory lock per key,
    taken in one order so that two transactions never wait on each other, released at commit or rollback."""
    eng = engine(data_dir)
    with eng.connect() as con:
        if eng.dialect.name == "sqlite":
            # pysqlite would begin a deferred transaction only at the first write; this begins a writing one now
            con.exec_driver_sql("begin immediate")
        else:
            for key in sorted({_lock_number(k) for k in keys}):
                con.execute(sa.text("select pg_advisory_xact_lock(:space, :key)"),
                            {"space": KEYED_LOCK_SPACE, "key": key})
        try:
            yield con
        except BaseException:
            con.rollback()
            raise
        con.commit()


def _lock_number(key: str) -> int:
    """A key's advisory lock number: its CRC-32 as the signed 32-bit integer PostgreSQL's int4 expects."""
    value = zlib.crc32(key.encode())
    return value - 2**32 if value >= 2**31 else value


def dispose() -> None:
    """Close every engine (tests that remove a data directory)."""
    with _lock:
        _ready.clear()
    backend.dispose()

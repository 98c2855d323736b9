"""Signed-in sessions that survive a reload and a pasted link: a signed, expiring, HttpOnly cookie naming a
server-side session, which log-out, a disabled account or a new password ends at once.

Every script run checks its session again (`check`): a tab left open loses its rights at its next click once
the session is ended elsewhere. The answer is kept for CHECK_SECONDS per session in this process, so a burst of
reruns costs one query; an end or revoke made in this process forgets it at once, one made by another process
(the command line, another app server) is seen within CHECK_SECONDS.

The secret that signs cookies is generated on first start and kept in the data directory (owner-only).
A Streamlit script cannot set a cookie, so a login creates the session with a one-time ticket; the page
exchanges the ticket for the cookie at the app's own route (junheng/tools/serve.py), once.
"""
from __future__ import annotations

import os
import secrets
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from cachetools import TTLCache
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from junheng import settings
from junheng.access.database import accounts, engine, sessions, url
from junheng.access.roles import Account
from junheng.access.routes import COOKIE, LOGOUT_ROUTE, SESSION_ROUTE  # noqa: F401 — the cookie, the routes

TICKET_SECONDS = 120
CHECK_SECONDS = 2  # how stale a tab's view of its session may be when it was ended by another process
# (database URL, 'sid' or 'name', session id or account name) -> (account or None, message key or None)
_checked: TTLCache = TTLCache(maxsize=10_000, ttl=CHECK_SECONDS)
_checked_lock = threading.Lock()  # script runs are threads; a TTLCache is not safe across them


def hours() -> int:
    return int(settings.get("JUNHENG_SESSION_HOURS"))


def secret(data_dir: Path) -> bytes:
    """The cookie-signing secret: 32 random bytes made on first use, readable by the owner only."""
    path = Path(data_dir) / "secret.key"
    if not path.exists():
        # several servers may start at once on a shared data directory: the secret appears whole or not at all
        # (written under a private name, then linked, which fails for all but the first)
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        draft = path.with_name(f".secret.key.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as f:
            f.write(secrets.token_bytes(32))
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(draft, path)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    os.chmod(path, 0o600)
    return path.read_bytes()


def _signer(data_dir: Path) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret(data_dir), salt="junheng-session")


def _now() -> datetime:
    return datetime.now(UTC)


def start(data_dir: Path, account: Account) -> tuple[str, str]:
    """A new session for account: (its id, the signed one-time ticket the page exchanges for the cookie)."""
    sid, ticket = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with engine(data_dir).begin() as con:
        con.execute(sessions.insert().values(id=sid, account=account.name, created_at=_now(),
                                             expires_at=_now() + timedelta(hours=hours()), revoked=False,
                                             ticket=ticket))
    return sid, _signer(data_dir).dumps({"ticket": ticket})


def exchange(data_dir: Path, signed_ticket: str) -> str | None:
    """The cookie value for a fresh, unused ticket (and the ticket is spent), or None."""
    try:
        ticket = _signer(data_dir).loads(signed_ticket, max_age=TICKET_SECONDS)["ticket"]
    except (BadSignature, SignatureExpired, KeyError, TypeError):
        return None
    with engine(data_dir).begin() as con:
        row = con.execute(sa.select(sessions.c.id).where(sessions.c.ticket == ticket,
                                                         sessions.c.revoked.is_(False))).first()
        if row is None:
            return None
        con.execute(sessions.update().where(sessions.c.id == row[0]).values(ticket=None))
    return _signer(data_dir).dumps({"sid": row[0]})


def account_for(data_dir: Path, cookie: str | None) -> tuple[Account | None, str | None, str | None]:
    """(account, session id, None) for a valid cookie; (None, None, message key) for a tampered, expired or
    ended one; (None, None, None) when there is no cookie at all."""
    if not cookie:
        return None, None, None
    try:
        sid = _signer(data_dir).loads(cookie, max_age=hours() * 3600)["sid"]
    except SignatureExpired:
        return None, None, "session_expired"
    except (BadSignature, KeyError, TypeError):
        return None, None, "session_invalid"
    account, problem = check(data_dir, sid)
    return (account, sid, None) if account is not None else (None, None, problem)


def check(data_dir: Path, sid: str) -> tuple[Account | None, str | None]:
    """The session's account as the database has it now, or (None, why): 'session_ended' for a session logged
    out or revoked, or whose account is disabled or gone; 'session_expired' past its time. At most
    CHECK_SECONDS old."""
    key = (url(data_dir), "sid", sid)
    with _checked_lock:
        if (known := _checked.get(key)) is not None:
            return known
    query = sa.select(sessions.c.revoked, sessions.c.expires_at, accounts).join(
        accounts, accounts.c.name == sessions.c.account).where(sessions.c.id == sid)
    with engine(data_dir).connect() as con:
        row = con.execute(query).mappings().first()
    if row is None or row["revoked"] or row["disabled"]:
        answer = None, "session_ended"
    elif _aware(row["expires_at"]) < _now():
        answer = None, "session_expired"
    else:
        answer = Account(row["name"], row["role"], row["region"], row["disabled"]), None
    with _checked_lock:
        _checked[key] = answer
    return answer


def account_named(data_dir: Path, name: str) -> Account | None:
    """An account as the database has it now (a single sign-on's, re-read each script run), at most
    CHECK_SECONDS old."""
    key = (url(data_dir), "name", name)
    with _checked_lock:
        if (known := _checked.get(key)) is not None:
            return known[0]
    with engine(data_dir).connect() as con:
        row = con.execute(sa.select(accounts).where(accounts.c.name == name)).mappings().first()
    account = Account(row["name"], row["role"], row["region"], row["disabled"]) if row else None
    with _checked_lock:
        _checked[key] = account, None
    return account


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # SQLite keeps no zone: written in UTC


def _forget(data_dir: Path, sid: str | None = None, name: str | None = None) -> None:
    """Drop this process's remembered answers for a session, or for an account and every session it has."""
    database_url = url(data_dir)
    with _checked_lock:
        for key, (account, _) in list(_checked.items()):
            named = account is not None and account.name == name or key[1:] == ("name", name)
            if key[0] == database_url and (key[1:] == ("sid", sid) or (name is not None and named)):
                _checked.pop(key, None)


def cookie_session(data_dir: Path, cookie: str | None) -> str | None:
    """The session id a (validly signed) cookie names, or None."""
    try:
        return _signer(data_dir).loads(cookie or "", max_age=hours() * 3600)["sid"]
    except (BadSignature, SignatureExpired, KeyError, TypeError):
        return None


def end(data_dir: Path, sid: str | None) -> None:
    """Log-out: the session ends (a cookie naming it becomes worthless)."""
    if sid:
        with engine(data_dir).begin() as con:
            con.execute(sessions.update().where(sessions.c.id == sid).values(revoked=True))
        _forget(data_dir, sid=sid)


def revoke_all(data_dir: Path, name: str) -> None:
    """Every session of the account ends (disabled, or a new password)."""
    with engine(data_dir).begin() as con:
        con.execute(sessions.update().where(sessions.c.account == name).values(revoked=True))
    _forget(data_dir, name=name)

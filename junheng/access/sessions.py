"""Signed-in sessions that survive a reload and a pasted link: a signed, expiring, HttpOnly cookie naming a
server-side session, which log-out, a disabled account or a new password ends at once.

The secret that signs cookies is generated on first start and kept in the data directory (owner-only).
A Streamlit script cannot set a cookie, so a login creates the session with a one-time ticket; the page
exchanges the ticket for the cookie at the app's own route (junheng/tools/serve.py), once.
"""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

import sqlalchemy as sa
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from junheng import settings
from junheng.access.accounts import Account, get
from junheng.access.database import engine, sessions
from junheng.access.routes import COOKIE, LOGOUT_ROUTE, SESSION_ROUTE  # noqa: F401 — the cookie, the routes
TICKET_SECONDS = 120


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
    return datetime.now(timezone.utc)


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
    with engine(data_dir).connect() as con:
        row = con.execute(sa.select(sessions).where(sessions.c.id == sid)).mappings().first()
    if row is None or row["revoked"]:
        return None, None, "session_ended"
    expires = row["expires_at"] if row["expires_at"].tzinfo else row["expires_at"].replace(tzinfo=timezone.utc)
    if expires < _now():
        return None, None, "session_expired"
    account = get(data_dir, row["account"])
    if account is None or account.disabled:
        return None, None, "session_ended"
    return account, sid, None


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


def revoke_all(data_dir: Path, name: str) -> None:
    with engine(data_dir).begin() as con:
        con.execute(sessions.update().where(sessions.c.account == name).values(revoked=True))

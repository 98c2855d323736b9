"""API tokens: a bearer token acts as an account `token:NAME` with a role and a region, until revoked.

The token itself is shown once, when it is made; the database keeps its SHA-256 only (a token is 32 random
bytes, so a plain hash suffices: there is nothing to guess that a slow hash would protect). Not authorized, not
audited: call junheng.commands.tokens."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import UTC, datetime
from pathlib import Path

import sqlalchemy as sa

from junheng.access.accounts import NAME, ROLES, Account, AccountError
from junheng.access.database import api_tokens, engine

PREFIX = "token:"  # an account name never holds a colon (accounts.NAME), so a token actor cannot pose as an account


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def actor_name(name: str) -> str:
    return PREFIX + name


def is_token(actor: Account | None) -> bool:
    return actor is not None and actor.name.startswith(PREFIX)


def add(data_dir: Path, name: str, role: str, region: str) -> tuple[Account, str]:
    """A new token: (the account it acts as, the token — shown this once, never stored)."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise AccountError("account_bad_name")
    if role not in ROLES:
        raise AccountError("account_bad_role", roles=" / ".join(ROLES))
    token = secrets.token_urlsafe(32)
    with engine(data_dir).begin() as con:
        if con.execute(sa.select(api_tokens.c.name).where(api_tokens.c.name == name)).first():
            raise AccountError("token_exists", name=name)
        con.execute(api_tokens.insert().values(name=name, token_hash=digest(token), role=role, region=region,
                                               created_at=datetime.now(UTC), revoked=False))
    return Account(actor_name(name), role, region), token


def get(data_dir: Path, name: str) -> Account | None:
    """The account a token acts as, by the token's name (with or without the `token:` prefix); revoked tokens
    come back disabled."""
    name = name[len(PREFIX):] if name.startswith(PREFIX) else name
    with engine(data_dir).connect() as con:
        row = con.execute(sa.select(api_tokens).where(api_tokens.c.name == name)).mappings().first()
    return Account(actor_name(row["name"]), row["role"], row["region"], row["revoked"]) if row else None


def find(data_dir: Path, token: str) -> Account | None:
    """The account a presented token acts as, or None (unknown or revoked)."""
    if not token or len(token) > 256:
        return None
    wanted = digest(token)
    with engine(data_dir).connect() as con:
        row = con.execute(sa.select(api_tokens).where(api_tokens.c.token_hash == wanted)).mappings().first()
    if row is None or row["revoked"] or not hmac.compare_digest(row["token_hash"], wanted):
        return None
    return Account(actor_name(row["name"]), row["role"], row["region"])


def listing(data_dir: Path) -> list[dict]:
    """Every token: name, role, region, created_at, revoked (never the hash)."""
    with engine(data_dir).connect() as con:
        rows = con.execute(sa.select(api_tokens.c.name, api_tokens.c.role, api_tokens.c.region,
                                     api_tokens.c.created_at, api_tokens.c.revoked)
                           .order_by(api_tokens.c.name)).mappings().all()
    return [dict(r) for r in rows]


def revoke(data_dir: Path, name: str) -> None:
    with engine(data_dir).begin() as con:
        changed = con.execute(api_tokens.update().where(api_tokens.c.name == name).values(revoked=True)).rowcount
    if not changed:
        raise AccountError("token_unknown", name=name)

"""Local accounts: Argon2 password hashes, failed-login limits, the account rows. Changes are authorized and audited
by junheng/commands/accounts.py, which calls these functions."""
from __future__ import annotations

import ipaddress
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from junheng import settings
from junheng.access import audit
from junheng.access.database import accounts, engine, login_failures, serialized
from junheng.access.roles import ROLES, Account  # noqa: F401 — named here too

NAME = re.compile(r"[A-Za-z0-9_.\-@\u3400-\u9fff]{1,64}")
MIN_PASSWORD = 8
FAILURE_WINDOW = timedelta(minutes=15)
MAX_FAILURES = {"user": 5, "ip": 20}  # failed logins per window before logins from there are refused
_hasher = PasswordHasher()
_DUMMY_HASH = _hasher.hash("never a password")  # unknown names cost the same time as known ones


class AccountError(ValueError):
    """A refused account operation or login; `key` names the message in the translation table."""

    def __init__(self, key: str, **values):
        super().__init__(key)
        self.key, self.values = key, values


def _now() -> datetime:
    return datetime.now(UTC)


def check_region(data_dir: Path, region: str) -> str:
    """The region code if it names the whole country ('') or a real province, prefecture or county."""
    from junheng.data import boundaries
    region = (region or "").strip()
    if region in ("", "0", "000000", "all"):
        return ""
    if not re.fullmatch(r"\d{2}|\d{4}|\d{6}", region):
        raise AccountError("account_bad_region", region=region[:12])
    codes = boundaries.county_table(Path(data_dir))["county_code"]
    if not codes.str.startswith(region).any():
        raise AccountError("account_unknown_region", region=region)
    return region


def client_address(peer: str | None, forwarded_for: str | None) -> str:
    """The address a login counts against: the connection's own (peer; Streamlit gives None for localhost), or,
    for a connection from JUNHENG_TRUSTED_PROXY, the last address in X-Forwarded-For — the one the proxy itself
    appended; the ones before it are whatever the client claimed."""
    proxy = _address(settings.get("JUNHENG_TRUSTED_PROXY"))
    from_proxy = proxy is not None and (_address(peer) == proxy or (peer is None and proxy.is_loopback))
    if from_proxy and forwarded_for and forwarded_for.strip():
        return forwarded_for.split(",")[-1].strip()[:64]
    return peer or ""


def _address(text: str | None):
    """An IP address, IPv4-mapped IPv6 (::ffff:127.0.0.1, as a dual-stack server sees IPv4 peers) as IPv4."""
    try:
        address = ipaddress.ip_address(text or "")
    except ValueError:
        return None
    return getattr(address, "ipv4_mapped", None) or address


def _check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise AccountError("account_bad_name")
    return name


def _check_password(password: str) -> str:
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        raise AccountError("account_short_password", n=MIN_PASSWORD)
    return password


def add(data_dir: Path, name: str, role: str, region: str, password: str) -> Account:
    """Create an account; the name must be new, the role known, the region real. Not authorized, not audited:
    call junheng.commands.accounts.add."""
    name = _check_name(name)
    if role not in ROLES:
        raise AccountError("account_bad_role", roles=" / ".join(ROLES))
    region = check_region(data_dir, region)
    digest = _hasher.hash(_check_password(password))
    with engine(data_dir).begin() as con:
        if con.execute(sa.select(accounts.c.name).where(accounts.c.name == name)).first():
            raise AccountError("account_exists", name=name)
        con.execute(accounts.insert().values(name=name, password_hash=digest, role=role, region=region,
                                             disabled=False, created_at=_now()))
    return Account(name, role, region)


def get(data_dir: Path, name: str) -> Account | None:
    with engine(data_dir).connect() as con:
        row = con.execute(sa.select(accounts).where(accounts.c.name == name)).mappings().first()
    return Account(row["name"], row["role"], row["region"], row["disabled"]) if row else None


def listing(data_dir: Path) -> list[Account]:
    with engine(data_dir).connect() as con:
        rows = con.execute(sa.select(accounts).order_by(accounts.c.name)).mappings().all()
    return [Account(r["name"], r["role"], r["region"], r["disabled"]) for r in rows]


def disable(data_dir: Path, name: str, disabled: bool = True) -> None:
    """Disable (or enable again) an account; its open sessions end at once (junheng.commands.accounts)."""
    from junheng.access import sessions
    with engine(data_dir).begin() as con:
        changed = con.execute(accounts.update().where(accounts.c.name == name).values(disabled=disabled)).rowcount
    if not changed:
        raise AccountError("account_unknown", name=name)
    if disabled:
        sessions.revoke_all(data_dir, name)


def set_password(data_dir: Path, name: str, password: str) -> None:
    """A new password; the account's open sessions end (junheng.commands.accounts)."""
    from junheng.access import sessions
    digest = _hasher.hash(_check_password(password))
    with engine(data_dir).begin() as con:
        changed = con.execute(accounts.update().where(accounts.c.name == name).values(password_hash=digest)).rowcount
    if not changed:
        raise AccountError("account_unknown", name=name)
    sessions.revoke_all(data_dir, name)


def verify(data_dir: Path, name: str, password: str, ip: str = "") -> Account:
    """The account for a name and password, or AccountError: the same message for an unknown name and a
    wrong password (nothing tells which), another once the right password meets a disabled account, and
    'too many attempts' while the name or the address has failed too often. Every attempt is audited.

    The attempt is counted before its password is checked, in one serialized transaction with the count: 40
    wrong guesses sent at once for one name get at most 5 password checks, not 40."""
    name = (name or "").strip()[:64]
    keys = {"user": f"user:{name}", "ip": f"ip:{ip or '-'}"}
    row, attempts, refused = _claim_attempt(data_dir, name, keys)
    if refused:
        audit.record(data_dir, Account(name or "-", "viewer", ""), "login_refused",
                     {"reason": f"too many failed logins ({refused})", "ip": ip})
        raise AccountError("login_too_many", minutes=int(FAILURE_WINDOW.total_seconds() // 60))
    try:
        _hasher.verify(row["password_hash"] if row and row["password_hash"] else _DUMMY_HASH, password or "")
        ok = row is not None and row["password_hash"] is not None
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:  # the attempt's rows stay: they are the failure
        audit.record(data_dir, Account(name or "-", "viewer", ""), "login_failed", {"ip": ip})
        raise AccountError("login_wrong")
    with engine(data_dir).begin() as con:  # the right password: the attempt was no failure
        con.execute(login_failures.delete().where(login_failures.c.id.in_(attempts)))
    account = Account(row["name"], row["role"], row["region"], row["disabled"])
    if account.disabled:
        audit.record(data_dir, account, "login_refused", {"reason": "account disabled", "ip": ip})
        raise AccountError("login_disabled")
    audit.record(data_dir, account, "login", {"ip": ip})
    return account


def _claim_attempt(data_dir: Path, name: str, keys: dict[str, str]):
    """(the account's row or None, the ids of this attempt's rows, None) when the name and the address are both
    under their limits, the attempt then being recorded as a failure until its password proves right; or
    (None, [], the kind that is over its limit). One transaction, serialized per key (database.serialized)."""
    now = _now()
    with serialized(data_dir, keys.values()) as con:
        for kind, key in keys.items():
            failures = con.execute(sa.select(sa.func.count()).select_from(login_failures).where(
                login_failures.c.key == key, login_failures.c.at > now - FAILURE_WINDOW)).scalar_one()
            if failures >= MAX_FAILURES[kind]:
                return None, [], kind
        attempts = [con.execute(login_failures.insert().values(key=key, at=now)).inserted_primary_key[0]
                    for key in keys.values()]
        row = con.execute(sa.select(accounts).where(accounts.c.name == name)).mappings().first()
    return row, attempts, None


# The command line acts as the local system administrator (and is audited as such).
SYSTEM = Account("system", "admin", "")

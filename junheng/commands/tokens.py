"""Token commands: add, list, revoke an API token, and find the account a presented token acts as. A token acts
as an account `token:NAME` (junheng/access/tokens.py); an administrator gives one at most its own role and region,
as it would an account."""
from __future__ import annotations

from pathlib import Path

from junheng.access import audit, tokens
from junheng.access.accounts import Account, AccountError
from junheng.commands.gate import Denied, authorize, contains, granted


def add(data_dir: Path, actor: Account | None, name: str, role: str, region: str) -> tuple[Account, str]:
    """A new token inside the actor's region with at most the actor's role: (the account it acts as, the token)."""
    actor = authorize(data_dir, actor, "admin")
    region = granted(data_dir, actor, role, region)
    made, token = tokens.add(Path(data_dir), name, role, region)
    audit.record(Path(data_dir), actor, "token_add", {"name": name, "role": role, "region": region}, region=region)
    return made, token


def listing(data_dir: Path, actor: Account | None) -> list[dict]:
    """The tokens inside the actor's region: name, role, region, created_at, revoked."""
    actor = authorize(data_dir, actor, "admin")
    return [row for row in tokens.listing(Path(data_dir)) if contains(actor.region, row["region"])]


def revoke(data_dir: Path, actor: Account | None, name: str) -> None:
    """Revoke a token inside the actor's region: its next request is refused."""
    actor = authorize(data_dir, actor, "admin")
    target = tokens.get(Path(data_dir), str(name))
    if target is None or not contains(actor.region, target.region):
        raise AccountError("token_unknown", name=str(name)[:64])
    tokens.revoke(Path(data_dir), target.name[len(tokens.PREFIX):])
    audit.record(Path(data_dir), actor, "token_revoke", {"name": target.name}, region=target.region)


def authenticate(data_dir: Path, token: str | None) -> Account:
    """The account a presented bearer token acts as; Denied('api_no_token' | 'api_bad_token') otherwise (the
    HTTP layer answers 401 to both)."""
    if not token:
        raise Denied("api_no_token")
    actor = tokens.find(Path(data_dir), token)
    if actor is None:
        raise Denied("api_bad_token")
    return actor

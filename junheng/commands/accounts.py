"""Account commands: list, add, disable or enable, new password. An administrator manages only the accounts inside
its own region, and never grants a wider region or a higher role than its own."""
from __future__ import annotations

from pathlib import Path

from junheng.access import accounts, audit
from junheng.access.accounts import Account, AccountError
from junheng.commands.gate import Denied, authorize, contains, granted


def listing(data_dir: Path, actor: Account | None) -> list[Account]:
    """The accounts inside the actor's region (every account for a national administrator)."""
    actor = authorize(data_dir, actor, "admin")
    return [a for a in accounts.listing(Path(data_dir)) if contains(actor.region, a.region)]


def add(data_dir: Path, actor: Account | None, name: str, role: str, region: str, password: str) -> Account:
    """Create an account inside the actor's region with at most the actor's role."""
    actor = authorize(data_dir, actor, "admin")
    region = granted(data_dir, actor, role, region)
    made = accounts.add(Path(data_dir), name, role, region, password)
    audit.record(Path(data_dir), actor, "account_add", {"name": made.name, "role": role, "region": region},
                 region=region)
    return made


def set_disabled(data_dir: Path, actor: Account | None, name: str, disabled: bool = True) -> None:
    """Disable (or enable again) an account inside the actor's region; its open sessions end at once."""
    actor = authorize(data_dir, actor, "admin")
    target = _target(data_dir, actor, name)
    if disabled and target.name == actor.name:
        raise Denied("gate_not_yourself")
    accounts.disable(Path(data_dir), target.name, disabled=disabled)
    audit.record(Path(data_dir), actor, "account_disable" if disabled else "account_enable", {"name": target.name},
                 region=target.region)


def set_password(data_dir: Path, actor: Account | None, name: str, password: str) -> None:
    """A new password for an account inside the actor's region; its open sessions end."""
    actor = authorize(data_dir, actor, "admin")
    target = _target(data_dir, actor, name)
    accounts.set_password(Path(data_dir), target.name, password)
    audit.record(Path(data_dir), actor, "account_password", {"name": target.name}, region=target.region)


def _target(data_dir: Path, actor: Account, name: str) -> Account:
    """The account named, if it lies inside the actor's region; an account outside it is 'unknown' (its
    existence is not the actor's business)."""
    target = accounts.get(Path(data_dir), name)
    if target is None or not contains(actor.region, target.region):
        raise AccountError("account_unknown", name=str(name)[:64])
    return target

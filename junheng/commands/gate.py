"""The one gate: who may do what, where. Every command calls `authorize` before it reads or writes anything."""
from __future__ import annotations

from pathlib import Path

from junheng.access import accounts, tokens
from junheng.access.accounts import ROLES, Account
from junheng.data.scope import REGION
from junheng.i18n import t


class Denied(PermissionError):
    """A refused action; `key` names the message in the translation table (the same for page, CLI and API)."""

    def __init__(self, key: str, **values):
        super().__init__(key)
        self.key, self.values = key, values


def authorize(data_dir: Path, actor: Account | None, role: str | None, regions=()) -> Account | None:
    """The actor as stored now, if it may act with role over every region in regions; else Denied.

    role None: guests too (an action on what everyone may read). The stored account is read again, so a
    disabled, re-roled or re-regioned account loses its rights at once, whatever the caller holds.
    """
    if actor is not None and actor is not accounts.SYSTEM:
        # an API token acts as an account `token:NAME`: re-read from the tokens table, so a revoked token stops
        stored = (tokens.get(Path(data_dir), actor.name) if tokens.is_token(actor)
                  else accounts.get(Path(data_dir), actor.name))
        if stored is None or stored.disabled or (stored.role, stored.region) != (actor.role, actor.region):
            raise Denied("session_ended")
        actor = stored
    if role is not None and (actor is None or not actor.can(role)):
        raise Denied("role_required", role=role)
    own = actor.region if actor is not None else ""
    for region in regions:
        if not contains(own, region):
            raise Denied("gate_outside_region", region=str(region)[:12], own=own or "全国")
    return actor


def contains(outer: str, inner: str) -> bool:
    """Whether region inner lies inside region outer ('' the whole country)."""
    return bool(REGION.fullmatch(inner or "")) and (inner or "").startswith(outer or "")


def grants(actor: Account, role: str, region: str) -> bool:
    """Whether actor may give an account this role and region: never more than its own, never wider."""
    return role in ROLES and actor.can(role) and contains(actor.region, region)


def granted(data_dir: Path, actor: Account, role: str, region: str) -> str:
    """The region code an administrator may give an account or a token with this role (checked to be real), or
    AccountError / Denied: never a wider region or a higher role than the actor's own."""
    region = accounts.check_region(Path(data_dir), region)
    if role not in ROLES:
        raise accounts.AccountError("account_bad_role", roles=" / ".join(ROLES))
    if not grants(actor, role, region):
        raise Denied("gate_grant_refused", region=region or "全国", role=role, own=actor.region or "全国")
    return region


def audit_region(regions) -> str:
    """The narrowest region holding every region touched (its common prefix cut to 2, 4 or 6 digits)."""
    codes = [r for r in regions if r is not None]
    if not codes or any(c == "" for c in codes):
        return ""
    prefix = codes[0]
    for code in codes[1:]:
        while not code.startswith(prefix):
            prefix = prefix[:-1]
    return prefix[:6] if len(prefix) >= 6 else prefix[:4] if len(prefix) >= 4 else prefix[:2] if len(prefix) >= 2 \
        else ""


def message(error: Denied, lang: str) -> str:
    """The refusal in the user's language."""
    values = dict(error.values)
    if "role" in values:
        values["role"] = t(f"role_{values['role']}", lang)
    return t(error.key, lang, **values)

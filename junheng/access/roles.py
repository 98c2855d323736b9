"""Who an actor is: an account's name, role and region (the sessions and the accounts modules both use it)."""
from __future__ import annotations

from dataclasses import dataclass

from junheng.data.scope import Scope

ROLES = ("viewer", "analyst", "admin")  # each can do what the ones before it can


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    region: str  # '' the whole country, else a province, prefecture or county code
    disabled: bool = False

    def can(self, role: str) -> bool:
        """Whether the account has at least this role's rights."""
        return ROLES.index(self.role) >= ROLES.index(role)

    @property
    def scope(self) -> Scope:
        return Scope(self.region)

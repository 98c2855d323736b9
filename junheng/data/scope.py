"""Region scope: what an account (or a guest) may read. It lives beside the query layer, which applies it to every
read of school rows and aggregates before a query runs (junheng/data/db.py), whatever a page or a link asks for."""
from __future__ import annotations

import re
from dataclasses import dataclass

REGION = re.compile(r"(\d{2}|\d{4}|\d{6})?")


@dataclass(frozen=True)
class Scope:
    region: str = ""              # '' the whole country; else a 2-digit province, 4-digit prefecture or 6-digit county
    synthetic_only: bool = False  # guests read the synthetic demo data only, nothing a bureau imported

    def __post_init__(self) -> None:
        if not isinstance(self.region, str) or not REGION.fullmatch(self.region):
            raise ValueError(f"不是地区代码 / not a region code: {str(self.region)[:20]!r}")

    def allows(self, county_code: str) -> bool:
        """Whether a county lies inside this scope (the same rule as the query layer's)."""
        return county_code.startswith(self.region)

    @property
    def key(self) -> tuple[str, bool]:
        """Part of every cache key: two scopes never share cached rows."""
        return self.region, self.synthetic_only


EVERYTHING = Scope()
GUEST = Scope(synthetic_only=True)

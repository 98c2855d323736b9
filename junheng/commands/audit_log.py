"""Reading the audit log: an administrator sees the entries of its own region; addresses only a national one."""
from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import polars as pl

from junheng.access import audit
from junheng.access.accounts import Account
from junheng.commands.gate import authorize

PRIVATE_KEYS = ("ip",)  # what only a national administrator may read in an entry's details


def entries(data_dir: Path, actor: Account | None, since: datetime | None = None,
            limit: int | None = None) -> pl.DataFrame:
    """The log, newest first, as the actor may read it (at, account, region, action, details)."""
    actor = authorize(data_dir, actor, "admin")
    log = audit.entries(Path(data_dir), since, limit, within=actor.region)
    if actor.region:
        log = log.with_columns(pl.col("details").map_elements(_without_private, return_dtype=pl.String))
    return log


def _without_private(details: str) -> str:
    try:
        values = json.loads(details)
    except ValueError:
        return details
    if not isinstance(values, dict):
        return details
    return json.dumps({k: v for k, v in values.items() if k not in PRIVATE_KEYS}, ensure_ascii=False,
                      sort_keys=True)

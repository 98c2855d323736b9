"""The audit log: every login (and failed login), import, rollback, export and account change, append-only."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
import sqlalchemy as sa

from junheng.access.database import audit, engine


def record(data_dir: Path, account, action: str, details: dict | None = None, region: str | None = None) -> None:
    """Append one entry: time, account, region, action and details (JSON).

    region: the narrowest region the action touched (who may read the entry: the admins of that region and the
    regions around it); by default the account's own (a login, a log-out)."""
    with engine(data_dir).begin() as con:
        con.execute(audit.insert().values(
            at=datetime.now(UTC), account=account.name,
            region=account.region if region is None else region, action=action,
            details=json.dumps(details or {}, ensure_ascii=False, sort_keys=True, default=str)))


def entries(data_dir: Path, since: datetime | None = None, limit: int | None = None,
            within: str = "") -> pl.DataFrame:
    """The log, newest first: at (UTC, ISO), account, region, action, details; within: only the entries whose
    region lies inside this region ('' every entry)."""
    query = sa.select(audit.c.at, audit.c.account, audit.c.region, audit.c.action, audit.c.details).order_by(
        audit.c.id.desc())
    if within:
        query = query.where(audit.c.region.startswith(within, autoescape=True))
    if since is not None:
        query = query.where(audit.c.at >= since)
    if limit is not None:
        query = query.limit(limit)
    with engine(data_dir).connect() as con:
        rows = con.execute(query).all()
    schema = {"at": pl.String, "account": pl.String, "region": pl.String, "action": pl.String, "details": pl.String}
    return pl.DataFrame([(_iso(r[0]), *r[1:]) for r in rows], schema=schema, orient="row")


def _iso(at: datetime) -> str:
    if at.tzinfo is None:  # SQLite keeps no zone: the values were written in UTC
        at = at.replace(tzinfo=UTC)
    return at.astimezone(UTC).isoformat(timespec="seconds")

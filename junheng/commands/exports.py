"""Export commands: every file that releases data — a table as shown, a cohort's rows, a county deck or a
prefecture's bulletin — is built here, inside the actor's region, and audited."""
from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import polars as pl

from junheng import settings
from junheng.access import audit
from junheng.access.accounts import Account
from junheng.commands.gate import Denied, audit_region, authorize, contains
from junheng.data.scope import GUEST, Scope

GUEST_ACCOUNT = Account("guest", "viewer", "")  # how a guest's download is named in the audit log


def scope_of(actor: Account | None) -> Scope:
    """What the actor reads: its region, or a guest's synthetic data."""
    return actor.scope if actor is not None else GUEST


def table(data_dir: Path, actor: Account | None, name: str, kind: str, rows: pl.DataFrame | Callable[[], pl.DataFrame],
          build: Callable[[pl.DataFrame], bytes], school_level: bool = True, regions: tuple[str, ...] = ()) -> bytes:
    """A table exactly as the page shows it, as a file: school-level rows for analysts and administrators only.

    rows: the table (read through the query layer in the actor's scope), or a function that makes it; regions:
    the regions the table covers (the page's region). Any county row outside the actor's region is refused.
    """
    actor = authorize(data_dir, actor, "analyst" if school_level else None, regions)
    frame = rows() if callable(rows) else rows
    counties = _counties(frame)
    own = actor.region if actor is not None else ""
    outside = [c for c in counties if not contains(own, c)]
    if outside:
        raise Denied("gate_outside_region", region=outside[0], own=own or "全国")
    data = build(frame)
    audit.record(Path(data_dir), actor or GUEST_ACCOUNT, "export", {"file": name, "format": kind, "rows": frame.height},
                 region=audit_region(list(regions) or counties or [own]))
    return data


def report(data_dir: Path, actor: Account | None, year: int, kind: str, lang: str, county: str | None = None,
           region: str | None = None) -> tuple[bytes, object]:
    """The county deck (county) or a prefecture's bulletin (region) as pptx, pdf or xlsx, built in the actor's
    scope: (the file's bytes, what the builder reports)."""
    from junheng.reports import content
    from junheng.reports import report as deck
    content.check_codes(county, region, lang)  # a malformed code is named as such, not as another region
    where = county or region or ""
    actor = authorize(data_dir, actor, "analyst", (where,))
    data, made = deck.build(Path(data_dir), scope_of(actor), year, kind, lang, county=county, region=region)
    audit.record(Path(data_dir), actor or GUEST_ACCOUNT, "export",
                 {"file": f"report_{where}_{year}", "format": kind, "report": where, "year": year}, region=where)
    return data, made


def cohort(data_dir: Path, actor: Account | None, spec, kind: str, lang: str, con=None, years=None):
    """A cohort's school-year rows as the cohort page exports them: (file bytes, the export frame, the result, the
    damaged years of the range that are named in the file and left out of it).

    Exact small counts only when JUNHENG_ANALYST_EXACT_COUNTS allows analysts and administrators to see them.
    """
    from junheng.data import cohort as cohort_query
    from junheng.data import db
    from junheng.reports import exports
    actor = authorize(data_dir, actor, "analyst", (spec.region or "",))
    rules = settings.load_thresholds()
    con = con if con is not None else db.connect(Path(data_dir), rules)
    scope = scope_of(actor)
    if years is None:
        years = cohort_query.year_span(spec, db.run(con, "snapshot_years", scope)["year"].to_list())
    exact = settings.flag("JUNHENG_ANALYST_EXACT_COUNTS") and actor is not None and actor.can("analyst")
    result = cohort_query.run(con, spec, scope, tuple(years), 0 if exact else rules["privacy"]["min_count"])
    frame = cohort_query.export_frame(result)
    # years of the range whose snapshot cannot be read are named in the file, never left out in silence
    damaged = cohort_query.damaged_years(db.snapshot_health(Path(data_dir))[1], spec.year_from, spec.year_to)
    data = exports.cohort_bytes(frame, kind, lang, {"junheng.query": result.sql,
                                                    "junheng.params": json.dumps(result.params, ensure_ascii=False,
                                                                                 default=str)},
                                damaged_years=damaged)
    audit.record(Path(data_dir), actor or GUEST_ACCOUNT, "export",
                 {"file": f"cohort_{spec.region or 'all'}", "format": kind, "rows": frame.height,
                  "cohort": [c.text for c in spec.conditions],
                  **({"damaged_years": sorted(damaged)} if damaged else {})}, region=spec.region or "")
    return data, frame, result, damaged


def _counties(frame: pl.DataFrame) -> list[str]:
    if "county_code" not in frame.columns or frame.is_empty():
        return []
    return sorted(str(c) for c in frame["county_code"].drop_nulls().unique().to_list())

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
          build: Callable[[pl.DataFrame], bytes], school_level: bool = True, regions: tuple[str, ...] = (),
          protected_counts: bool | None = None) -> bytes:
    """A table exactly as the page shows it, as a file, for everyone who may see it; audited, a refusal too.

    rows: the table (read through the query layer in the actor's scope), or a function that makes it; regions:
    the regions the table covers (the page's region). Any county row outside the actor's region is refused.
    protected_counts: the rows are schools' left-behind or migrant counts (analysts and administrators only);
    False: school rows the page shows anyway (the 整改清单, the 达标方案), released to every reader of the page,
    guests included; None: as school_level (school rows stay with analysts unless the caller says they carry no
    such counts). School rows that carry a count column are refused to the others whatever the caller says.
    """
    given = actor
    try:
        frame = None if callable(rows) else rows
        protected = (school_level if protected_counts is None else protected_counts) or (
            school_level and isinstance(frame, pl.DataFrame) and carries_protected_counts(frame))
        actor = authorize(data_dir, actor, "analyst" if protected else None, regions)
        frame = rows() if callable(rows) else rows
        if school_level and not protected and isinstance(frame, pl.DataFrame) and carries_protected_counts(frame):
            raise Denied("role_required", role="analyst")  # a made table that turned out to carry counts
        # a pending table (the cohort page's rows, which build reads through the scoped query layer on the click)
        # has no rows to look at yet: its scope is the query layer's
        counties = _counties(frame) if isinstance(frame, pl.DataFrame) else []
        own = actor.region if actor is not None else ""
        outside = [c for c in counties if not contains(own, c)]
        if outside:
            raise Denied("gate_outside_region", region=outside[0], own=own or "全国")
    except Denied as e:
        refused(data_dir, given, name, kind, e, regions)
        raise
    data = build(frame)
    audit.record(Path(data_dir), actor or GUEST_ACCOUNT, "export", {"file": name, "format": kind,
                                                                    "rows": getattr(frame, "height", None)},
                 region=audit_region(list(regions) or counties or [own]))
    return data


PROTECTED_COUNTS = ("left_behind_students", "migrant_students")  # the counts rules/published_counts.py protects


def carries_protected_counts(frame: pl.DataFrame) -> bool:
    """Whether a table has a column of left-behind or migrant counts (by its data name or its label, either
    language)."""
    from junheng.i18n import t
    names = {n for key in PROTECTED_COUNTS for n in (key, t(key, "zh"), t(key, "en"))}
    return any(c in names or c.startswith(("left_behind_students", "migrant_students")) for c in frame.columns)


def refused(data_dir: Path, actor: Account | None, name: str, kind: str, error: Denied, regions=()) -> None:
    """A refused export in the audit log: who, which file, why; its region holds the actor's and the file's."""
    own = actor.region if actor is not None else ""
    audit.record(Path(data_dir), actor or GUEST_ACCOUNT, "export_refused",
                 {"file": name, "format": kind, "reason": error.key},
                 region=audit_region([*[r for r in regions if r], own]))


def notices(data_dir: Path, actor: Account | None, county: str, year: int, lang: str) -> tuple[bytes, object]:
    """The 整改通知单 of a county-year: a zip of one A4 PDF per school on its 整改清单, named by school id, built in
    the actor's scope (the list every reader of the page sees: no protected counts) and audited; (zip bytes, the
    notices). Raises Denied outside the actor's region, content.ReportError for a bad county or year."""
    from junheng.reports import content
    from junheng.reports import notices as notice_files
    name = f"notices_{county}_{year}"
    content.check_codes(county, None, lang)
    try:
        actor_now = authorize(data_dir, actor, None, (county,))
    except Denied as e:
        refused(data_dir, actor, name, "zip", e, (county,))
        raise
    data, made = notice_files.build(Path(data_dir), scope_of(actor_now), county, year, lang)
    audit.record(Path(data_dir), actor_now or GUEST_ACCOUNT, "export",
                 {"file": name, "format": "zip", "notices": county, "year": year, "schools": len(made)},
                 region=county)
    return data, made


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


def cohort(data_dir: Path, actor: Account | None, spec, kind: str, lang: str, con=None, years=None,
           panel: str | None = None):
    """A cohort's school-year rows as the cohort page exports them: (file bytes, the export frame, the result, the
    damaged years of the range that are named in the file and left out of it).

    kind: csv, xlsx, parquet, json, dta (Stata) or sav (SPSS). result.about holds what the file says of itself (data
    version, generation time, the query and its parameters, how to cite it): in the metadata of Parquet, Stata and
    SPSS files and the JSON body, beside a CSV as a file of its own (the command line) or as headers (the API).
    panel: long, wide or county (junheng/data/cohort.py `panel`): the rows as a panel, instead of as they are.
    Exact small counts only when JUNHENG_ANALYST_EXACT_COUNTS allows analysts and administrators to see them.
    """
    from junheng.data import cohort as cohort_query
    from junheng.data import db
    from junheng.reports import exports
    actor = authorize(data_dir, actor, "analyst", (spec.region or "",))
    if kind not in exports.COHORT_FORMATS:
        raise ValueError(f"unknown format: {kind}")
    rules = settings.load_thresholds()
    con = con if con is not None else db.connect(Path(data_dir), rules)
    scope = scope_of(actor)
    if years is None:
        years = cohort_query.year_span(spec, db.run(con, "snapshot_years", scope)["year"].to_list())
    exact = settings.flag("JUNHENG_ANALYST_EXACT_COUNTS") and actor is not None and actor.can("analyst")
    result = cohort_query.run(con, spec, scope, tuple(years), 0 if exact else rules["privacy"]["min_count"])
    frame = cohort_query.export_frame(result)
    if panel:
        frame = cohort_query.panel(con, scope, spec, tuple(years), frame, panel)
    # years of the range whose snapshot cannot be read are named in the file, never left out in silence
    damaged = cohort_query.damaged_years(db.snapshot_health(Path(data_dir))[1], spec.year_from, spec.year_to)
    result.about = about(data_dir, spec, tuple(years), kind, lang, result.params, damaged, panel)
    data = exports.cohort_bytes(frame, kind, lang, {"junheng.query": result.sql, **metadata(result.about)},
                                damaged_years=damaged, about=result.about)
    audit.record(Path(data_dir), actor or GUEST_ACCOUNT, "export",
                 {"file": f"cohort_{spec.region or 'all'}", "format": kind, "rows": frame.height,
                  "cohort": [c.text for c in spec.conditions], "data_checksum": result.about["data_checksum"],
                  **({"damaged_years": sorted(damaged)} if damaged else {})}, region=spec.region or "")
    return data, frame, result, damaged


def generated_at() -> str:
    """Now (UTC, ISO), or SOURCE_DATE_EPOCH when set (the reproducible-builds convention): two exports of the same
    cohort and data made with the same SOURCE_DATE_EPOCH are the same bytes."""
    import os
    from datetime import UTC, datetime
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    at = datetime.fromtimestamp(int(epoch), UTC) if epoch.isdigit() else datetime.now(UTC)
    return at.isoformat(timespec="seconds")


def about(data_dir: Path, spec, years: tuple[int, int], kind: str, lang: str, params: dict, damaged=(),
          panel: str | None = None) -> dict:
    """What a cohort file says of itself: the data version (each year's stored version and one checksum over
    them), when it was made, the query (the page's and the API's parameters) and its SQL's bound values, how to
    cite it. Every value is JSON."""
    from junheng.data import cohort as cohort_query
    from junheng.i18n import t
    versions, checksum = cohort_query.data_version(data_dir, years)
    at = generated_at()
    query = {"region": spec.region or "", "year_from": int(years[0]), "year_to": int(years[1]),
             "where": [c.text for c in spec.conditions], "format": kind, "lang": lang,
             **({"follow_year": int(spec.follow_year)} if getattr(spec, "follow_year", None) is not None else {}),
             **({"panel": panel} if panel else {})}
    where = spec.region or ("全国" if lang == "zh" else "all regions")
    return {"title": t("cite_title", lang), "generated_at": at, "data_version": versions, "data_checksum": checksum,
            "query": query, "sql_params": json.loads(json.dumps(params, ensure_ascii=False, default=str)),
            "damaged_years": sorted(int(y) for y in damaged),
            "citation": t("cite_cohort", lang, region=where, year_from=years[0], year_to=years[1],
                          conditions="; ".join(c.text for c in spec.conditions) or "-", checksum=checksum[:12],
                          date=at[:10])}


def metadata(about: dict) -> dict[str, str]:
    """The about dict as a file's key-value metadata (every value a JSON text, json.loads reads each)."""
    return {"junheng.params": json.dumps(about["sql_params"], ensure_ascii=False),
            "junheng.request": json.dumps(about["query"], ensure_ascii=False),
            "junheng.data_version": json.dumps(about["data_version"]),
            "junheng.data_checksum": json.dumps(about["data_checksum"]),
            "junheng.generated_at": json.dumps(about["generated_at"]),
            "junheng.citation": json.dumps(about["citation"], ensure_ascii=False),
            "junheng.about": json.dumps(about, ensure_ascii=False, sort_keys=True)}


def _counties(frame: pl.DataFrame) -> list[str]:
    if "county_code" not in frame.columns or frame.is_empty():
        return []
    return sorted(str(c) for c in frame["county_code"].drop_nulls().unique().to_list())

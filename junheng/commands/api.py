"""The API's reads (junheng/tools/api.py serves them over HTTP): each checks its parameters, then goes through the
gate and the audit log like every other read. The cohort is the export command itself (commands/exports.cohort),
so a token's file is the same bytes the command line writes for the same arguments."""
from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path

from junheng import settings
from junheng.access import audit
from junheng.access.accounts import Account
from junheng.commands import exports
from junheng.commands.gate import authorize
from junheng.data.scope import REGION

COUNTY = re.compile(r"\d{6}")
YEAR = re.compile(r"\d{4}")
FORMATS = ("csv", "parquet", "json", "dta", "sav", "xlsx")


class Invalid(ValueError):
    """A parameter that cannot be used (HTTP 400); `key` names the message in the translation table."""

    def __init__(self, key: str, **values):
        super().__init__(key)
        self.key, self.values = key, values


def _one(params: Mapping[str, list[str]], name: str, default: str | None = None) -> str | None:
    values = params.get(name) or []
    if len(values) > 1:
        raise Invalid("api_bad_parameter", name=name, value="×" + str(len(values)))
    return values[0] if values else default


def _year(params, name: str) -> int | None:
    text = _one(params, name)
    if text in (None, ""):
        return None
    if not YEAR.fullmatch(text):
        raise Invalid("api_bad_parameter", name=name, value=text[:20])
    return int(text)


def cohort(data_dir: Path, actor: Account, params: Mapping[str, list[str]], lang: str, con=None):
    """GET /api/v1/cohort: region, year_from, year_to, repeated where, follow_year, panel, format → (bytes, format,
    frame, result, damaged years), exactly as `junheng cohort` with the same arguments."""
    from junheng.data import cohort as cohort_query
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    from junheng.rules import cohort as grammar
    region = _one(params, "region", "") or ""
    if not REGION.fullmatch(region):
        raise Invalid("cohort_err_region", value=region[:20])
    kind = _one(params, "format", "csv") or "csv"
    if kind not in FORMATS:
        raise Invalid("api_bad_parameter", name="format", value=kind[:20])
    layout = _one(params, "panel", "") or None
    if layout is not None and layout not in ("long", "wide", "county"):
        raise Invalid("api_bad_parameter", name="panel", value=layout[:20])
    year_from, year_to, follow = _year(params, "year_from"), _year(params, "year_to"), _year(params, "follow_year")
    where = [w for w in params.get("where") or [] if w.strip()]
    conditions, errors = grammar.parse_all(where)
    if errors or len(conditions) < len(where):
        raise Invalid(errors[0].key, **errors[0].values) if errors else Invalid("cohort_err_syntax", condition="")
    con = con if con is not None else db.connect(Path(data_dir), settings.load_thresholds())
    # the years as the command line checks them: every year of the data (not of the actor's region), so a
    # token learns nothing from which years are refused
    years = db.run(con, "snapshot_years", EVERYTHING)["year"].to_list()
    damaged = cohort_query.damaged_years(db.snapshot_health(Path(data_dir))[1], year_from, year_to)
    for year in (year_from, year_to, follow):
        if year is not None and year not in years and year not in damaged:
            raise Invalid("cohort_err_year", value=year, years=f"{min(years)}–{max(years)}")
    spec = grammar.Cohort(region, year_from, year_to, tuple(conditions), follow)
    span = cohort_query.year_span(spec, years)
    if follow is not None and not span[0] <= follow <= span[1]:
        raise Invalid("cohort_err_follow", value=follow, years=f"{span[0]}–{span[1]}")
    data, frame, result, damaged = exports.cohort(Path(data_dir), actor, spec, kind, lang, con=con, years=span,
                                                  panel=layout)
    return data, kind, frame, result, damaged


def counties(data_dir: Path, actor: Account, con=None) -> list[dict]:
    """GET /api/v1/counties: the counties with data inside the actor's region (code, names, prefecture,
    province)."""
    from junheng.data import db
    actor = authorize(data_dir, actor, "viewer")
    con = con if con is not None else db.connect(Path(data_dir), settings.load_thresholds())
    rows = db.run(con, "counties_with_data", actor.scope).to_dicts()
    audit.record(Path(data_dir), actor, "api_read", {"endpoint": "counties", "rows": len(rows)}, region=actor.region)
    return rows


def evaluate(data_dir: Path, actor: Account, params: Mapping[str, list[str]], con=None) -> dict:
    """GET /api/v1/evaluate?county=&year=: the county-year's 基本均衡 / 优质均衡 evaluation, as `junheng evaluate
    --json` prints it, read in the actor's region."""
    from junheng.data import county_table, db
    from junheng.rules import evaluation, verdicts
    county = _one(params, "county", "") or ""
    if not COUNTY.fullmatch(county):
        raise Invalid("api_bad_parameter", name="county", value=county[:20])
    year = _year(params, "year")
    if year is None:
        raise Invalid("api_bad_parameter", name="year", value="")
    actor = authorize(data_dir, actor, "viewer", (county,))
    _, damaged = db.snapshot_health(Path(data_dir))
    if year in damaged:
        raise Invalid("year_damaged", year=year, detail=damaged[year])
    rules = settings.load_thresholds()
    con = con if con is not None else db.connect(Path(data_dir), rules)
    scope = actor.scope
    years = db.run(con, "snapshot_years", scope)["year"].to_list()
    if year not in years:
        raise Invalid("cohort_err_year", value=year, years=f"{min(years)}–{max(years)}" if years else "-")
    schools = db.run(con, "school_rows", scope, year=year, region=county)
    if schools.is_empty():
        raise Invalid("api_no_county", county=county)
    table = county_table.read(con, scope, year)
    levels = evaluation.evaluate_county(schools, rules)
    for level in levels.values():  # the published shape, as junheng evaluate prints it
        level["quality"].pop("cv_pass")
    verdicts_of, parts = verdicts.evaluate(schools, rules, table.filter(table["county_code"] == county))
    audit.record(Path(data_dir), actor, "api_read", {"endpoint": "evaluate", "county": county, "year": year},
                 region=county)
    return {"county_code": county, "year": year, "verdicts": verdicts_of, "parts": parts, "levels": levels}


def refused(data_dir: Path, actor: Account | None, endpoint: str, key: str, region: str = "") -> None:
    """A refused call in the audit log: who (or which unknown token), where, why."""
    who = actor or Account("api:anonymous", "viewer", "")
    audit.record(Path(data_dir), who, "api_refused", {"endpoint": endpoint, "reason": key},
                 region=region if REGION.fullmatch(region or "") else "")

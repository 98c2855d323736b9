"""The cohort query: queries/cohort_rows.sql, its conditions appended from fixed templates, every value bound.

Only identifiers from the allow-list (junheng/rules/cohort.py) and the operator templates below are written into
the SQL; every value a user gave is a named parameter ($c0, $c1, …). The query runs through the scoped views in a
cursor of its own, like every named query (db.run). Small left-behind and migrant counts are then suppressed the
way every page suppresses them (junheng/rules/published_counts.py); conditions on those counts are applied to the
published values only, so a cohort can never tell a suppressed count by including or leaving out its school.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import polars as pl

from junheng.data import db
from junheng.rules import cohort as grammar
from junheng.rules import privacy, published_counts

QUERY = db.COHORT_QUERY
BASE_QUERY = "cohort_base_rows"
COUNT_QUERY = "cohort_count_rows"
CONDITIONS_MARK = "    -- conditions"
COLUMNS_MARK = "*  -- columns"
TEMPLATES = {  # operator -> the clause; {column} comes from the allow-list, {param} is a parameter name
    "=": "{column} = ${param}",
    "!=": "{column} != ${param}",
    ">": "{column} > ${param}",
    ">=": "{column} >= ${param}",
    "<": "{column} < ${param}",
    "<=": "{column} <= ${param}",
    "in": "{column} in (select unnest(${param}))",
}
KEYS = ("year", "county_code", "school_id")   # always selected: the grain and the order


@dataclass
class Result:
    """A cohort's rows as published, and how they were computed."""
    rows: pl.DataFrame
    sql: str                      # the SQL that ran
    params: dict                  # its bound values
    sql_rows: int                 # rows the SQL returned
    after: tuple = ()             # conditions applied to published values after the SQL (protected counts)
    min_count: int = 0
    notes: list = field(default_factory=list)
    about: dict = field(default_factory=dict)  # what a file says of itself: data version, time, query, citation


def sql(cohort: grammar.Cohort, years: tuple[int, int], columns=None, in_sql=None, prefix: str = "c",
        query: str = QUERY) -> tuple[str, dict]:
    """(SQL, bound values) for the cohort's rows; columns: the columns to select (all when None).

    in_sql: the conditions written into the SQL (default all); the others are left to the privacy step.
    prefix: the conditions' parameter names ($c0, $c1, … by default; another prefix for a second cohort).
    query: the query file (cohort_rows, or cohort_base_rows for the cohort base).
    """
    if query not in (QUERY, BASE_QUERY):
        raise KeyError(f"not a cohort query: {query!r}")
    body = db.query_text(query)
    if CONDITIONS_MARK not in body or COLUMNS_MARK not in body:
        raise db.DataError(f"queries/{query}.sql lost its markers")
    params: dict = {"region": cohort.region, "year_from": int(years[0]), "year_to": int(years[1])}
    clauses = []
    for n, condition in enumerate(cohort.conditions if in_sql is None else in_sql):
        column = _identifier(condition.column)
        param = f"{_prefix(prefix)}{n}"
        clauses.append(f"      and {TEMPLATES[condition.op].format(column=column, param=param)}")
        params[param] = list(condition.value) if condition.op == "in" else condition.value
    text = body.replace(CONDITIONS_MARK, "\n".join(clauses) if clauses else CONDITIONS_MARK)
    if columns is not None:
        chosen = list(dict.fromkeys([*KEYS, *(_identifier(c) for c in columns)]))
        text = text.replace(COLUMNS_MARK, ", ".join(chosen))
    return text, params


def _identifier(name: str) -> str:
    """A column name from the allow-list (every one is snake_case), refused otherwise."""
    if name not in grammar.fields() or not name.replace("_", "").isalnum() or not name.isascii():
        raise KeyError(f"not an allowed column: {name[:40]!r}")
    return name


def year_span(cohort: grammar.Cohort, years: list[int]) -> tuple[int, int]:
    """The cohort's year range inside the years the data hold (all of them when it names none)."""
    low, high = min(years), max(years)
    start = low if cohort.year_from is None else max(low, min(cohort.year_from, high))
    end = high if cohort.year_to is None else min(high, max(cohort.year_to, low))
    return (start, end) if start <= end else (end, start)


def damaged_years(problems: dict[int, str], year_from: int | None = None, year_to: int | None = None
                  ) -> dict[int, str]:
    """The years in the range (every year when unbounded) whose snapshot cannot be read, so a cohort over them
    leaves their schools out: year -> what is wrong (problems: db.snapshot_health's). A file names them, never
    drops them in silence."""
    low, high = year_from, year_to
    if low is not None and high is not None and low > high:  # a reversed range is read as the same range
        low, high = high, low
    return {y: p for y, p in sorted(problems.items())
            if (low is None or y >= low) and (high is None or y <= high)}


def data_version(data_dir, years: tuple[int, int]) -> tuple[dict[str, str], str]:
    """The stored versions a cohort over years read: ({year: current version id}, a SHA-256 over each year's
    version id and its file's checksum) — what a citation names so that the same data can be asked for again."""
    import hashlib
    import json
    from pathlib import Path
    manifest = db._manifest(Path(data_dir)) or {}
    versions, sums = {}, {}
    for year in range(int(years[0]), int(years[1]) + 1):
        entry = (manifest.get("years") or {}).get(str(year))
        if not entry:
            continue
        current = entry.get("current") or entry.get("id")
        checksum = next((v.get("checksum") for v in entry.get("versions", []) if v.get("id") == current),
                        entry.get("checksum"))
        versions[str(year)], sums[str(year)] = current, [current, checksum]
    return versions, hashlib.sha256(json.dumps(sums, sort_keys=True).encode()).hexdigest()


def derived_from() -> dict[str, tuple[str, ...]]:
    """protected count -> the measures made from it (hidden with it)."""
    out: dict[str, list[str]] = {}
    for f in grammar.measures():
        if f.protected:
            out.setdefault(f.protected, []).append(f.name)
    return {k: tuple(v) for k, v in out.items()}


def protected_columns() -> set[str]:
    return {f.name for f in grammar.fields().values() if f.protected}


def run(con, cohort: grammar.Cohort, scope, years: tuple[int, int], min_count: int, columns=None,
        memo: dict | None = None) -> Result:
    """The cohort's school-year rows as published: protected counts suppressed where every page suppresses them,
    conditions on them applied to the published values. memo: a dict that keeps the suppression decisions per
    year and province between calls (they do not depend on the conditions)."""
    if cohort.follow_year is not None:
        return _run_followed(con, cohort, scope, years, min_count, columns, memo)
    protected = protected_columns()
    later = tuple(c for c in cohort.conditions if c.protected) if min_count > 0 else ()
    now = tuple(c for c in cohort.conditions if c not in later)
    wanted = None if columns is None else list(columns) + [c.column for c in later]
    text, params = sql(cohort, years, wanted, now)
    rows = db.run_text(con, text, scope, params)
    sql_rows = rows.height
    touches = columns is None or any(c in protected for c in columns) or later
    if min_count > 0 and touches and rows.height:
        statuses = count_status(con, scope, cohort.region, years, min_count, memo, rows)
        rows = published_counts.mark(rows, statuses, derived_from())
        for condition in later:
            rows = rows.filter(condition_expr(condition))
        if columns is not None:  # the columns only the later conditions needed go again
            rows = rows.select([c for c in rows.columns if c in set(KEYS) | set(columns)
                                or c in published_counts.STATUS.values()])
    return Result(rows, text, params, sql_rows, later, min_count)


def _run_followed(con, cohort: grammar.Cohort, scope, years: tuple[int, int], min_count: int, columns=None,
                  memo: dict | None = None) -> Result:
    """`run` with fixed membership: the schools whose published rows of the followed year meet the conditions,
    with every one of their rows in the range (as published). Its sql and params: the one query that gives them
    (`published_sql`), for the file's metadata."""
    year = int(cohort.follow_year)
    members = run(con, cohort.per_year(), scope, (year, year), min_count, [], memo).rows["school_id"].unique()
    every = run(con, cohort.per_year().with_conditions(()), scope, years, min_count, columns, memo)
    text, params = published_sql(cohort, years, None, min_count)
    rows = every.rows.filter(pl.col("school_id").is_in(members.implode()))
    return Result(rows, text, params, rows.height, (), every.min_count)


def panel(con, scope, cohort: grammar.Cohort, years: tuple[int, int], frame: pl.DataFrame, layout: str
          ) -> pl.DataFrame:
    """An export frame as a panel (junheng/rules/cohort_panel.py): long (each row with its school's first and last
    year in the data, in_every_year, exit), wide (school × measure_year) or county (county × year aggregates).
    Protected counts are left out of the aggregates (they are published as text, or not at all)."""
    from junheng.rules import cohort_panel
    if layout not in cohort_panel.LAYOUTS:
        raise KeyError(f"not a panel layout: {layout!r}")
    measures = list(dict.fromkeys(["students", *(f.name for f in grammar.measures() if f.numeric and not f.protected)]))
    if layout == "wide":
        return cohort_panel.wide(frame, measures)
    if layout == "county":
        return cohort_panel.county_year(frame, measures)
    spans = db.run(con, "cohort_school_spans", scope, region=cohort.region)
    last = db.run(con, "snapshot_years", scope)["year"].max()
    return cohort_panel.with_panel(frame, spans, years, int(last) if last is not None else years[1])


def condition_expr(condition: grammar.Condition) -> pl.Expr:
    """The condition as a Polars filter (a null value, e.g. a suppressed count, never meets it)."""
    col, value = pl.col(condition.column), condition.value
    if condition.op == "in":
        # Numbers are parsed as floats while counts are stored as integers: Polars' is_in compares only like types
        # (`left_behind_students in (1, 2)` raised InvalidOperationError), so both sides are compared as floats.
        numeric = condition.field.numeric
        values = pl.Series(list(value), dtype=pl.Float64 if numeric else None)
        return (col.cast(pl.Float64) if numeric else col).is_in(values.implode()).fill_null(False)
    expr = {"=": lambda: col == value, "!=": lambda: col != value, ">": lambda: col > value,
            ">=": lambda: col >= value, "<": lambda: col < value, "<=": lambda: col <= value}[condition.op]()
    return expr.fill_null(False)


def count_status(con, scope, region: str, years: tuple[int, int], min_count: int, memo: dict | None,
                 rows: pl.DataFrame | None = None) -> pl.DataFrame:
    """Which left-behind and migrant counts may be published, for the counties of region in the year range:
    decided per year a province (or the region inside one) at a time, kept in memo."""
    memo = {} if memo is None else memo
    years_needed = range(years[0], years[1] + 1)
    if rows is not None:
        years_needed = sorted(rows["year"].unique().to_list())
    if len(region) >= 4:
        units = [region]
    elif rows is not None:
        units = sorted(rows["county_code"].str.slice(0, 2).unique().to_list())
    else:
        counties = db.run(con, "counties_with_data", scope)["county_code"]
        units = sorted({c[:2] for c in counties if c.startswith(region)})
    parts = []
    for year in years_needed:
        for unit in units:
            key = (scope.key, min_count, int(year), unit)
            if key not in memo:
                # Decided with each data version (junheng/data/db.py); computed here for another threshold.
                stored = db.run(con, "school_count_status", scope, region=unit, year_from=int(year),
                                year_to=int(year), min_count=min_count)
                if stored.height:
                    memo[key] = stored.select(list(published_counts.SCHEMA)).cast(published_counts.SCHEMA)
                else:
                    count_rows = db.run(con, COUNT_QUERY, scope, region=unit, year_from=int(year),
                                        year_to=int(year))
                    memo[key] = published_counts.status(count_rows, min_count)
            parts.append(memo[key])
    return pl.concat(parts) if parts else pl.DataFrame(schema=published_counts.SCHEMA)


def export_frame(result: Result) -> pl.DataFrame:
    """The rows for a file: every column of the query, protected counts as published text."""
    if result.min_count > 0:
        return published_counts.as_published(result.rows, result.min_count)
    return result.rows.drop([s for s in published_counts.STATUS.values() if s in result.rows.columns])


def literal(value) -> str:
    """A bound value written as a DuckDB literal, for the researcher's copy of the query (never run by us)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(literal(v) for v in value) + "]"
    return "'" + str(value).replace("'", "''") + "'"


def published_plan(cohort: grammar.Cohort, years: tuple[int, int], min_count: int) -> Result:
    """The SQL that gives the cohort's rows exactly as the page publishes them (issue 23): every condition, and each
    protected count (with the measures made from it) null where the stored decision (school_count_status) does not
    publish it, conditions on those counts applied to the published values. For the rerun script and file metadata."""
    text, params = published_sql(cohort, years, None, min_count)
    header = "-- grain: school × year, as published\n-- params: $region, $year_from, $year_to, the conditions'\n"
    return Result(pl.DataFrame(), header + text + "\n" + ORDER, params, 0, (), min_count)


def status_files(data_dir, years: tuple[int, int], min_count: int) -> list[str]:
    """The stored count decisions of the current versions of years (paths relative to data_dir), for the script."""
    from pathlib import Path
    manifest = db._manifest(Path(data_dir))
    out = []
    for year in range(int(years[0]), int(years[1]) + 1):
        path = db.aggregate_path(Path(data_dir), year, "school_count_status",
                                 db.evaluated_params("school_count_status", {"privacy": {"min_count": min_count}}),
                                 manifest)
        if path is not None and path.exists():
            out.append(path.relative_to(Path(data_dir)).as_posix())
    return out


def rerun_script(result: Result, present_columns: set[str] | None = None, statuses: list[str] | None = None) -> str:
    """What a researcher runs in DuckDB from the data directory to get the same rows from the Parquet snapshots:
    the `schools` view, the query prepared, executed with the bound values. statuses: the stored count decisions
    (`status_files`) that a `published_plan` reads, so the script gives the page's published values and rows."""
    missing = [name for name in db.schools_columns() if present_columns is not None and name not in present_columns]
    extra = "".join(f", null::{db.SQL_TYPES[db.schools_columns()[m]]} as {m}" for m in missing)
    args = ", ".join(f"{k} := {literal(v)}" for k, v in result.params.items())
    lines = ["-- run in the data directory: duckdb -c \".read cohort.sql\"",
             f"create or replace view schools as select *{extra} "
             "from read_parquet('snapshots/year=*/*.parquet', union_by_name = true);"]
    if statuses:
        lines.append("create or replace view school_count_status as select * from read_parquet(["
                     + ", ".join(literal(f) for f in statuses) + "], hive_partitioning = false);")
    lines += ["prepare cohort as", result.sql.split("\n", 2)[2].rstrip().rstrip(";") + ";",
              f"execute cohort({args});"]
    if result.after:
        lines.append("-- then, as the app does: a suppressed left-behind or migrant count meets no condition on it: "
                     + "; ".join(c.text for c in result.after))
    return "\n".join(lines) + "\n"


# --- The cohort's statistics, computed in DuckDB -------------------------------------------------------------------
# The page shows a cohort's size, facet counts, summary, distributions, trend, map and first rows; each is one query
# over the cohort's rows as published (queries/cohort_*.sql, their `cohort` part replaced by the cohort's SQL below),
# so only what is shown reaches Python: a national cohort is 3.9 million school-years.

COHORT_PART = re.compile(r"with cohort as (materialized )?\(\n.*?\n\),\n", re.S)
NAMES = ("a", "b")   # the cohorts of one statistic (written into the SQL as literals: never a user's text)
ORDER = "order by county_code, school_id, year"


@dataclass(frozen=True)
class Rest:
    """The school-years of a cohort's region and years that are not in the cohort ("A against the rest")."""
    of: grammar.Cohort


def _prefix(prefix: str) -> str:
    if prefix not in ("c", "b", "r"):
        raise KeyError(f"not a parameter prefix: {prefix!r}")
    return prefix


def _later(cohort: grammar.Cohort, min_count: int) -> tuple:
    return tuple(c for c in cohort.conditions if c.protected) if min_count > 0 else ()


def published_sql(cohort: grammar.Cohort, years: tuple[int, int], columns, min_count: int, prefix: str = "c",
                  statuses: bool = True, base: bool = False) -> tuple[str, dict]:
    """(SQL, bound values) of the cohort's rows as published, with the columns KEYS + columns: the SQL of `sql`,
    then, where small counts are hidden and the columns touch them, each protected count (and the measures made
    from it) null where the stored decision (school_count_status) does not publish it, with its status column, and
    the conditions on protected counts applied to the published values (a hidden value never meets one).
    base: read the cohort base instead (its counts already published; only when `fits_base`).
    A cohort with a followed year: every row in the range of the schools whose published rows of that year meet
    the conditions."""
    if cohort.follow_year is not None:
        return _followed_sql(cohort, years, columns, min_count, prefix, statuses, base)
    if base:
        if statuses or not fits_base(cohort, columns, min_count):
            raise KeyError("the cohort base does not hold this cohort's columns")
        text, params = sql(cohort, years, columns, None, prefix, BASE_QUERY)
        return text.split("\n", 2)[2].strip().removesuffix(ORDER).rstrip(), params
    later = _later(cohort, min_count)
    now = tuple(c for c in cohort.conditions if c not in later)
    wanted = list(dict.fromkeys([*(columns or ()), *(c.column for c in later)]))
    text, params = sql(cohort, years, wanted if columns is not None else None, now, prefix)
    text = text.split("\n", 2)[2].strip()
    if not text.endswith(ORDER):
        raise db.DataError(f"queries/{QUERY}.sql lost its order")
    text = text.removesuffix(ORDER).rstrip()
    touched = [c for c in (wanted if columns is not None else grammar.fields()) if c in protected_columns()]
    if not (min_count > 0 and (touched or later)):
        return text, params
    params.update(min_count=int(min_count), status_shown=privacy.SHOWN)
    derived = derived_from()
    hidden = []
    for count, status in published_counts.STATUS.items():
        for column in (count, *derived.get(count, ())):
            if column not in touched:
                continue
            if statuses:
                shown = f"coalesce(count_status.{status}, $status_hidden) = $status_shown"
            else:  # no status column wanted (a statistic): a lookup of the shown ones is cheaper than the join
                shown = (f"(cohort_rows.year, cohort_rows.school_id) in (select year, school_id from "
                         f"school_count_status where min_count = $min_count and {status} = $status_shown)")
            hidden.append(f"case when {shown} then cohort_rows.{_identifier(column)} end as {_identifier(column)}")
    replace = f" replace ({', '.join(hidden)})" if hidden else ""
    if statuses:
        params["status_hidden"] = privacy.COMPLEMENTARY
        listed = ", ".join(f"coalesce(count_status.{s}, $status_hidden) as {s}" for s in published_counts.STATUS.values())
        text = (f"select cohort_rows.*{replace}, {listed}\nfrom (\n{text}\n) as cohort_rows\n"
                "left join (\n    select year, school_id, left_behind_status, migrant_status\n"
                "    from school_count_status\n    where min_count = $min_count\n) as count_status\n"
                "    on cohort_rows.year = count_status.year and cohort_rows.school_id = count_status.school_id")
    else:
        text = f"select cohort_rows.*{replace}\nfrom (\n{text}\n) as cohort_rows"
    if later:
        clauses = []
        for n, condition in enumerate(later):
            param = f"{_prefix(prefix)}later{n}"
            clauses.append(TEMPLATES[condition.op].format(column=_identifier(condition.column), param=param))
            params[param] = list(condition.value) if condition.op == "in" else condition.value
        text = f"select *\nfrom (\n{text}\n) as published\nwhere " + "\n  and ".join(clauses)
    return text, params


def _followed_sql(cohort: grammar.Cohort, years: tuple[int, int], columns, min_count: int, prefix: str,
                  statuses: bool, base: bool) -> tuple[str, dict]:
    """published_sql of a cohort with fixed membership: the region's published rows in the range, semi-joined to
    the schools meeting the conditions in the followed year ($follow_year; the members' own query reads that one
    year, its year bounds renamed so that both parts bind their own)."""
    every, params = published_sql(cohort.per_year().with_conditions(()), years, columns, min_count, prefix, statuses,
                                  base)
    members, own = published_sql(cohort.per_year(), years, (), min_count, prefix, False, base)
    members = members.replace("$year_from", "$follow_year").replace("$year_to", "$follow_year")
    own = {k: v for k, v in own.items() if k not in ("year_from", "year_to")}
    text = (f"select every_row.*\nfrom (\n{every}\n) as every_row\nsemi join (\n{members}\n) as members\n"
            "    on every_row.school_id = members.school_id")
    return text, {**params, **own, "follow_year": int(cohort.follow_year)}


def source_sql(source, years: tuple[int, int], columns, min_count: int, prefix: str = "c", statuses: bool = True,
               base: bool = False) -> tuple[str, dict]:
    """A cohort's published rows (a Cohort), or the rest of its region and years (Rest): (SQL, bound values)."""
    if isinstance(source, Rest):
        region, params = published_sql(source.of.with_conditions(()), years, columns, min_count, "r", statuses, base)
        cohort, own = published_sql(source.of, years, (), min_count, prefix, False, base)
        return (f"select region_rows.*\nfrom (\n{region}\n) as region_rows\nanti join (\n{cohort}\n) as cohort_rows\n"
                "    on region_rows.year = cohort_rows.year and region_rows.school_id = cohort_rows.school_id",
                {**params, **own})
    return published_sql(source, years, columns, min_count, prefix, statuses, base)


def stored_statuses(con, scope, min_count: int, memo: dict | None = None) -> bool:
    """Whether the count decisions for this threshold are stored with the data (school_count_status): then the
    statistics join them in DuckDB; else they are decided in Polars as `run` does, from the cohort's rows."""
    if min_count <= 0:
        return True
    memo = {} if memo is None else memo
    key = ("stored", scope.key, int(min_count))
    if key not in memo:
        memo[key] = int(min_count) in set(db.run(con, "count_status_thresholds", scope)["min_count"].to_list())
    return memo[key]


def _run_statistic(con, name: str, scope, body: str, params: dict) -> pl.DataFrame:
    """queries/<name>.sql with its `cohort` part replaced by body (built here from allow-listed names only)."""
    text, n = COHORT_PART.subn(lambda m: f"with cohort as {m[1] or ''}(\n" + body + "\n),\n", db.query_text(name),
                               count=1)
    if n != 1:
        raise db.DataError(f"queries/{name}.sql lost its cohort part")
    return db.run_text(con, text, scope, params)


def _sources(sources: dict, years, columns, min_count, statuses: bool = False, con=None, memo: dict | None = None
             ) -> tuple[list[tuple[str, str]], dict]:
    """[(name, published SQL)] and the bound values of every cohort of a statistic (name: a or b); statuses: with
    the status columns of the protected counts (rows to show), else without (statistics). With con, a statistic
    whose cohorts all fit the cohort base of con's data reads the base."""
    base = (con is not None and not statuses and has_base(con, min_count, memo)
            and all(fits_base(s.of if isinstance(s, Rest) else s, columns, min_count) for s in sources.values()))
    parts, params = [], {}
    for (name, source), prefix in zip(sources.items(), ("c", "b")):
        if name not in NAMES:
            raise KeyError(f"not a cohort name: {name!r}")
        text, own = source_sql(source, years, columns, min_count, prefix, statuses, base)
        parts.append((name, text))
        params.update(own)
    return parts, params


def _measures(measures) -> list[str]:
    return [_identifier(m) for m in dict.fromkeys(measures)]


def _fallback_rows(con, scope, source, years, columns, min_count, memo) -> pl.DataFrame:
    """A cohort's rows fetched into Polars (only when no count decisions are stored for this threshold)."""
    if isinstance(source, Rest):
        from junheng.rules import cohort_stats
        region = run(con, source.of.with_conditions(()), scope, years, min_count, columns, memo).rows
        return cohort_stats.rest(region, run(con, source.of, scope, years, min_count, columns, memo).rows)
    return run(con, source, scope, years, min_count, columns, memo).rows


def overview(con, scope, source, years: tuple[int, int], min_count: int, columns=(), memo: dict | None = None
             ) -> dict:
    """The cohort's size and facet counts in one pass: schools (distinct), school_years, students in the cohort's
    last year, that year, last_year_rows (its rows that year), sql_rows (the school-years the SQL gave before
    conditions on protected counts: the method panel's count) and facets: column -> {value -> school-years}."""
    from junheng.rules import cohort_stats
    columns = _measures(columns)
    later = _later(source, min_count) if isinstance(source, grammar.Cohort) else ()
    empty = {"schools": 0, "school_years": 0, "students": 0, "year": None, "last_year_rows": 0}
    if not stored_statuses(con, scope, min_count, memo):
        rows = _fallback_rows(con, scope, source, years, ["students", *columns], min_count, memo)
        out = cohort_stats.size(rows)
        out["last_year_rows"] = rows.filter(pl.col("year") == out["year"]).height if out["year"] else 0
        out["facets"] = {c: cohort_stats.facet_counts(rows, c) for c in columns}
    else:
        ((_, text),), params = _sources({"a": source}, years, ["students", *columns], min_count,
                                            con=con, memo=memo)
        # with no facet asked for, one that is always null (UNPIVOT needs a column; a null value counts nowhere)
        listed = "".join(f", {c}" for c in columns) or ", null::varchar as no_facet"
        body = f"select 'a' as cohort, year, school_id, students{listed}\nfrom (\n{text}\n) as cohort_rows"
        found = _run_statistic(con, "cohort_overview", scope, body, params)
        sizes = found.filter(pl.col("facet").is_null())
        out = {k: (int(v) if v is not None else None) for k, v in sizes.row(0, named=True).items()
               if k in empty} if sizes.height else dict(empty)
        out["facets"] = {c: {} for c in columns}
        for facet, value, n in found.filter(pl.col("facet").is_not_null()).select(
                "facet", "value", "school_years").iter_rows():
            out["facets"][facet][_typed(facet, value)] = int(n)
    out["sql_rows"] = out["school_years"]
    if later:  # conditions on protected counts left out: what the SQL alone gives
        out["sql_rows"] = overview(con, scope, source.with_conditions(c for c in source.conditions if c not in later),
                                   years, min_count, (), memo)["school_years"]
    return out


def size(con, scope, source, years: tuple[int, int], min_count: int, memo: dict | None = None) -> dict:
    """`overview` without the facets."""
    out = overview(con, scope, source, years, min_count, (), memo)
    out.pop("facets")
    return out


def facet_counts(con, scope, source, years, min_count: int, columns, memo: dict | None = None) -> dict:
    """facet column -> {value -> school-years of the cohort with it} (nulls left out)."""
    return overview(con, scope, source, years, min_count, columns, memo)["facets"]


def _typed(column: str, text: str):
    """A facet value read back from its text: booleans as booleans, the rest as stored."""
    if grammar.fields()[column].kind == "bool":
        return text == "true"
    return text


SUMMARY_SCHEMA = {"measure": pl.String, "schools": pl.UInt32, "mean": pl.Float64, "median": pl.Float64,
                  "p10": pl.Float64, "p90": pl.Float64}


def summaries(con, scope, sources: dict, years, min_count: int, measures, memo: dict | None = None
              ) -> dict[str, pl.DataFrame]:
    """name -> one row per measure (in the order given): school-years with a value, enrolment-weighted mean,
    median, p10, p90 (junheng/rules/cohort_stats.py `summary`, computed in DuckDB)."""
    from junheng.rules import cohort_stats
    measures = _measures(measures)
    if not stored_statuses(con, scope, min_count, memo):
        return {name: cohort_stats.summary(_fallback_rows(con, scope, s, years, ["students", *measures], min_count,
                                                          memo), measures) for name, s in sources.items()}
    parts, params = _sources(sources, years, ["students", *measures], min_count, con=con, memo=memo)
    body = "\nunion all\n".join(
        f"select * from (\n    unpivot (select '{name}' as cohort, students as weight, {', '.join(measures)} from (\n"
        f"{text}\n) as cohort_rows)\n    on {', '.join(measures)}\n    into name measure value value\n)"
        for name, text in parts)
    found = _run_statistic(con, "cohort_summary", scope, body, params)
    out = {}
    for name in sources:
        mine = found.filter(pl.col("cohort") == name).drop("cohort")
        full = pl.DataFrame({"measure": measures, "order": range(len(measures))}).join(
            mine, on="measure", how="left").sort("order").drop("order")
        out[name] = full.with_columns(pl.col("schools").fill_null(0)).select(list(SUMMARY_SCHEMA)).cast(SUMMARY_SCHEMA)
    return out


TREND_SCHEMA = {"year": pl.Int32, "school_count": pl.UInt32, "students": pl.Int64, "schools": pl.UInt32,
                "mean": pl.Float64, "median": pl.Float64, "p10": pl.Float64, "p90": pl.Float64}


def trends(con, scope, sources: dict, years, min_count: int, measure: str, memo: dict | None = None
           ) -> dict[str, pl.DataFrame]:
    """name -> per year: schools, students and the measure's weighted mean, median, p10 and p90."""
    from junheng.rules import cohort_stats
    measure = _identifier(measure)
    if not stored_statuses(con, scope, min_count, memo):
        return {name: cohort_stats.trend(_fallback_rows(con, scope, s, years, ["students", measure], min_count, memo),
                                         measure).cast(TREND_SCHEMA) for name, s in sources.items()}
    parts, params = _sources(sources, years, ["students", measure], min_count, con=con, memo=memo)
    body = "\nunion all\n".join(f"select '{name}' as cohort, year, students, {measure} as value\nfrom (\n{text}\n) "
                                f"as cohort_rows" for name, text in parts)
    found = _run_statistic(con, "cohort_trend", scope, body, params)
    return {name: found.filter(pl.col("cohort") == name).drop("cohort").select(list(TREND_SCHEMA)).cast(TREND_SCHEMA)
            for name in sources}


HISTOGRAM_SCHEMA = {"cohort": pl.String, "bin_start": pl.Float64, "bin_end": pl.Float64, "count": pl.UInt32,
                    "share": pl.Float64}


def histogram(con, scope, sources: dict, years, min_count: int, measure: str, year: int, bins: int = 30,
              memo: dict | None = None) -> pl.DataFrame:
    """School-years of `year` per bin of measure for one or more cohorts on the same bins (cohort_stats.histogram,
    computed in DuckDB): cohort, bin_start, bin_end, count, share."""
    from junheng.rules import cohort_stats
    measure = _identifier(measure)
    if not stored_statuses(con, scope, min_count, memo):
        frames = {name: _fallback_rows(con, scope, s, years, [measure], min_count, memo) for name, s in sources.items()}
        return cohort_stats.histogram({n: f.filter(pl.col("year") == year) for n, f in frames.items()}, measure, bins)
    parts, params = _sources(sources, years, [measure], min_count, con=con, memo=memo)
    params.update(bins=int(bins), shown_year=int(year))
    body = "\nunion all\n".join(f"select '{name}' as cohort, {measure} as value\nfrom (\n{text}\n) as cohort_rows\n"
                                "where year = $shown_year" for name, text in parts)
    found = _run_statistic(con, "cohort_histogram", scope, body, params)
    if found.is_empty():
        return pl.DataFrame(schema=HISTOGRAM_SCHEMA)
    low, high = float(found["low"][0]), float(found["high"][0])
    width = (high - low) / bins
    out = []
    for name in sources:
        counts = found.filter(pl.col("cohort") == name).select("bin", pl.col("count").alias("len"))
        full = pl.DataFrame({"bin": range(bins)}).join(counts, on="bin", how="left").fill_null(0).sort("bin")
        total = int(counts["len"].sum() or 0)
        out.append(full.select(
            pl.lit(name).alias("cohort"), (low + pl.col("bin") * width).alias("bin_start"),
            (low + (pl.col("bin") + 1) * width).alias("bin_end"), pl.col("len").cast(pl.UInt32).alias("count"),
            (pl.col("len") / max(total, 1)).alias("share")))
    return pl.concat(out).cast(HISTOGRAM_SCHEMA)


def county_values(con, scope, source, years, min_count: int, measures, memo: dict | None = None) -> pl.DataFrame:
    """Per county: schools, students and each measure's enrolment-weighted mean (cohort_stats.county_values)."""
    from junheng.rules import cohort_stats
    measures = _measures(measures)
    if not stored_statuses(con, scope, min_count, memo) or not measures:
        rows = _fallback_rows(con, scope, source, years, ["students", *measures], min_count, memo)
        return cohort_stats.county_values(rows, measures)
    ((_, text),), params = _sources({"a": source}, years, ["students", *measures], min_count, con=con,
                                    memo=memo)
    body = (f"select * from (\n    select county_code, school_id, students as weight, {', '.join(measures)}\n"
            f"    from (\n{text}\n) as cohort_rows\n) unpivot include nulls (value for measure in "
            f"({', '.join(measures)}))")
    found = _run_statistic(con, "cohort_county_values", scope, body, params)
    counties = found.group_by("county_code").agg(pl.col("schools").first().cast(pl.UInt32),
                                                 pl.col("students").first().cast(pl.Int64))
    means = found.pivot(on="measure", index="county_code", values="mean") if found.height else pl.DataFrame(
        {"county_code": []}, schema={"county_code": pl.String})
    for m in measures:
        if m not in means.columns:
            means = means.with_columns(pl.lit(None, pl.Float64).alias(m))
    return counties.join(means.select("county_code", *[pl.col(m).cast(pl.Float64) for m in measures]),
                         on="county_code", how="left").sort("county_code")


def rows_page(con, scope, source, years, min_count: int, columns=None, year: int | None = None, limit: int = 1000,
              memo: dict | None = None) -> pl.DataFrame:
    """The first `limit` rows of the cohort in the query's order (of one year when given), as published."""
    if not stored_statuses(con, scope, min_count, memo):
        rows = _fallback_rows(con, scope, source, years, columns, min_count, memo)
        return (rows if year is None else rows.filter(pl.col("year") == year)).head(limit)
    ((_, text),), params = _sources({"a": source}, years, columns, min_count, statuses=True)
    params["row_limit"] = int(limit)
    where = ""
    if year is not None:
        params["shown_year"] = int(year)
        where = "where year = $shown_year\n"
    return db.run_text(con, f"select *\nfrom (\n{text}\n) as cohort_rows\n{where}{ORDER}\nlimit $row_limit", scope,
                       params)


def county_counts(con, scope, source, years, min_count: int, year: int, memo: dict | None = None) -> pl.DataFrame:
    """county_code, value: the cohort's schools in each county in `year` (the map when there are too many)."""
    if not stored_statuses(con, scope, min_count, memo):
        rows = _fallback_rows(con, scope, source, years, [], min_count, memo).filter(pl.col("year") == year)
        return rows.group_by("county_code").agg(pl.col("school_id").n_unique().alias("value")).sort("county_code")
    ((_, text),), params = _sources({"a": source}, years, [], min_count, con=con, memo=memo)
    params["shown_year"] = int(year)
    return db.run_text(con, f"select county_code, count(distinct school_id) as value\nfrom (\n{text}\n) as cohort_rows\n"
                       "where year = $shown_year\ngroup by county_code\norder by county_code", scope, params)


def plan(cohort: grammar.Cohort, years: tuple[int, int], min_count: int) -> Result:
    """The SQL `run` runs for the cohort's rows (every column) and its bound values, without running it: what the
    method panel shows (its row counts come from `size`)."""
    if cohort.follow_year is not None:  # one query gives a followed cohort's rows as published
        text, params = published_sql(cohort, years, None, min_count)
        return Result(pl.DataFrame(), text, params, 0, (), min_count)
    later = _later(cohort, min_count)
    text, params = sql(cohort, years, None, tuple(c for c in cohort.conditions if c not in later))
    return Result(pl.DataFrame(), text, params, 0, later, min_count)


# What the page may ask for (junheng/views/cache.py `cohort`): each returns a small result.
STATISTICS = {"overview": overview, "size": size, "facets": facet_counts, "summaries": summaries, "trends": trends, "histogram": histogram,
              "county_values": county_values, "rows_page": rows_page, "county_counts": county_counts}


# --- The cohort base: the published rows, narrow, once per data version --------------------------------------------
# A national cohort's statistics read 3.9 million school-years. From the yearly snapshots every query scans wide
# files, computes the derived measures and looks up the stored count decisions (size, facets and summary: about
# 2 s); from this copy, written with each data version for the privacy threshold of the settings file, a third of
# that. A statistic uses it only when every column and condition it needs is in it and the threshold matches (a
# condition on a raw count, on a protected count or on school_id reads the snapshots as before); pages of rows and
# exports always read the snapshots.
BASE_FACETS = db.COHORT_BASE_FACETS
BASE_KEPT = db.HISTORY_KEPT  # older bases are deleted beyond this many, as older layouts (open connections read them)
BASE_ROWS = 100_000


base_columns = db.cohort_base_columns  # where the base lies is the query layer's to know (it opens it)


def fits_base(cohort: grammar.Cohort, columns, min_count: int) -> bool:
    """Whether the cohort base holds the columns and the conditions' columns (none on a protected count)."""
    held = set(base_columns()) | {"year", "county_code"}
    return (columns is not None and not _later(cohort, min_count)
            and set(columns) <= held | {"school_id"} and all(c.column in held for c in cohort.conditions))


def has_base(con, min_count: int, memo: dict | None = None) -> bool:
    """Whether con's data have a cohort base published with this threshold (kept in memo)."""
    from junheng.data.scope import EVERYTHING
    memo = {} if memo is None else memo
    key = ("base", int(min_count))
    if key not in memo:
        found = db.run(con, "cohort_base_threshold", EVERYTHING)["min_count"].to_list()
        memo[key] = int(min_count) in found
    return memo[key]


base_path = db.cohort_base_path


def write_base(data_dir, min_count: int):
    """Write the cohort base of the current data (nothing to do when it exists): every year's published rows with
    KEYS and base_columns, sorted by county, school and year. Best effort: returns its path, or None."""
    from pathlib import Path

    from junheng.data.scope import EVERYTHING
    data_dir = Path(data_dir)
    target = base_path(data_dir, db._manifest(data_dir), min_count)
    if target is None or target.exists():
        return target
    con = db.connect(data_dir)
    tmp = target.with_name(f".{target.name}.tmp")
    try:
        if not stored_statuses(con, EVERYTHING, min_count):
            return None   # decisions for another threshold are not stored: the statistics read the snapshots
        years = db.run(con, "snapshot_years", EVERYTHING)["year"].to_list()
        if not years:
            return None
        text, params = published_sql(grammar.Cohort("", None, None, ()), (min(years), max(years)),
                                     list(base_columns()), min_count, statuses=False)
        target.parent.mkdir(parents=True, exist_ok=True)
        db.copy_text(con, f"select *\nfrom (\n{text}\n) as cohort_rows\n{ORDER}", EVERYTHING, params, tmp,
                     row_group_size=BASE_ROWS)
        tmp.replace(target)
    finally:
        con.close()
        tmp.unlink(missing_ok=True)
    older = sorted((p for p in target.parent.glob("*.parquet") if p != target), key=lambda p: p.stat().st_mtime)
    for stale in older[:max(0, len(older) - (BASE_KEPT - 1))]:
        stale.unlink(missing_ok=True)
    return target

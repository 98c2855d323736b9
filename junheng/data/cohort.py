"""The cohort query: queries/cohort_rows.sql, its conditions appended from fixed templates, every value bound.

Only identifiers from the allow-list (junheng/rules/cohort.py) and the operator templates below are written into
the SQL; every value a user gave is a named parameter ($c0, $c1, …). The query runs through the scoped views in a
cursor of its own, like every named query (db.run). Small left-behind and migrant counts are then suppressed the
way every page suppresses them (junheng/rules/published_counts.py); conditions on those counts are applied to the
published values only, so a cohort can never tell a suppressed count by including or leaving out its school.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from junheng.data import db
from junheng.rules import cohort as grammar
from junheng.rules import published_counts

QUERY = "cohort_rows"
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


def sql(cohort: grammar.Cohort, years: tuple[int, int], columns=None, in_sql=None) -> tuple[str, dict]:
    """(SQL, bound values) for the cohort's rows; columns: the columns to select (all when None).

    in_sql: the conditions written into the SQL (default all); the others are left to the privacy step.
    """
    body = db.query_text(QUERY)
    if CONDITIONS_MARK not in body or COLUMNS_MARK not in body:
        raise db.DataError(f"queries/{QUERY}.sql lost its markers")
    params: dict = {"region": cohort.region, "year_from": int(years[0]), "year_to": int(years[1])}
    clauses = []
    for n, condition in enumerate(cohort.conditions if in_sql is None else in_sql):
        column = _identifier(condition.column)
        param = f"c{n}"
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


def condition_expr(condition: grammar.Condition) -> pl.Expr:
    """The condition as a Polars filter (a null value, e.g. a suppressed count, never meets it)."""
    col, value = pl.col(condition.column), condition.value
    expr = {"=": lambda: col == value, "!=": lambda: col != value, ">": lambda: col > value,
            ">=": lambda: col >= value, "<": lambda: col < value, "<=": lambda: col <= value,
            "in": lambda: col.is_in(list(value))}[condition.op]()
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


def rerun_script(result: Result, present_columns: set[str] | None = None) -> str:
    """What a researcher runs in DuckDB from the data directory to get the same rows from the Parquet snapshots:
    the `schools` view, the query prepared, executed with the bound values."""
    missing = [name for name in db.schools_columns() if present_columns is not None and name not in present_columns]
    extra = "".join(f", null::{db.SQL_TYPES[db.schools_columns()[m]]} as {m}" for m in missing)
    args = ", ".join(f"{k} := {literal(v)}" for k, v in result.params.items())
    lines = ["-- run in the data directory: duckdb -c \".read cohort.sql\"",
             f"create or replace view schools as select *{extra} "
             "from read_parquet('snapshots/year=*/*.parquet', union_by_name = true);",
             "prepare cohort as", result.sql.split("\n", 2)[2].rstrip().rstrip(";") + ";",
             f"execute cohort({args});"]
    if result.after:
        lines.append("-- then, as the app does: a suppressed left-behind or migrant count meets no condition on it: "
                     + "; ".join(c.text for c in result.after))
    return "\n".join(lines) + "\n"

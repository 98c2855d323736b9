"""A cohort's rows as a panel (issue 26 point 3): per school its first and last year in the data, whether it is in
every year of the range and how it left; a wide layout (school × measure-by-year); a county × year table of the
cohort's aggregates, to join with county covariates. Pure functions on Polars frames."""
from __future__ import annotations

import polars as pl

LAYOUTS = ("long", "wide", "county")
SPAN_SCHEMA = {"school_id": pl.String, "first_year": pl.Int32, "last_year": pl.Int32, "years_present": pl.Int64,
               "last_parent_school_id": pl.String}


def with_panel(rows: pl.DataFrame, spans: pl.DataFrame, years: tuple[int, int], last_data_year: int) -> pl.DataFrame:
    """rows with first_year and last_year (in the data, any year), in_every_year (a row in each year of the range)
    and exit: null while the school is in the data's last year, 'merged' when its last row names a school it
    belongs to (parent_school_id: it was taken into that school), else 'closed'."""
    per_school = rows.group_by("school_id").agg(pl.col("year").n_unique().alias("_years_in_range"))
    spans = spans.select(list(SPAN_SCHEMA)).cast(SPAN_SCHEMA)
    exit_kind = (pl.when(pl.col("last_year") >= last_data_year).then(None)
                 .when(pl.col("last_parent_school_id").is_not_null()).then(pl.lit("merged"))
                 .otherwise(pl.lit("closed")))
    wanted = spans.join(per_school, on="school_id", how="inner").select(
        "school_id", "first_year", "last_year",
        (pl.col("_years_in_range") == years[1] - years[0] + 1).alias("in_every_year"),
        exit_kind.alias("exit"))
    return rows.join(wanted, on="school_id", how="left")


def wide(rows: pl.DataFrame, measures) -> pl.DataFrame:
    """One row per school (county_code, school_id, school_name), one column per measure and year: measure_YYYY."""
    measures = [m for m in measures if m in rows.columns]
    ids = [c for c in ("county_code", "school_id", "school_name") if c in rows.columns]
    names = rows.group_by("school_id").agg(*[pl.col(c).sort_by("year").last() for c in ids if c != "school_id"])
    years = sorted(rows["year"].unique().to_list())
    out = names.sort("school_id") if ids else rows.select("school_id").unique().sort("school_id")
    for measure in measures:
        spread = rows.select("school_id", "year", measure).pivot(on="year", index="school_id", values=measure)
        spread = spread.rename({str(y): f"{measure}_{y}" for y in years if str(y) in spread.columns})
        out = out.join(spread, on="school_id", how="left")
    return out.select(ids + [c for c in out.columns if c not in ids]).sort(
        [c for c in ("county_code", "school_id") if c in ids])


def county_year(rows: pl.DataFrame, measures) -> pl.DataFrame:
    """Per county and year: the cohort's schools, students and each measure's enrolment-weighted mean (schools with
    a value only), as the cohort's summaries weigh them."""
    measures = [m for m in measures if m in rows.columns and rows.schema[m].is_numeric() and m != "students"]
    weight = pl.col("students").cast(pl.Float64)
    means = []
    for m in measures:
        has = pl.col(m).is_not_null() & weight.is_not_null()
        total = weight.filter(has).sum()
        # no school with a value (or no students): no mean, not NaN
        means.append(pl.when(total > 0).then((pl.col(m) * weight).filter(has).sum() / total).alias(m))
    return rows.group_by("county_code", "year").agg(
        pl.col("school_id").n_unique().alias("schools"), pl.col("students").sum().alias("students"),
        *means).sort("county_code", "year")

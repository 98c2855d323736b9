"""What the cohort workbench shows about a cohort's school-year rows: size, facets, summary, distributions, trend,
the comparison of two cohorts and the counties most like a county. Pure functions on Polars frames.

Means are weighted by enrolment (小学 + 初中 students, the `students` measure), as the official figures are;
median, p10 and p90 are taken across school-years (each school-year counts once). A value that is not
published (a suppressed left-behind or migrant count, or a share made from it) is null and counts nowhere.
"""
from __future__ import annotations

import math

import polars as pl

WEIGHT = "students"
STATISTICS = ("schools", "mean", "median", "p10", "p90")


def size(rows: pl.DataFrame) -> dict:
    """schools (distinct), school-years (rows), students in the last year of the rows, and that year."""
    if rows.is_empty():
        return {"schools": 0, "school_years": 0, "students": 0, "year": None}
    last = rows["year"].max()
    return {"schools": rows["school_id"].n_unique(), "school_years": rows.height,
            "students": int(rows.filter(pl.col("year") == last)[WEIGHT].sum() or 0), "year": int(last)}


def _stats(measure: str) -> list[pl.Expr]:
    x, w = pl.col(measure), pl.col(WEIGHT).cast(pl.Float64)
    valid = x.is_not_null() & x.is_not_nan() & w.is_not_null()
    weight = w.filter(valid)
    return [
        valid.sum().alias("schools"),
        pl.when(weight.sum() > 0).then((x.filter(valid) * weight).sum() / weight.sum()).alias("mean"),
        x.filter(valid).median().alias("median"),
        x.filter(valid).quantile(0.1, "linear").alias("p10"),
        x.filter(valid).quantile(0.9, "linear").alias("p90"),
    ]


def summary(rows: pl.DataFrame, measures) -> pl.DataFrame:
    """One row per measure: school-years with a value, enrolment-weighted mean, median, p10, p90."""
    parts = [rows.select(pl.lit(m).alias("measure"), *_stats(m)) for m in measures if m in rows.columns]
    if not parts:
        return pl.DataFrame(schema={"measure": pl.String, "schools": pl.UInt32,
                                    **{s: pl.Float64 for s in STATISTICS[1:]}})
    return pl.concat(parts, how="vertical_relaxed")


def trend(rows: pl.DataFrame, measure: str) -> pl.DataFrame:
    """Per year: schools, students and the measure's weighted mean, median, p10 and p90."""
    return rows.group_by("year").agg(
        pl.len().alias("school_count"), pl.col(WEIGHT).sum().alias("students"), *_stats(measure)).sort("year")


def facet_counts(rows: pl.DataFrame, column: str) -> dict:
    """value -> school-years of the cohort with it (nulls left out)."""
    if column not in rows.columns:
        return {}
    counts = rows.group_by(column).len().drop_nulls(column)
    return dict(zip(counts[column].to_list(), counts["len"].to_list()))


def histogram(frames: dict[str, pl.DataFrame], measure: str, bins: int = 30) -> pl.DataFrame:
    """Counts of school-years per bin of measure, for one or more cohorts (name -> rows) on the same bins:
    cohort, bin_start, bin_end, count, share (of the cohort's school-years with a value)."""
    values = [f[measure].drop_nulls().drop_nans() for f in frames.values() if measure in f.columns]
    values = [v for v in values if len(v)]
    if not values:
        return pl.DataFrame(schema={"cohort": pl.String, "bin_start": pl.Float64, "bin_end": pl.Float64,
                                    "count": pl.UInt32, "share": pl.Float64})
    # Bins over p0.5–p99.5 of all values so that a few extreme schools do not squash the rest; ends are open.
    every = pl.concat(values)
    low, high = float(every.quantile(0.005)), float(every.quantile(0.995))
    if not high > low:
        low, high = float(every.min()), float(every.max()) + (1 if every.max() == every.min() else 0)
    width = (high - low) / bins
    parts = []
    for name, frame in frames.items():
        v = frame[measure].drop_nulls().drop_nans() if measure in frame.columns else pl.Series([], dtype=pl.Float64)
        index = ((v - low) / width).floor().clip(0, bins - 1).cast(pl.Int64)
        counts = pl.DataFrame({"bin": index}).group_by("bin").len()
        full = pl.DataFrame({"bin": range(bins)}).join(counts, on="bin", how="left").fill_null(0).sort("bin")
        parts.append(full.select(
            pl.lit(name).alias("cohort"), (low + pl.col("bin") * width).alias("bin_start"),
            (low + (pl.col("bin") + 1) * width).alias("bin_end"), pl.col("len").cast(pl.UInt32).alias("count"),
            (pl.col("len") / max(len(v), 1)).alias("share")))
    return pl.concat(parts)


def compare(a: pl.DataFrame, b: pl.DataFrame) -> pl.DataFrame:
    """Two summaries side by side: measure, a_* and b_* statistics, difference and ratio of the weighted means."""
    both = a.rename({c: f"a_{c}" for c in a.columns if c != "measure"}).join(
        b.rename({c: f"b_{c}" for c in b.columns if c != "measure"}), on="measure", how="left", maintain_order="left")
    return both.with_columns(
        (pl.col("a_mean") - pl.col("b_mean")).alias("difference"),
        pl.when(pl.col("b_mean") != 0).then(pl.col("a_mean") / pl.col("b_mean")).alias("ratio"))


def rest(region_rows: pl.DataFrame, cohort_rows: pl.DataFrame) -> pl.DataFrame:
    """The school-years of the region that are not in the cohort."""
    return region_rows.join(cohort_rows.select("school_id", "year"), on=["school_id", "year"], how="anti")


def county_values(rows: pl.DataFrame, measures) -> pl.DataFrame:
    """Per county: schools, students and each measure's enrolment-weighted mean over its school-years."""
    w = pl.col(WEIGHT).cast(pl.Float64)
    means = []
    for m in measures:
        valid = pl.col(m).is_not_null() & pl.col(m).is_not_nan() & w.is_not_null()
        means.append(pl.when(w.filter(valid).sum() > 0).then(
            (pl.col(m).filter(valid) * w.filter(valid)).sum() / w.filter(valid).sum()).alias(m))
    return rows.group_by("county_code").agg(pl.col("school_id").n_unique().alias("schools"),
                                            pl.col(WEIGHT).sum().alias("students"), *means).sort("county_code")


def similar(counties: pl.DataFrame, target: str, measures, k: int = 5) -> pl.DataFrame:
    """The county `target` and the k counties nearest to it on measures, each standardised across the counties
    (z = (x − mean) / standard deviation); distance = root mean square of the z differences. Counties without a
    value for every measure are left out; a measure with no spread counts for nothing.
    Returns county_code, distance (0 for the target), rank (0 for the target), the measures and their z values."""
    measures = [m for m in measures if m in counties.columns]
    usable = counties.drop_nulls(measures).filter(pl.all_horizontal(pl.col(m).is_not_nan() for m in measures)) \
        if measures else counties.head(0)
    if target not in set(usable["county_code"]) or not measures:
        return usable.head(0).with_columns(pl.lit(None, pl.Float64).alias("distance"),
                                           pl.lit(None, pl.Int64).alias("rank"))
    z = []
    for m in measures:
        sd = usable[m].std(ddof=0)
        z.append(((pl.col(m) - usable[m].mean()) / sd if sd and sd > 0 else pl.lit(0.0)).alias(f"z_{m}"))
    scored = usable.with_columns(z)
    own = scored.filter(pl.col("county_code") == target).row(0, named=True)
    distance = (pl.sum_horizontal([(pl.col(f"z_{m}") - own[f"z_{m}"]) ** 2 for m in measures]) / len(measures)).sqrt()
    ranked = scored.with_columns(distance.alias("distance")).sort("distance", "county_code")
    ranked = pl.concat([ranked.filter(pl.col("county_code") == target),
                        ranked.filter(pl.col("county_code") != target).head(k)])
    return ranked.with_columns(pl.int_range(pl.len()).alias("rank"))


def finite(value) -> bool:
    return value is not None and isinstance(value, (int, float)) and math.isfinite(value)

"""Tables and labels of the cohort page, built from the cohort statistics (pure functions, no Streamlit)."""
from __future__ import annotations

import polars as pl

from junheng import formats
from junheng.i18n import t
from junheng.rules import cohort, indicators

FACETS = ("urban_rural", "school_type", "is_boarding", "is_public")
VIEWS = ("summary", "distribution", "trend", "map", "compare", "similar", "rows")
DEFAULT_MEASURES = ("primary_class_size", "students_per_teacher", "building_area_per_student", "left_behind_share")
MAX_MEASURES = 8
MAP_SCHOOLS = 2000   # above this many schools the map shows counts per county


def facets(county: str | None) -> tuple[str, ...]:
    """The facet columns: townships too once a county is chosen."""
    return FACETS + (("township",) if county else ())


def facet_options(column: str, counts: dict) -> list:
    """The values a facet offers: every known value of a code column, else those the cohort has."""
    if column in ("is_boarding", "is_public"):
        return [True, False]
    field = cohort.fields()[column]
    return list(field.values) if field.values else sorted(counts, key=str)


def facet_label(column: str, value, counts: dict, lang: str) -> str:
    return f"{cohort.value_label(column, value, lang)} · {counts.get(value, 0):,}"


def measure_label(name: str, lang: str) -> str:
    field = cohort.fields()[name]
    unit = field.unit(lang)
    return f"{field.label(lang)}（{unit}）" if unit and lang == "zh" else f"{field.label(lang)} ({unit})" if unit \
        else field.label(lang)


MISSING = "—"  # a measure with no value in a cohort (no school has it): shown as a dash, not "None"


def _format(name: str, value, digits: int | None = None) -> str:
    """A measure's value: a share in % to one decimal, a number with separators and digits decimals (by default
    those its own size takes: formats.shared_digits); a dash when missing."""
    if value is None:
        return MISSING
    if cohort.fields()[name].kind == "share":
        return formats.percent(value, 1)
    return formats.number(value, formats.shared_digits([value]) if digits is None else digits)


def _row(name: str, values) -> list[str]:
    """Values of one measure read side by side (mean, median, p10, p90), all with the same decimals."""
    digits = formats.shared_digits(values)
    return [_format(name, v, digits) for v in values]


def summary_table(summary: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The summary for display: measure, unit, school-years with a value, weighted mean, median, p10, p90."""
    rows = []
    for r in summary.iter_rows(named=True):
        f = cohort.fields()[r["measure"]]
        rows.append((f.label(lang), "%" if f.kind == "share" else f.unit(lang), r["schools"],
                     *_row(r["measure"], [r[s] for s in ("mean", "median", "p10", "p90")])))
    names = [t(k, lang) for k in ("stat_measure", "stat_unit", "stat_schools", "stat_mean", "stat_median", "stat_p10",
                                  "stat_p90")]
    return pl.DataFrame(rows, schema={n: pl.String if i != 2 else pl.Int64 for i, n in enumerate(names)}, orient="row")


def compare_table(compared: pl.DataFrame, a: str, b: str, lang: str) -> pl.DataFrame:
    """Two cohorts side by side: weighted means and medians of each, difference and ratio of the means."""
    rows = []
    for r in compared.iter_rows(named=True):
        m = r["measure"]
        a_mean, b_mean, difference, a_median, b_median = _row(m, [r[k] for k in (
            "a_mean", "b_mean", "difference", "a_median", "b_median")])
        rows.append((cohort.fields()[m].label(lang), a_mean, b_mean, difference,
                     MISSING if r["ratio"] is None else formats.number(r["ratio"], 2), a_median, b_median,
                     r["a_schools"], r["b_schools"]))
    names = [t("stat_measure", lang), f"{a} · {t('stat_mean', lang)}", f"{b} · {t('stat_mean', lang)}",
             t("cmp_difference", lang), t("cmp_ratio", lang), f"{a} · {t('stat_median', lang)}",
             f"{b} · {t('stat_median', lang)}", f"{a} · {t('stat_schools', lang)}", f"{b} · {t('stat_schools', lang)}"]
    return pl.DataFrame(rows, schema={n: pl.Int64 if i >= 7 else pl.String for i, n in enumerate(names)}, orient="row")


def similar_table(similar: pl.DataFrame, counties: pl.DataFrame, measures, lang: str) -> pl.DataFrame:
    """The chosen county first, then its nearest counties: name, prefecture, distance and each measure."""
    named = similar.join(counties.select("county_code", "county_name", "prefecture_name", "province_name"),
                         on="county_code", how="left")
    digits = {m: formats.shared_digits(named[m]) for m in measures}
    return named.select(
        pl.col("rank").alias(t("similar_rank", lang)),
        pl.col("county_name").alias(t("county_name", lang)),
        pl.concat_str("province_name", "prefecture_name", separator=" ").alias(t("prefecture", lang)),
        pl.col("distance").round(3).alias(t("similar_distance", lang)),
        pl.col("schools").alias(t("cohort_schools", lang)),
        # each measure as the summary shows it: shares in %, numbers with one count of decimals per column
        *[pl.col(m).map_elements(lambda v, m=m, d=digits[m]: _format(m, v, d), return_dtype=pl.String)
          .fill_null(MISSING).alias(cohort.fields()[m].label(lang)) for m in measures],
    )


def map_rows(rows: pl.DataFrame, measure: str | None, lang: str) -> list[dict]:
    """The cohort's schools for the cluster map: circle size by students, tooltip name and measure."""
    located = rows.drop_nulls(["lon", "lat"])
    label = cohort.fields()[measure].label(lang) if measure else ""
    out = []
    for r in located.select("lon", "lat", "school_name", "students",
                            *( [measure] if measure else [])).iter_rows(named=True):
        value = _format(measure, r[measure]) if measure else None
        tip = f"{r['school_name']} · {t('students', lang)} {r['students']:,}" + (
            f" · {label} {value}" if value is not None else "")
        out.append({"lon": r["lon"], "lat": r["lat"], "size": float(r["students"] or 0), "tooltip": tip})
    return out


def condition_lines(conditions) -> str:
    return "\n".join(c.text for c in conditions)


def group_label(value: str, lang: str) -> str:
    return t(f"group_{value}", lang) if value in indicators.GROUPS else value


def county_counts_map(geometry, counts: pl.DataFrame, lang: str):
    """County polygons with the number of the cohort's schools in each (counts: county_code, value), for a
    choropleth: value, value_text."""
    shown = geometry[geometry["county_code"].isin(counts["county_code"].to_list())].copy()
    by_code = dict(zip(counts["county_code"].to_list(), counts["value"].to_list()))
    shown["value"] = [float(by_code.get(c, 0)) for c in shown["county_code"]]
    shown["value_text"] = [f"{int(v):,}" for v in shown["value"]]
    return shown


def similar_counties(values_of, county: str, measures, span: tuple[int, int], year: int | None = None, k: int = 5):
    """(the k nearest counties, the county values they were found in, the years used, whether it fell back):
    over one chosen year, or the pooled school-years of the range (year None). A chosen year in which the county has
    no complete values (a cohort that shrank to nothing) falls back to the pooled range, and the caller says so.
    values_of(years) gives the counties' values over those years (data/cohort.py county_values)."""
    from junheng.rules import cohort_stats
    used = (year, year) if year is not None else tuple(span)
    values = values_of(used)
    nearest = cohort_stats.similar(values, county, measures, k)
    if nearest.is_empty() and year is not None:
        pooled = values_of(tuple(span))
        again = cohort_stats.similar(pooled, county, measures, k)
        if not again.is_empty():
            return again, pooled, tuple(span), True
    return nearest, values, used, False


def years_label(years: tuple[int, int], lang: str) -> str:
    """2025, or 2016–2025 合并 / pooled."""
    from junheng.i18n import t
    return str(years[0]) if years[0] == years[1] else t("cohort_similar_pooled", lang, first=years[0], last=years[1])

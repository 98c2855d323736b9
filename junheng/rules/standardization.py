"""Standardization (标准化建设) and large classes (大班额): progress against the deadlines and the pace to them."""
from __future__ import annotations

import math

import polars as pl

from junheng.i18n import t


def progress(county_totals: pl.DataFrame) -> pl.DataFrame:
    """Per county and year: standardized shares (all schools, public schools) and large-class shares."""
    return county_totals.with_columns(
        (pl.col("standardized_schools") / pl.col("schools")).alias("standardized_share"),
        (pl.col("public_standardized_schools") / pl.col("public_schools")).alias("public_standardized_share"),
        (pl.col("classes_56_65") / pl.col("classes")).alias("share_56_65"),
        (pl.col("classes_66_plus") / pl.col("classes")).alias("share_66_plus"),
        ((pl.col("classes_56_65") + pl.col("classes_66_plus")) / pl.col("classes")).alias("share_56_plus"),
        (pl.col("public_schools") - pl.col("public_standardized_schools")).alias("remaining_public"),
    ).sort("county_code", "year")


def region_progress(county_totals: pl.DataFrame) -> pl.DataFrame:
    """The same shares for the whole region, from summed counts (never an average of county shares)."""
    sums = ("schools", "standardized_schools", "public_schools", "public_standardized_schools", "classes",
            "classes_56_65", "classes_66_plus")
    totals = county_totals.group_by("year").agg(pl.col(c).sum() for c in sums).with_columns(
        pl.lit("").alias("county_code"))
    return progress(totals).drop("county_code")


def projected_year(year: int, remaining: float, pace: float | None) -> int | None:
    """The year the remaining amount is gone at pace per year; the year itself when nothing remains."""
    if remaining <= 0:
        return year
    if pace is None or pace <= 0:
        return None
    return year + math.ceil(remaining / pace - 1e-9)


def roadmap(progress_frame: pl.DataFrame, year: int, rules: dict) -> pl.DataFrame:
    """Per county in year: what remains, the deadline, the recent pace and the projected year, flagged if late.

    Pace is the average yearly change over the last `pace_years` years: schools standardized a year, and
    large (56+) classes removed a year. The large-class goal is the "basically eliminated" share.
    """
    tg = rules["targets"]
    k = int(tg["pace_years"])
    now = progress_frame.filter(pl.col("year") == year)
    before = progress_frame.filter(pl.col("year") == year - k).select(
        "county_code", pl.col("public_standardized_schools").alias("_std_before"),
        (pl.col("classes_56_65") + pl.col("classes_66_plus")).alias("_large_before"))
    rows = []
    for r in now.join(before, on="county_code", how="left").iter_rows(named=True):
        large = r["classes_56_65"] + r["classes_66_plus"]
        large_goal = math.floor(tg["large_class_basic_share"] * r["classes"])
        std_pace = None if r["_std_before"] is None else (r["public_standardized_schools"] - r["_std_before"]) / k
        large_pace = None if r["_large_before"] is None else (r["_large_before"] - large) / k
        std_year = projected_year(year, r["remaining_public"], std_pace)
        large_year = projected_year(year, large - large_goal, large_pace)
        rows.append({
            "county_code": r["county_code"], "remaining_public": r["remaining_public"],
            "public_standardized_share": r["public_standardized_share"],
            "standardization_deadline": int(tg["standardized_all_public_year"]), "standardization_pace": std_pace,
            "standardization_year": std_year,
            "standardization_late": r["remaining_public"] > 0 and (
                std_year is None or std_year > tg["standardized_all_public_year"]),
            "classes_56_65": r["classes_56_65"], "classes_66_plus": r["classes_66_plus"],
            "share_56_plus": r["share_56_plus"], "share_66_plus": r["share_66_plus"],
            "large_class_deadline": int(tg["large_class_basic_year"]), "large_class_pace": large_pace,
            "large_class_year": large_year,
            "large_class_late": large > large_goal and (large_year is None or large_year > tg["large_class_basic_year"]),
        })
    return pl.DataFrame(rows, infer_schema_length=None)


def milestones(rules: dict, lang: str) -> dict[str, list[tuple[float, str]]]:
    """Target lines for the charts: standardized shares, and the "basically eliminated" class shares."""
    tg = rules["targets"]
    return {
        "standardized": [(tg["standardized_share_2015"], t("target_standardized_2015", lang,
                                                            share=tg["standardized_share_2015"],
                                                            year=tg["standardized_share_year"])),
                         (1.0, t("target_all_public", lang, year=tg["standardized_all_public_year"]))],
        "classes": [(tg["huge_class_basic_share"], t("target_66", lang, share=tg["huge_class_basic_share"],
                                                      year=tg["huge_class_basic_year"])),
                    (tg["large_class_basic_share"], t("target_56", lang, share=tg["large_class_basic_share"],
                                                       year=tg["large_class_basic_year"]))],
    }


def milestone_checks(region: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """Each published milestone for the region: the year, the target, the value reached and met or not."""
    tg = rules["targets"]
    by_year = {r["year"]: r for r in region.iter_rows(named=True)}
    checks = []

    def add(key, year, target, value, met):
        checks.append({"milestone": key, "year": year, "target": target, "value": value, "met": met})

    y = int(tg["standardized_share_year"])
    if y in by_year:
        v = by_year[y]["standardized_share"]
        add("standardized_2015", y, tg["standardized_share_2015"], v, v >= tg["standardized_share_2015"])
    y = int(tg["standardized_all_public_year"])
    if y in by_year:
        v = by_year[y]["public_standardized_share"]
        add("all_public", y, 1.0, v, v >= 1.0)
    if 2016 in by_year and 2017 in by_year and by_year[2016]["classes_66_plus"]:
        cut = 1 - by_year[2017]["classes_66_plus"] / by_year[2016]["classes_66_plus"]
        add("cut_66_2017", 2017, tg["huge_class_cut_2017"], cut, cut >= tg["huge_class_cut_2017"])
    y = int(tg["huge_class_basic_year"])
    if y in by_year:
        v = by_year[y]["share_66_plus"]
        add("basic_66", y, tg["huge_class_basic_share"], v, v <= tg["huge_class_basic_share"])
    for y in range(2018, int(tg["large_class_basic_year"]) + 1):
        if y in by_year and y - 1 in by_year and by_year[y - 1]["classes_56_65"] + by_year[y - 1]["classes_66_plus"]:
            prev = by_year[y - 1]["classes_56_65"] + by_year[y - 1]["classes_66_plus"]
            cut = 1 - (by_year[y]["classes_56_65"] + by_year[y]["classes_66_plus"]) / prev
            add(f"cut_56_{y}", y, tg["large_class_yearly_cut"], cut, cut >= tg["large_class_yearly_cut"])
    y = int(tg["large_class_basic_year"])
    if y in by_year:
        v = by_year[y]["share_56_plus"]
        add("basic_56", y, tg["large_class_basic_share"], v, v <= tg["large_class_basic_share"])
    return pl.DataFrame(checks, infer_schema_length=None)


def roadmap_table(plan: pl.DataFrame, names: dict[str, str], lang: str) -> pl.DataFrame:
    """The 时间表和路线图 per county, labelled: what remains, by when, on the current pace."""
    def when(year_col: str, late_col: str) -> pl.Expr:
        return (pl.when(pl.col(year_col).is_null()).then(pl.lit(t("no_progress", lang)))
                .otherwise(pl.col(year_col).cast(pl.String))
                + pl.when(pl.col(late_col)).then(pl.lit(" ⚠ " + t("late", lang))).otherwise(pl.lit("")))
    return plan.sort("standardization_late", "large_class_late", "remaining_public", descending=True).select(
        pl.col("county_code").replace_strict(names, default=None).fill_null(pl.col("county_code"))
        .alias(t("county_name", lang)),
        pl.col("remaining_public").alias(t("remaining_public", lang)),
        (pl.col("public_standardized_share") * 100).round(1).alias(t("public_standardized_pct", lang)),
        pl.col("standardization_pace").round(1).alias(t("standardization_pace", lang)),
        when("standardization_year", "standardization_late").alias(t("standardization_year", lang)),
        pl.col("classes_66_plus").alias(t("classes_66_plus", lang)),
        pl.col("classes_56_65").alias(t("classes_56_65", lang)),
        (pl.col("share_56_plus") * 100).round(1).alias(t("share_56_plus_pct", lang)),
        pl.col("large_class_pace").round(1).alias(t("large_class_pace", lang)),
        when("large_class_year", "large_class_late").alias(t("large_class_year", lang)),
    )


def milestone_table(checks: pl.DataFrame, lang: str) -> pl.DataFrame:
    if checks.is_empty():
        return checks
    return checks.select(
        pl.col("milestone").map_elements(lambda m: _milestone_label(m, lang), return_dtype=pl.String)
        .alias(t("milestone", lang)),
        pl.col("year").alias(t("year", lang)),
        pl.format("{}%", (pl.col("target") * 100).round(1)).alias(t("target", lang)),
        pl.format("{}%", (pl.col("value") * 100).round(1)).alias(t("reached", lang)),
        pl.col("met").replace_strict({True: t("pass", lang), False: t("fail", lang)}, return_dtype=pl.String)
        .alias(t("verdict", lang)),
    )


def _milestone_label(key: str, lang: str) -> str:
    if key.startswith("cut_56_"):
        return t("milestone_cut_56", lang)
    return t(f"milestone_{key}", lang)


def huge_class_schools(schools: pl.DataFrame, names: dict[str, str], lang: str) -> pl.DataFrame:
    """Schools that still hold 66+ classes (the `huge_class_schools` query), labelled."""
    return schools.select(
        pl.col("county_code").replace_strict(names, default=None).fill_null(pl.col("county_code"))
        .alias(t("county_name", lang)),
        pl.col("school_id").alias(t("school_id", lang)),
        pl.col("school_name").alias(t("school_name", lang)),
        pl.col("classes_66_plus").alias(t("classes_66_plus", lang)),
        pl.col("classes_56_65").alias(t("classes_56_65", lang)),
        pl.col("classes").alias(t("classes", lang)),
    )

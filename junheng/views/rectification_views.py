"""Display tables for the 整改清单 and the 达标方案 (minimum-cost plan), and the school pass/fail map's rows
(pure: frames in, frames out; labels in the chosen language)."""
from __future__ import annotations

import polars as pl

from junheng import formats
from junheng.i18n import labels, t
from junheng.rules import indicators, rectification

PRIORITY_COLOURS = {1: "#d73027", 2: "#fc8d59", 3: "#fee08b"}
PASS_COLOURS = {True: "#1a9850", False: "#d73027"}


def unit(column: str, lang: str) -> str:
    """The unit of a resource column: 平方米 / 元 / 名 / 间."""
    kind = "m2" if column.endswith("_m2") else "cny" if column.endswith("_cny") else (
        "teachers" if "teachers" in column else "rooms")
    return t(f"kit_unit_{kind}", lang)


def priority_labels(lang: str) -> dict[int, str]:
    return {p: t(f"kit_priority_{p}", lang) for p in rectification.PRIORITIES}


def legend(lang: str) -> list[tuple[str, str, str]]:
    """(colour, short label, meaning) per priority, for the legend above the list."""
    return [(PRIORITY_COLOURS[p], t(f"kit_priority_{p}", lang), t(f"kit_priority_{p}_help", lang))
            for p in rectification.PRIORITIES]


def school_list(items: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The school rows of the 整改清单 as shown: priority, school, level, indicator, value, minimum, % of it,
    shortfall and its unit, estimated cost (yuan), in the list's order (priority first)."""
    names = {i.key: i.label(lang) for i in indicators.quality_indicators()}
    units = {c: unit(c, lang) for c in rectification.resource_columns()}
    return items.select(
        pl.col("priority").replace_strict(priority_labels(lang), return_dtype=pl.String).alias(t("kit_priority", lang)),
        pl.col("school_name").alias(t("school_name", lang)),
        pl.col("level").replace_strict(labels("level", indicators.LEVELS, lang), default=pl.col("level"))
        .alias(t("level", lang)),
        pl.col("indicator").replace_strict(names, default=pl.col("indicator")).alias(t("indicator", lang)),
        pl.col("value").alias(t("kit_value", lang)),
        pl.col("minimum").alias(t("kit_minimum", lang)),
        (pl.col("share") * 100).alias(t("kit_share", lang)),
        pl.format("{} {}", pl.col("shortfall").cast(pl.Int64), pl.col("column").replace_strict(units, default=""))
        .alias(t("kit_shortfall", lang)),
        pl.col("cost").alias(t("kit_cost", lang)),
    )


def school_totals_list(totals: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Per school and resource: the addition serving every listed level, its cost and the school's total."""
    units = {c: unit(c, lang) for c in rectification.resource_columns()}
    return totals.select(
        pl.col("school_name").alias(t("school_name", lang)),
        pl.col("column").replace_strict({c: t(f"col_{c}", lang) for c in rectification.resource_columns()},
                                        default=pl.col("column")).alias(t("what_if_resource", lang)),
        pl.format("{} {}", pl.col("addition").cast(pl.Int64), pl.col("column").replace_strict(units, default=""))
        .alias(t("kit_addition", lang)),
        pl.col("cost").alias(t("kit_cost", lang)),
        pl.col("school_cost").alias(t("report_school_total", lang)),
    )


def county_list(county: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The county rows of the 整改清单: each 优质均衡 CV over its ceiling and the schools that raise it most."""
    names = {i.key: i.label(lang) for i in indicators.quality_indicators()}
    return county.select(
        pl.col("priority").replace_strict(priority_labels(lang), return_dtype=pl.String).alias(t("kit_priority", lang)),
        pl.col("level").replace_strict(labels("level", indicators.LEVELS, lang), default=pl.col("level"))
        .alias(t("level", lang)),
        pl.col("indicator").replace_strict(names, default=pl.col("indicator")).alias(t("indicator", lang)),
        pl.col("cv").alias(t("cv", lang)),
        pl.col("ceiling").alias(t("threshold", lang)),
        pl.col("movers").list.join(t("kit_list_separator", lang)).alias(t("kit_movers", lang)),
    )


def summary(items: pl.DataFrame, county: pl.DataFrame, lang: str) -> str:
    """One plain line: how many schools and items, how many CVs over their ceiling, the estimated total."""
    return t("kit_list_summary", lang, schools=items["school_id"].n_unique() if items.height else 0,
             items=items.height, cvs=county.height, total=money(rectification.total_cost(items), lang))


money = formats.money  # the one money format (junheng/formats.py); the views' callers name it here


def plan_table(changes: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The plan's additions as shown: school, resource, amount with its unit, unit cost, cost."""
    resources = {c: t(f"col_{c}", lang) for c in rectification.resource_columns()}
    return changes.select(
        pl.col("school_name").alias(t("school_name", lang)),
        pl.col("school_id").alias(t("school_id", lang)),
        pl.col("column").replace_strict(resources, default=pl.col("column")).alias(t("what_if_resource", lang)),
        pl.col("delta").alias(t("kit_addition", lang)),
        pl.col("unit_cost").alias(t("kit_unit_cost", lang)),
        pl.col("cost").alias(t("kit_cost", lang)),
    )


def plan_status(plan, lang: str) -> str:
    """One line: what the plan costs, its lower bound and status (never 'passes' for a plan that does not)."""
    if plan.status == "nothing":
        return t("kit_plan_nothing", lang)
    if plan.status == "failed":
        return t("kit_plan_failed", lang)
    return t("kit_plan_line", lang, cost=money(plan.cost, lang), n=plan.changes.height,
             bound=money(plan.lower_bound, lang), gap=f"{plan.gap * 100:.1f}")


def school_status_rows(verdicts: pl.DataFrame, lang: str) -> list[dict]:
    """One marker per assessed school with coordinates: lon, lat, passes (every level), tooltip (plain text:
    name, verdict per level and what it lacks in the resource's own unit). Escaped by the map builder."""
    keys = [i for i in indicators.quality_indicators()]
    level_names = labels("level", indicators.LEVELS, lang)
    per_level = verdicts.filter(pl.col("lon").is_not_null() & pl.col("lat").is_not_null()).with_columns(
        pl.concat_str([pl.when(pl.col(f"gap_{i.key}") > 0).then(pl.format(
            "{} +{} {}", pl.lit(i.label(lang)), pl.col(f"gap_{i.key}").ceil().cast(pl.Int64),
            pl.lit(unit(i.numerator, lang)))) for i in keys], separator=t("kit_list_separator", lang),
            ignore_nulls=True).alias("_gaps"),
    ).with_columns(pl.format("{}：{}{}", pl.col("level").replace_strict(level_names, default=pl.col("level")),
                             pl.when(pl.col("school_pass")).then(pl.lit(t("pass", lang))).otherwise(
                                 pl.lit(t("fail", lang))),
                             pl.when(pl.col("_gaps") != "").then(pl.lit(t("kit_lacks", lang)) + pl.col("_gaps"))
                             .otherwise(pl.lit(""))).alias("_line"))
    rows = per_level.group_by("school_id", maintain_order=True).agg(
        pl.first("school_name"), pl.first("lon"), pl.first("lat"), pl.col("school_pass").all().alias("passes"),
        pl.col("_line").str.join(" / ").alias("_lines"))
    return rows.select("lon", "lat", "passes",
                       pl.format("{} · {}", "school_name", "_lines").alias("tooltip")).to_dicts()

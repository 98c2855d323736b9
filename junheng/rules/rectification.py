"""整改清单 (rectification list): what each school lacks for the 优质均衡 minimums, the CVs over their ceiling,
and what it would cost, from unit costs that are settings (thresholds.toml [costs]).

One row per school, level and unmet minimum, with the addition the school needs in the resource's own unit
(m², yuan, whole teachers, whole rooms: every unit whole, rounded up), plus one row per county CV over its
ceiling naming the schools that raise it most (leave-one-out, evaluation.cv_contributions). A school that
meets all seven minimums is not listed.

A combined school (九年一贯制, 完全中学, …) records its resources for the whole school; the evaluation gives each
level its share (facilities by weighted enrolment, teachers and rooms by enrolment). A level's gap is therefore
bought as gap / share at the school, or the level stays short: `shortfall` is that school-wide addition, rounded
up to a whole unit and re-checked against the level's minimum. `school_totals` is one frame per school and
resource (the largest addition any of its levels asks for: one addition serves both levels) with its cost; the
page, the workbook and the deck all read these two frames.

Priorities: 1 = the school fails the per-school rule (each of its unmet minimums must be fixed, or all but one
brought to the rule's share); 2 = a county CV over its ceiling; 3 = the school passes the rule (six minimums
met, the seventh within the share) but one minimum is still unmet.
"""
from __future__ import annotations

import math

import polars as pl

from junheng import settings
from junheng.rules import evaluation, indicators

# A resource's unit cost key is its column; these are counted whole (a third of a teacher cannot be hired).
WHOLE_UNITS = ("teachers_above_degree", "backbone_teachers", "pe_arts_teachers", "multimedia_rooms")
PRIORITIES = (1, 2, 3)
MOVERS = 3  # schools named for a CV over its ceiling


def resource_columns() -> tuple[str, ...]:
    """The resources behind the seven 优质均衡 indicators, in the registry's order."""
    return tuple(i.numerator for i in indicators.quality_indicators())


def unit_costs(rules: dict) -> dict[str, float]:
    """Yuan per unit of each resource: the thresholds file's [costs], else the package defaults.

    Raises settings.SettingsError naming the entry when a cost is missing or not a positive number.
    """
    costs = rules.get("costs")
    if costs is None:
        costs = settings.load_thresholds(settings.PACKAGE_DIR / "rules" / "thresholds.toml")["costs"]
    out = {}
    for column in resource_columns():
        value = costs.get(column)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
            raise settings.SettingsError(f"阈值设置文件 [costs] 的 {column} 须为正数 / [costs] {column} must be a "
                                         f"positive number (yuan per unit), not {value!r}")
        out[column] = float(value)
    return out


def whole(column: str) -> bool:
    return column in WHOLE_UNITS


def school_items(values: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """One row per assessed school, level and unmet 优质均衡 minimum.

    Columns: priority, level, school_id, school_name, urban_rural_group, students, indicator, value, minimum,
    share (value / minimum), column (the resource), level_gap (what the level lacks), level_share (the level's
    share of the school's resource), shortfall (the whole units to add to the school for the level to reach its
    minimum), unit_cost, cost.
    """
    costs = unit_costs(rules)
    verdicts = evaluation.school_verdicts(values, rules)
    facilities = set(indicators.facility_columns())
    parts = []
    for ind in indicators.quality_indicators():
        rows = verdicts.filter(~pl.col(f"meets_{ind.key}"))
        if rows.is_empty():
            continue
        parts.append(rows.select(
            pl.when(pl.col("school_pass")).then(3).otherwise(1).cast(pl.Int8).alias("priority"),
            "level", "school_id", "school_name", "urban_rural_group", "students",
            pl.lit(ind.key).alias("indicator"),
            pl.col(ind.key).alias("value"),
            evaluation.minimum_expr(ind.key, rules).alias("minimum"),
            pl.lit(ind.numerator).alias("column"),
            pl.col(f"gap_{ind.key}").alias("level_gap"),
            pl.col("level_share" if ind.numerator in facilities else "enrolment_share").cast(pl.Float64)
            .alias("level_share"),
            pl.col(ind.numerator).cast(pl.Float64).alias("_have"),
            pl.lit(float(ind.scale)).alias("_scale"),
        ))
    if not parts:
        return _empty_school_items()
    out = pl.concat(parts, how="vertical_relaxed")
    # Whole units at the school: the level receives level_share of each one. A float just over a whole number
    # (0.1 × 30 = 3.0000000000000004) is not a fourth teacher; the re-check below adds one where rounding left
    # the level short.
    raw = pl.col("level_gap") / pl.col("level_share")
    out = out.with_columns((raw - 1e-9).ceil().clip(lower_bound=1.0).alias("shortfall"))
    reaches = ((pl.col("_have") + pl.col("level_share") * pl.col("shortfall")) * pl.col("_scale") / pl.col("students")
               >= pl.col("minimum") - 1e-12)
    for _ in range(3):
        out = out.with_columns(pl.when(reaches).then(pl.col("shortfall")).otherwise(pl.col("shortfall") + 1.0)
                               .alias("shortfall"))
    return out.with_columns(
        (pl.col("value") / pl.col("minimum")).alias("share"),
        pl.col("column").replace_strict(costs, return_dtype=pl.Float64).alias("unit_cost"),
    ).with_columns((pl.col("shortfall") * pl.col("unit_cost")).alias("cost")).drop("_have", "_scale").sort(
        "priority", "level", "share", "school_id", descending=[False, True, False, False])


def school_totals(items: pl.DataFrame) -> pl.DataFrame:
    """Per school and resource: the addition that serves every listed level (the largest one asks for), its
    cost, and the school's total: school_id, school_name, column, addition, unit_cost, cost, school_cost."""
    if items.is_empty():
        return pl.DataFrame(schema={"school_id": pl.String, "school_name": pl.String, "column": pl.String,
                                    "addition": pl.Float64, "unit_cost": pl.Float64, "cost": pl.Float64,
                                    "school_cost": pl.Float64})
    per = items.group_by("school_id", "column").agg(
        pl.first("school_name"), pl.col("shortfall").max().alias("addition"), pl.first("unit_cost"))
    per = per.with_columns((pl.col("addition") * pl.col("unit_cost")).alias("cost"))
    return per.with_columns(pl.col("cost").sum().over("school_id").alias("school_cost")).select(
        "school_id", "school_name", "column", "addition", "unit_cost", "cost", "school_cost").sort(
        "school_cost", "school_id", "column", descending=[True, False, False])


def _empty_school_items() -> pl.DataFrame:
    return pl.DataFrame(schema={
        "priority": pl.Int8, "level": pl.String, "school_id": pl.String, "school_name": pl.String,
        "urban_rural_group": pl.String, "students": pl.Int64, "indicator": pl.String, "value": pl.Float64,
        "minimum": pl.Float64, "column": pl.String, "level_gap": pl.Float64, "level_share": pl.Float64,
        "shortfall": pl.Float64, "share": pl.Float64, "unit_cost": pl.Float64, "cost": pl.Float64})


def county_items(values: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """One row per level and 优质均衡 CV over its ceiling: level, indicator, cv, ceiling, movers (the school
    names that raise it most, leave-one-out) and mover_ids."""
    cvs = evaluation.quality_cvs(values, rules, by=("level",))
    rows = []
    for row in cvs.sort("level", descending=True).iter_rows(named=True):
        for ind in indicators.quality_indicators():
            cv = row[ind.key]
            if cv is None or (isinstance(cv, float) and math.isnan(cv)) or cv <= row["threshold"]:
                continue
            movers = evaluation.cv_contributions(values.filter(pl.col("level") == row["level"]), ind.key).filter(
                pl.col("contribution") > 0).head(MOVERS)
            rows.append({"priority": 2, "level": row["level"], "indicator": ind.key, "cv": float(cv),
                         "ceiling": float(row["threshold"]), "movers": movers["school_name"].to_list(),
                         "mover_ids": movers["school_id"].to_list()})
    return pl.DataFrame(rows, schema={"priority": pl.Int8, "level": pl.String, "indicator": pl.String,
                                      "cv": pl.Float64, "ceiling": pl.Float64, "movers": pl.List(pl.String),
                                      "mover_ids": pl.List(pl.String)})


def rectification(schools: pl.DataFrame, rules: dict | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(school items, county items) of one county-year's school rows."""
    rules = rules or settings.load_thresholds()
    values = evaluation.level_values(schools, rules)
    return school_items(values, rules), county_items(values, rules)


def total_cost(items: pl.DataFrame) -> float:
    """The list's estimated cost in yuan: each school's additions once (one addition serves all its levels)."""
    totals = school_totals(items)
    return float(totals["cost"].sum()) if totals.height else 0.0

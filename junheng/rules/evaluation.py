"""基本均衡 and 优质均衡 evaluation of a county's schools, by the official (enrolment-weighted) method."""
from __future__ import annotations

import polars as pl

from junheng import settings
from junheng.rules import indicators


def level_values(schools: pl.DataFrame, rules: dict | None = None) -> pl.DataFrame:
    """One row per school and level with every indicator value, the 城乡 group and the assessment flags.

    `in_basic` / `in_quality`: the school is counted in the 基本均衡 CVs / the 优质均衡 resource assessment.
    By the counting rules (thresholds.toml [rules]): public schools only unless `include_private_schools`, and
    teaching points under each evaluation's minimum enrolment left out.
    """
    rules = rules or settings.load_thresholds()
    r = rules["rules"]
    levels = indicators.split_levels(schools, r["junior_weight"], r["senior_weight"])
    counted = pl.lit(True) if r["include_private_schools"] else pl.col("is_public").fill_null(True)
    point = pl.col("school_type") == "teaching_point"
    return indicators.school_values(levels).with_columns(
        indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group"),
        (counted & ~(point & (pl.col("students") < r["basic_teaching_point_min_students"]))).alias("in_basic"),
        (counted & ~(point & (pl.col("students") < r["teaching_point_min_students"]))).alias("in_quality"),
    )


def basic_cvs(values: pl.DataFrame, rules: dict, by=("county_code", "year", "level")) -> pl.DataFrame:
    """The eight 基本均衡 CVs over the counted schools, their plain mean (综合差异系数), the ceiling, pass/fail."""
    keys = [i.key for i in indicators.basic_indicators()]
    cvs = indicators.county_cv(values.filter(pl.col("in_basic")), keys, by)
    threshold = _level_threshold(rules["basic"])
    return cvs.with_columns(pl.mean_horizontal(keys).alias("composite")).with_columns(
        threshold.alias("threshold"),
        (pl.col("composite") <= threshold).alias("pass"),
    )


def quality_cvs(values: pl.DataFrame, rules: dict, by=("county_code", "year", "level")) -> pl.DataFrame:
    """The seven 优质均衡 CVs over the assessed schools, each against the level's ceiling."""
    keys = [i.key for i in indicators.quality_indicators()]
    cvs = indicators.county_cv(values.filter(pl.col("in_quality")), keys, by)
    return cvs.with_columns(_level_threshold(rules["quality"]).alias("threshold")).with_columns(
        pl.all_horizontal([pl.col(k) <= pl.col("threshold") for k in keys]).alias("cv_pass"),
    )


def _level_threshold(section: dict) -> pl.Expr:
    return pl.when(pl.col("level") == "primary").then(pl.lit(float(section["primary"]))).otherwise(
        pl.lit(float(section["junior"])))


def minimum_expr(key: str, rules: dict) -> pl.Expr:
    """The per-school 优质均衡 minimum of an indicator for the row's level."""
    return _level_threshold(rules["minimums"][key])


def school_verdicts(values: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """Per assessed school and level: minimums met, the per-school verdict, failing keys and gaps.

    A school passes with at least `school_min_met` minimums met and every value at least
    `school_rest_share` of its minimum. `gap_<key>` is the resource still needed to reach the
    minimum, in the numerator's own unit (m², yuan, teachers, rooms); 0 when met.
    """
    q = rules["quality"]
    keys = [i.key for i in indicators.quality_indicators()]
    assessed = values.filter(pl.col("in_quality"))
    meets = [(pl.col(k) >= minimum_expr(k, rules)).alias(f"meets_{k}") for k in keys]
    near = [(pl.col(k) >= q["school_rest_share"] * minimum_expr(k, rules)) for k in keys]
    gaps = []
    for ind in indicators.quality_indicators():
        needed = minimum_expr(ind.key, rules) * pl.col("students") / ind.scale - pl.col(ind.numerator)
        gaps.append(pl.max_horizontal(needed, pl.lit(0.0)).alias(f"gap_{ind.key}"))
    out = assessed.with_columns(*meets, *gaps, pl.all_horizontal(near).alias("_near"))
    return out.with_columns(
        pl.sum_horizontal([pl.col(f"meets_{k}").cast(pl.Int32) for k in keys]).alias("meets"),
        pl.concat_list([pl.when(~pl.col(f"meets_{k}")).then(pl.lit(k)) for k in keys])
        .list.drop_nulls().alias("failing"),
    ).with_columns(
        ((pl.col("meets") >= q["school_min_met"]) & pl.col("_near")).alias("school_pass"),
    ).drop("_near")


def evaluate_county(schools: pl.DataFrame, rules: dict | None = None) -> dict:
    """The evaluation of one county-year as plain data (the `junheng evaluate --json` shape)."""
    rules = rules or settings.load_thresholds()
    values = level_values(schools, rules)
    basic = basic_cvs(values, rules, by=("level",))
    quality = quality_cvs(values, rules, by=("level",))
    verdicts = school_verdicts(values, rules)
    levels = {}
    for level in indicators.LEVELS:
        b = basic.filter(pl.col("level") == level)
        if b.is_empty():
            continue
        b = b.row(0, named=True)
        q = quality.filter(pl.col("level") == level)
        q = q.row(0, named=True) if q.height else None
        v = verdicts.filter(pl.col("level") == level).sort("school_id")
        schools_out = [{"school_id": r["school_id"], "meets": r["meets"], "pass": r["school_pass"],
                        "failing": r["failing"]} for r in v.iter_rows(named=True)]
        quality_cv = {i.key: _num(q[i.key]) if q else None for i in indicators.quality_indicators()}
        cv_pass = bool(q and q["cv_pass"])
        levels[level] = {
            "basic": {"cv": {i.key: _num(b[i.key]) for i in indicators.basic_indicators()},
                      "composite": _num(b["composite"]), "threshold": b["threshold"], "pass": bool(b["pass"])},
            "quality": {"cv": quality_cv, "threshold": float(rules["quality"][level]),
                        "cv_pass": cv_pass,
                        "pass": cv_pass and all(s["pass"] for s in schools_out),
                        "schools": schools_out},
        }
    return levels


def _num(value) -> float | None:
    return None if value is None else float(value)


def cv_trend(values: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """Long frame of every CV by year and level: year, level, evaluation, indicator, cv, threshold."""
    parts = []
    for evaluation, frame, keys in (
        ("basic", basic_cvs(values, rules, by=("year", "level")),
         [i.key for i in indicators.basic_indicators()] + ["composite"]),
        ("quality", quality_cvs(values, rules, by=("year", "level")),
         [i.key for i in indicators.quality_indicators()]),
    ):
        parts.append(frame.unpivot(keys, index=["year", "level", "threshold"], variable_name="indicator",
                                   value_name="cv").with_columns(pl.lit(evaluation).alias("evaluation")))
    return pl.concat(parts).select("year", "level", "evaluation", "indicator", "cv", "threshold").sort(
        "evaluation", "indicator", "level", "year")


def cv_contributions(values: pl.DataFrame, key: str) -> pl.DataFrame:
    """Leave-one-out: per counted school and level, the county CV of key without that school.

    `contribution` = CV with all schools − CV without this one: how much the school alone raises
    the CV. Computed from running sums, so it is exact and O(n).
    """
    counted = "in_basic" if indicators.by_key(key).basic else "in_quality"
    values = values.filter(pl.col(counted))
    p, x = pl.col("students").cast(pl.Float64), pl.col(key)
    w, s1, s2 = p.sum().over("level"), (p * x).sum().over("level"), (p * x * x).sum().over("level")
    cv_all = ((s2 / w - (s1 / w) ** 2).clip(0).sqrt()) / (s1 / w)
    w_o, s1_o, s2_o = w - p, s1 - p * x, s2 - p * x * x
    mean_o = s1_o / w_o
    cv_without = pl.when(w_o > 0).then((s2_o / w_o - mean_o ** 2).clip(0).sqrt() / mean_o)
    return values.filter(x.is_not_null()).select(
        "school_id", "school_name", "level", "urban_rural_group", "students", x.alias("value"),
        cv_all.alias("cv"), cv_without.alias("cv_without"),
    ).with_columns((pl.col("cv") - pl.col("cv_without")).alias("contribution")).sort(
        "contribution", descending=True, nulls_last=True)


def apply_changes(schools: pl.DataFrame, changes: pl.DataFrame) -> pl.DataFrame:
    """What-if: add each change (school_id, column, delta) to the school's resource; never below 0."""
    if changes.is_empty():
        return schools
    unknown = set(changes["column"]) - set(indicators.RESOURCE_COLUMNS)
    if unknown:
        raise ValueError(f"不能调整的列 / not an adjustable resource: {sorted(unknown)}")
    deltas = changes.group_by("school_id", "column").agg(pl.col("delta").sum()).pivot(
        "column", index="school_id", values="delta")
    cols = [c for c in deltas.columns if c != "school_id"]
    joined = schools.join(deltas.rename({c: f"_d_{c}" for c in cols}), on="school_id", how="left")
    return joined.with_columns(
        pl.max_horizontal(pl.col(c) + pl.col(f"_d_{c}").fill_null(0), pl.lit(0)).cast(schools.schema[c])
        .alias(c) for c in cols
    ).drop([f"_d_{c}" for c in cols])


def level_results(values: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """Per county and level, the parts computed from school rows: the 基本均衡 composite CV and its verdict,
    the 优质均衡 CVs within their ceiling and the schools meeting the resource standard.

    `quality_pass` is null when no school of the level is assessed for 优质均衡 (nothing to judge).
    """
    keys = [i.key for i in indicators.quality_indicators()]
    basic = basic_cvs(values, rules, by=("county_code", "level"))
    quality = quality_cvs(values, rules, by=("county_code", "level")).select(
        "county_code", "level", pl.sum_horizontal([(pl.col(k) <= pl.col("threshold")).cast(pl.Int32) for k in keys])
        .alias("cvs_within"), "cv_pass")
    schools = school_verdicts(values, rules).group_by("county_code", "level").agg(
        pl.col("school_pass").all().alias("schools_pass"), pl.col("school_pass").sum().alias("schools_passing"),
        pl.len().alias("schools_assessed"))
    return basic.select("county_code", "level", "composite", pl.col("pass").alias("basic_pass")).join(
        quality, on=["county_code", "level"], how="left").join(
        schools, on=["county_code", "level"], how="left").with_columns(
        (pl.col("cv_pass") & pl.col("schools_pass")).alias("quality_pass")).sort("county_code", "level")


def region_status(schools: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """Per county of a frame of schools (one year): the composite CVs and the parts computed from school rows.

    basic_pass: the composite CV of every level within its ceiling; quality_pass: the 优质均衡 resources of
    every level met. These are parts, not verdicts: the verdicts are in junheng.rules.verdicts.
    """
    return region_wide(level_results(level_values(schools, rules), rules))


def region_wide(levels: pl.DataFrame) -> pl.DataFrame:
    """One row per county from level_results, ranked by composite CV (primary, then junior)."""
    wide = levels.group_by("county_code").agg(
        pl.col("composite").filter(pl.col("level") == "primary").first().alias("composite_primary"),
        pl.col("composite").filter(pl.col("level") == "junior").first().alias("composite_junior"),
        pl.col("basic_pass").all().alias("basic_pass"),
        pl.col("quality_pass").fill_null(False).all().alias("quality_pass"),
        pl.col("schools_passing").sum().alias("schools_passing"),
        pl.col("schools_assessed").sum().alias("schools_assessed"),
    )
    return wide.sort("composite_primary", "composite_junior", "county_code", nulls_last=True)

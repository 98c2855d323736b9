"""Left-behind (留守儿童) and migrant (随迁子女) children: where they are and whether schools can care for them."""
from __future__ import annotations

import polars as pl

from junheng.rules import indicators, privacy
from junheng.i18n import labels, t

BREAKDOWNS = ("township", "urban_rural_group", "school_type", "is_boarding")
DERIVED = ("left_behind_share", "left_behind_per_psych_teacher", "boarding_cover", "care_gap")


def school_care(schools: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """Per school: left-behind share, psych teachers per 10 classes, children per psych teacher, boarding cover.

    care_gap ranks schools with many left-behind children and little capacity: the left-behind children
    times the share of the mental-health target (1 teacher per 10 classes) the school lacks; 0 at target.
    """
    per = rules["targets"]["psych_classes_per_teacher"]
    students = pl.col("primary_students") + pl.col("junior_students")
    classes = pl.col("primary_classes") + pl.col("junior_classes")
    lb = pl.col("left_behind_students")
    return schools.with_columns(
        indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group"),
        students.alias("students"),
        classes.alias("classes"),
    ).with_columns(
        pl.when(students > 0).then(lb / students).alias("left_behind_share"),
        (pl.col("psych_teachers") / classes * per).alias("psych_per_10_classes"),
        pl.when(pl.col("psych_teachers") > 0).then(lb / pl.col("psych_teachers")).alias(
            "left_behind_per_psych_teacher"),
        pl.when(lb > 0).then(pl.min_horizontal(pl.col("boarding_students") / lb, pl.lit(1.0))).alias(
            "boarding_cover"),
    ).with_columns(
        (lb * (1 - pl.min_horizontal(pl.col("psych_per_10_classes").fill_nan(0).fill_null(0), pl.lit(1.0))))
        .alias("care_gap"),
    )


def breakdown(schools: pl.DataFrame, by: str) -> pl.DataFrame:
    """Left-behind children by township, 城乡 group, school type or boarding: exact group totals."""
    frame = schools if by in schools.columns else schools.with_columns(
        indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group"))
    return frame.group_by(by).agg(
        pl.len().alias("schools"),
        (pl.col("primary_students") + pl.col("junior_students")).sum().alias("students"),
        pl.col("left_behind_students").sum().alias("left_behind_students"),
        pl.col("boarding_students").sum().alias("boarding_students"),
        pl.col("psych_teachers").sum().alias("psych_teachers"),
    ).with_columns((pl.col("left_behind_students") / pl.col("students")).alias("left_behind_share")).sort(
        "left_behind_students", descending=True)


def county_care(county_totals: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """County totals: psych teachers per 10 classes, left-behind per psych teacher, boarding against left-behind."""
    per = rules["targets"]["psych_classes_per_teacher"]
    return county_totals.with_columns(
        (pl.col("left_behind_students") / pl.col("students")).alias("left_behind_share"),
        (pl.col("psych_teachers") / pl.col("classes") * per).alias("psych_per_10_classes"),
        pl.when(pl.col("psych_teachers") > 0).then(pl.col("left_behind_students") / pl.col("psych_teachers"))
        .alias("left_behind_per_psych_teacher"),
        (pl.col("boarding_students") / pl.col("left_behind_students")).alias("boarding_per_left_behind"),
    )


def migrant_where(schools: pl.DataFrame) -> pl.DataFrame:
    """Migrant children by 城乡 group: count, share of all migrant children, share in public schools."""
    frame = schools.with_columns(
        indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group"))
    total = frame["migrant_students"].sum() or 1
    return frame.group_by("urban_rural_group").agg(
        pl.col("migrant_students").sum().alias("migrant_students"),
        pl.col("migrant_students").filter(pl.col("is_public")).sum().alias("migrant_public"),
    ).with_columns(
        (pl.col("migrant_students") / total).alias("share_of_migrants"),
        (pl.col("migrant_public") / pl.col("migrant_students")).alias("public_share"),
    ).sort(pl.col("urban_rural_group").replace_strict({"urban": 0, "town": 1, "rural": 2}, default=9))


def care_gap_table(care: pl.DataFrame, rules: dict, lang: str) -> pl.DataFrame:
    """The care-gap list for display and export: suppressed where counts are small, labelled in lang."""
    min_count = rules["privacy"]["min_count"]
    rows = care.sort("care_gap", "left_behind_students", descending=True, nulls_last=True)
    shown = privacy.suppress(rows, min_count, DERIVED)
    return shown.select(
        pl.col("school_id").alias(t("school_id", lang)),
        pl.col("school_name").alias(t("school_name", lang)),
        pl.col("township").alias(t("township", lang)),
        pl.col("urban_rural_group").replace_strict(
            labels("group", indicators.GROUPS, lang), default="—").alias(t("urban_rural", lang)),
        pl.col("students").alias(t("students", lang)),
        pl.col("left_behind_students").alias(t("left_behind_students", lang)),
        (pl.col("left_behind_share") * 100).round(1).alias(t("left_behind_share_pct", lang)),
        pl.col("boarding_students").alias(t("boarding_students", lang)),
        pl.col("psych_teachers").alias(t("psych_teachers", lang)),
        pl.col("psych_per_10_classes").round(2).alias(t("psych_per_10_classes", lang)),
        pl.col("left_behind_per_psych_teacher").round(0).alias(t("left_behind_per_psych_teacher", lang)),
        pl.col("care_gap").round(0).alias(t("care_gap", lang)),
    )


def breakdown_table(frame: pl.DataFrame, by: str, rules: dict, lang: str) -> pl.DataFrame:
    """A breakdown for display: a group as small as a school gets the same suppression as a school."""
    frame = privacy.suppress(frame, rules["privacy"]["min_count"], ("left_behind_share",))
    names = {"urban_rural_group": labels("group", indicators.GROUPS, lang),
             "school_type": labels("type", indicators.SCHOOL_TYPES, lang),
             "is_boarding": {True: t("boarding_yes", lang), False: t("boarding_no", lang)}}
    key = pl.col(by).replace_strict(names[by], default="—") if by in names else pl.col(by)
    return frame.select(
        key.cast(pl.String).alias(t(f"by_{by}", lang)),
        pl.col("schools").alias(t("schools", lang)),
        pl.col("students").alias(t("students", lang)),
        pl.col("left_behind_students").alias(t("left_behind_students", lang)),
        (pl.col("left_behind_share") * 100).round(1).alias(t("left_behind_share_pct", lang)),
        pl.col("boarding_students").alias(t("boarding_students", lang)),
        pl.col("psych_teachers").alias(t("psych_teachers", lang)),
    )


def school_map_rows(care: pl.DataFrame, rules: dict, lang: str) -> list[dict]:
    """Schools for the cluster map: size by left-behind count (0 when suppressed), tooltip with suppression."""
    min_count = rules["privacy"]["min_count"]
    hidden = privacy.is_suppressed(min_count)
    rows = care.filter(pl.col("lon").is_not_null() & pl.col("lat").is_not_null()).select(
        "lon", "lat",
        pl.when(hidden).then(0.0).otherwise(pl.col("left_behind_students").cast(pl.Float64)).alias("size"),
        pl.format("{} · {} {}", "school_name", pl.lit(t("left_behind_students", lang)),
                  pl.when(hidden).then(pl.lit(privacy.suppressed_text(min_count)))
                  .otherwise(pl.col("left_behind_students").cast(pl.String))).alias("tooltip"),
    )
    return rows.to_dicts()


def county_care_table(county_totals: pl.DataFrame, counties: pl.DataFrame, rules: dict, lang: str) -> pl.DataFrame:
    """County totals of care capacity (exact: totals are never suppressed), labelled."""
    return county_care(county_totals, rules).join(counties, on="county_code", how="left").sort(
        "left_behind_students", descending=True).select(
        pl.col("county_name").alias(t("county_name", lang)),
        pl.col("left_behind_students").alias(t("left_behind_students", lang)),
        (pl.col("left_behind_share") * 100).round(1).alias(t("left_behind_share_pct", lang)),
        pl.col("boarding_students").alias(t("boarding_students", lang)),
        pl.col("boarding_per_left_behind").round(2).alias(t("boarding_per_left_behind", lang)),
        pl.col("psych_teachers").alias(t("psych_teachers", lang)),
        pl.col("psych_per_10_classes").round(2).alias(t("psych_per_10_classes", lang)),
        pl.col("left_behind_per_psych_teacher").round(0).alias(t("left_behind_per_psych_teacher", lang)),
    )


def migrant_table(where: pl.DataFrame, lang: str) -> pl.DataFrame:
    return where.select(
        pl.col("urban_rural_group").replace_strict(
            labels("group", indicators.GROUPS, lang), default="—").alias(t("urban_rural", lang)),
        pl.col("migrant_students").alias(t("migrant_students", lang)),
        pl.format("{}%", (pl.col("share_of_migrants") * 100).round(1)).alias(t("share_of_migrants", lang)),
        pl.format("{}%", (pl.col("public_share") * 100).round(1)).alias(t("public_share", lang)),
    )

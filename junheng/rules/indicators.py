"""The indicator registry and the official per-school values and enrolment-weighted CVs."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from junheng import settings

LEVELS = ("primary", "junior")
URBAN_RURAL_GROUPS = {  # statistics code -> education statistics group
    "111": "urban", "112": "urban",
    "121": "town", "122": "town", "123": "town",
    "210": "rural", "220": "rural",
}
GROUPS = ("urban", "town", "rural")  # 城区, 镇区, 乡村, in display order
SCHOOL_TYPES = ("primary", "junior", "nine_year", "twelve_year", "complete_secondary", "teaching_point")
RESOURCE_COLUMNS = (
    "teachers", "teachers_above_degree", "teachers_senior_title", "backbone_teachers",
    "pe_arts_teachers", "psych_teachers", "building_area_m2", "sports_area_m2",
    "equipment_value_cny", "computers", "books", "multimedia_rooms",
)


@dataclass(frozen=True)
class Indicator:
    key: str
    zh: str
    en: str
    unit_zh: str
    unit_en: str
    numerator: str
    scale: float
    basic: bool
    quality: bool
    facility: bool = False

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def unit(self, lang: str) -> str:
        return self.unit_zh if lang == "zh" else self.unit_en


@lru_cache(maxsize=1)
def registry() -> tuple[Indicator, ...]:
    """All indicators, in the registry file's order."""
    with open(settings.PACKAGE_DIR / "rules" / "indicators.toml", "rb") as f:
        rows = tomllib.load(f)["indicator"]
    return tuple(Indicator(**row) for row in rows)


def by_key(key: str) -> Indicator:
    for ind in registry():
        if ind.key == key:
            return ind
    raise KeyError(f"未知指标 / unknown indicator: {key}")


def basic_indicators() -> tuple[Indicator, ...]:
    return tuple(i for i in registry() if i.basic)


def quality_indicators() -> tuple[Indicator, ...]:
    return tuple(i for i in registry() if i.quality)


def urban_rural_group(code: pl.Expr) -> pl.Expr:
    """城区/镇区/乡村 group ('urban', 'town', 'rural') from the 3-digit urban-rural code."""
    return code.cast(pl.String).replace_strict(URBAN_RURAL_GROUPS, default=None)


def facility_columns() -> tuple[str, ...]:
    """Resources shared between a combined school's levels by weighted enrolment (the five facility indicators)."""
    return tuple(dict.fromkeys(i.numerator for i in registry() if i.facility))


def split_levels(schools: pl.DataFrame, junior_weight: float, senior_weight: float = 1.32) -> pl.DataFrame:
    """One row per school and level (小学, 初中); a combined school counts in both levels.

    A resource not recorded per level is shared out: facility columns by weighted enrolment
    P : junior_weight·J : senior_weight·S, every other column (teachers, rooms) by plain enrolment P : J : S.
    The 高中 share S of a 完全中学 / 十二年一贯制 school is taken out (`senior_students`, 0 when absent).
    """
    senior = pl.col("senior_students").fill_null(0) if "senior_students" in schools.columns else pl.lit(0)
    primary, junior = pl.col("primary_students"), pl.col("junior_students")
    weighted_total = primary + junior_weight * junior + senior_weight * senior
    plain_total = primary + junior + senior
    facilities = set(facility_columns())
    present = [c for c in RESOURCE_COLUMNS if c in schools.columns]
    parts = []
    for level, students, classes, weight in (
        ("primary", "primary_students", "primary_classes", 1.0),
        ("junior", "junior_students", "junior_classes", junior_weight),
    ):
        share = pl.when(weighted_total > 0).then(weight * pl.col(students) / weighted_total).otherwise(0.0)
        plain = pl.when(plain_total > 0).then(pl.col(students) / plain_total).otherwise(0.0)
        parts.append(
            schools.filter(pl.col(students) > 0).with_columns(
                pl.lit(level).alias("level"),
                pl.col(students).alias("students"),
                pl.col(classes).alias("classes"),
                share.alias("level_share"),
                plain.alias("enrolment_share"),
                *[(pl.col(c) * (share if c in facilities else plain)).alias(c) for c in present],
            )
        )
    return pl.concat(parts, how="vertical_relaxed")


def school_values(levels: pl.DataFrame, indicators=None) -> pl.DataFrame:
    """Add each indicator's per-school value (numerator / students × scale)."""
    indicators = indicators or registry()
    return levels.with_columns(
        (pl.col(i.numerator) / pl.col("students") * i.scale).alias(i.key) for i in indicators
    )


def weighted_cv(values, weights) -> float:
    """Official 差异系数: enrolment-weighted standard deviation over the weighted mean."""
    frame = pl.DataFrame({"x": values, "p": weights}, schema={"x": pl.Float64, "p": pl.Float64})
    return frame.select(_cv_expr("x", "p")).item()


def _cv_expr(value: str, weight: str) -> pl.Expr:
    p = pl.col(weight)
    x = pl.col(value)
    mean = (p * x).sum() / p.sum()
    sd = ((p * (x - mean) ** 2).sum() / p.sum()).sqrt()
    return (sd / mean).alias(value)


def county_cv(values: pl.DataFrame, keys: list[str], by=("county_code", "year", "level")) -> pl.DataFrame:
    """CV of each indicator across the schools of each group, weighted by students."""
    return values.group_by(list(by), maintain_order=True).agg(
        pl.len().alias("school_count"),
        pl.col("students").sum().alias("students"),
        *[_cv_expr(k, "students") for k in keys],
    ).sort(list(by))

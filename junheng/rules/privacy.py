"""Small-count suppression: school-level left-behind counts below the threshold are shown as "<N".

Counts are about minors. A suppressed school also loses every value derived from its count (shares,
children per teacher) so that the count cannot be worked back; county and region totals stay exact.
"""
from __future__ import annotations

import polars as pl

SUPPRESSED_COUNTS = ("left_behind_students",)


def suppressed_text(min_count: int) -> str:
    return f"<{min_count}"


def is_suppressed(min_count: int, column: str = "left_behind_students") -> pl.Expr:
    return (pl.col(column) > 0) & (pl.col(column) < min_count)


def suppress(schools: pl.DataFrame, min_count: int, derived: tuple[str, ...] = ()) -> pl.DataFrame:
    """School rows for display or export: small counts become "<N" text, derived columns become null.

    Every count column becomes text (exact numbers as digits), so a column has one type.
    """
    hidden = is_suppressed(min_count)
    return schools.with_columns(
        *[pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in derived if c in schools.columns],
    ).with_columns(
        *[pl.when(is_suppressed(min_count, c)).then(pl.lit(suppressed_text(min_count)))
          .otherwise(pl.col(c).cast(pl.String)).alias(c) for c in SUPPRESSED_COUNTS if c in schools.columns],
    )

"""The one published view of left-behind and migrant counts (issue 23): every cell anything shows, with its status.

Left-behind counts: schools (care-gap list, map, cohorts), group totals by 乡镇, 城乡, 办学类型 and 寄宿, and the
county total (junheng/rules/left_behind.py `protection`). Migrant counts: schools (cohorts), 城乡 group totals and
each group's public and private parts (the page's public share), and the county total (`migrant_protection`).
Each is decided per county from all of that county's schools and audited by optimisation (privacy_audit), so the
pages, reports, exports and cohorts, which all read these statuses, together reveal nothing.

`cells` is what a version stores as `published_cells`; `junheng published` prints it (tests/test_privacy_audit.py
attacks it).
"""
from __future__ import annotations

import polars as pl

from junheng.rules import indicators, left_behind, privacy

STATUS = {"left_behind_students": "left_behind_status", "migrant_students": "migrant_status"}
SCHEMA = {"year": pl.Int32, "school_id": pl.String, "left_behind_status": pl.String, "migrant_status": pl.String}


def status(rows: pl.DataFrame, min_count: int) -> pl.DataFrame:
    """year, school_id, left_behind_status, migrant_status for every school of rows (whole counties, one or more
    years): privacy.SHOWN, PRIMARY ("<5") or COMPLEMENTARY ("*")."""
    if rows.is_empty():
        return pl.DataFrame(schema=SCHEMA)
    if min_count <= 0:  # exact counts allowed (analysts with JUNHENG_ANALYST_EXACT_COUNTS=1)
        return rows.select("year", "school_id", pl.lit(privacy.SHOWN).alias("left_behind_status"),
                           pl.lit(privacy.SHOWN).alias("migrant_status")).cast(SCHEMA)
    parts = []
    for year in sorted(rows["year"].unique().to_list()):
        one = rows.filter(pl.col("year") == year).with_columns(
            indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group"))
        parts.append(year_status(one, min_count).with_columns(pl.lit(year).alias("year")))
    return pl.concat(parts).select(list(SCHEMA)).cast(SCHEMA)


def year_status(one: pl.DataFrame, min_count: int, left_behind_shield: privacy.Protection | None = None,
                migrant_shield: privacy.Protection | None = None) -> pl.DataFrame:
    """school_id, left_behind_status, migrant_status of one year's rows (with urban_rural_group), min_count > 0.
    A caller that has already worked out the left-behind protection (`left_behind.protection`) or the migrant one
    (`left_behind.migrant_protection`) of the same rows passes it, so it is not solved twice."""
    if min_count <= 0 or one.is_empty():  # as `status`: exact counts allowed, or nothing to decide
        return one.select("school_id", pl.lit(privacy.SHOWN).alias("left_behind_status"),
                          pl.lit(privacy.SHOWN).alias("migrant_status")).cast(
            {k: v for k, v in SCHEMA.items() if k != "year"})
    shield = left_behind_shield if left_behind_shield is not None else left_behind.protection(
        one, {"privacy": {"min_count": min_count}})
    lb = shield.schools.select("school_id", pl.col("status").alias("left_behind_status"))
    return lb.join(_migrant_status(one, min_count, migrant_shield), on="school_id", how="left")


def _migrant_status(rows: pl.DataFrame, min_count: int, shield: privacy.Protection | None = None) -> pl.DataFrame:
    shield = shield if shield is not None else left_behind.migrant_protection(rows, min_count)
    return shield.schools.select("school_id", pl.col("status").alias("migrant_status"))


def mark(rows: pl.DataFrame, statuses: pl.DataFrame, derived: dict[str, tuple[str, ...]]) -> pl.DataFrame:
    """rows with each protected count (and the measures made from it, derived: count -> columns) null where it
    is not published, and a <count>_status column saying why (shown, primary, complementary)."""
    out = rows.join(statuses, on=["year", "school_id"], how="left")
    changes = []
    for count, status_column in STATUS.items():
        hidden = pl.col(status_column).fill_null(privacy.COMPLEMENTARY) != privacy.SHOWN
        for column in (count, *derived.get(count, ())):
            if column in out.columns:
                changes.append(pl.when(hidden).then(None).otherwise(pl.col(column)).alias(column))
    return out.with_columns(changes).with_columns(
        pl.col(s).fill_null(privacy.COMPLEMENTARY) for s in STATUS.values())


def as_published(rows: pl.DataFrame, min_count: int) -> pl.DataFrame:
    """Rows for a file: each protected count as published text (the number, "<5" or "*"), status columns gone."""
    out = rows
    for count, status_column in STATUS.items():
        if count in out.columns and status_column in out.columns:
            out = out.with_columns(privacy.status_marks(count, min_count, status_column).alias(count))
    return out.drop([s for s in STATUS.values() if s in out.columns])


MEASURES = ("left_behind_students", "migrant_students")
KIND_STATUS = {privacy.SHOWN: "shown", privacy.PRIMARY: "small", privacy.COMPLEMENTARY: "withheld"}
SUM_MARK = "#"  # in `sums`: "<total cell id>#<what it adds up>" (school, or a breakdown's groups)
CELLS_SCHEMA = {"county_code": pl.String, "measure": pl.String, "cell_id": pl.String, "kind": pl.String,
                "status": pl.String, "value": pl.Int64, "sums": pl.List(pl.String)}


MEASURE_BREAKDOWNS = {"left_behind_students": left_behind.BREAKDOWNS,
                      "migrant_students": left_behind.MIGRANT_BREAKDOWNS}


def cells(rows: pl.DataFrame, left_behind_shield: privacy.Protection, migrant_shield: privacy.Protection,
          schools: dict[str, pl.DataFrame] | None = None) -> pl.DataFrame:
    """Every published cell of one year's rows (with urban_rural_group): county_code, measure, cell_id, kind
    (school, group, county), status (shown, small, withheld), value (the number, shown cells only) and sums (the
    published sums it is a part of, see SUM_MARK). schools: `school_cells(rows)`, when the caller has it."""
    frame = left_behind.migrant_frame(rows)
    schools = schools or {}
    parts = [_cells(frame, "left_behind_students", left_behind_shield, {}, schools.get("left_behind_students")),
             _cells(frame, "migrant_students", migrant_shield, {left_behind.PUBLIC_GROUP: "urban_rural_group"},
                    schools.get("migrant_students"))]
    return pl.concat(parts).collect().cast(CELLS_SCHEMA)  # one query: Polars builds the parts side by side


def school_cells(rows: pl.DataFrame) -> dict[str, pl.DataFrame]:
    """Per measure, what `cells` shows of each school that no protection decides: school_id, cell_id and sums
    (the lists of sums are most of `cells`'s time), in the order of the protection's school rows (county_code,
    school_id). db.evaluated works it out while the protection runs (`privacy.protect_many`'s meanwhile)."""
    ordered = left_behind.migrant_frame(rows).lazy().sort("county_code", "school_id")
    parts = [_school_parts(ordered, by).select("school_id", "cell_id", "sums") for by in MEASURE_BREAKDOWNS.values()]
    return dict(zip(MEASURE_BREAKDOWNS, pl.collect_all(parts)))


def _school_parts(schools: pl.LazyFrame, by: tuple[str, ...]) -> pl.LazyFrame:
    """schools (school_id, county_code and the breakdowns) with each school's cell_id and sums."""
    return schools.with_columns(
        ("school:" + pl.col("school_id")).alias("cell_id"),
        pl.concat_list("county:" + pl.col("county_code") + f"{SUM_MARK}school",
                       *[(pl.lit(f"{b}:") + pl.col(b).cast(pl.String).fill_null("—") + f"{SUM_MARK}school")
                         for b in by]).alias("sums"))


def _cells(frame: pl.DataFrame, measure: str, shield: privacy.Protection, within: dict[str, str],
           school_part: pl.DataFrame | None = None) -> pl.LazyFrame:
    """within: a breakdown whose groups are parts of another breakdown's groups (public / private of a 城乡 group).
    school_part: `school_cells(...)[measure]` of these rows (used when its schools are the shield's, in order)."""
    county = "county:" + pl.col("county_code")
    shown_value = pl.when(pl.col("status") == privacy.SHOWN).then(pl.col("value")).alias("value")
    if school_part is not None and school_part["school_id"].equals(shield.schools["school_id"]):
        schools = pl.concat([shield.schools, school_part.select("cell_id", "sums")], how="horizontal").lazy()
    else:
        keys = frame.lazy().select("school_id", *MEASURE_BREAKDOWNS[measure])
        schools = _school_parts(shield.schools.lazy().join(keys, on="school_id", how="left", maintain_order="left"),
                                MEASURE_BREAKDOWNS[measure])
    schools = schools.select(
        "county_code", pl.lit(measure).alias("measure"), "cell_id", pl.lit("school").alias("kind"),
        pl.col("status").replace_strict(KIND_STATUS), shown_value, "sums")
    groups = shield.groups.lazy().select(
        "county_code", pl.lit(measure).alias("measure"), (pl.col("by") + ":" + pl.col("group")).alias("cell_id"),
        pl.lit("group").alias("kind"), pl.col("status").replace_strict(KIND_STATUS), shown_value,
        pl.when(pl.col("by").is_in(list(within))).then(pl.concat_list(
            county + SUM_MARK + pl.col("by"),
            pl.col("by").replace_strict(within, default="") + ":" + pl.col("group").str.split("|").list.first()
            + SUM_MARK + pl.col("by")))
        .otherwise(pl.concat_list(county + SUM_MARK + pl.col("by"))).alias("sums"))
    counties = shield.counties.lazy().select(
        "county_code", pl.lit(measure).alias("measure"), county.alias("cell_id"), pl.lit("county").alias("kind"),
        pl.col("status").replace_strict(KIND_STATUS), shown_value,
        pl.lit([], dtype=pl.List(pl.String)).alias("sums"))
    return pl.concat([s.cast(CELLS_SCHEMA) for s in (counties, groups, schools)])


def view(published: pl.DataFrame, year: int) -> list[dict]:
    """`published_cells` rows as the JSON contract of `junheng published` (issue 23): one object per county, year and
    measure with its cells and its sums (total = sum of parts)."""
    out = []
    for (county_code, measure), part in published.sort("county_code", "measure").group_by(
            ["county_code", "measure"], maintain_order=True):
        members: dict[str, list[str]] = {}
        for cell_id, sums in zip(part["cell_id"].to_list(), part["sums"].to_list()):
            for key in sums or ():
                members.setdefault(key, []).append(cell_id)
        out.append({
            "county_code": county_code, "year": int(year), "measure": measure,
            "cells": [{"id": r["cell_id"], "kind": r["kind"], "status": r["status"],
                       "value": None if r["status"] != "shown" else int(r["value"])}
                      for r in part.select("cell_id", "kind", "status", "value").iter_rows(named=True)],
            "sums": [{"total": key.rsplit(SUM_MARK, 1)[0], "parts": parts} for key, parts in members.items()],
        })
    return out

"""Which school-level left-behind and migrant counts a cohort may publish: the same cells as everywhere else.

Left-behind counts: exactly the statuses of the left-behind page (junheng/rules/left_behind.py `protection`),
decided per county from all of that county's schools, so a cohort table or export shows the same "<5" and "*" as
the page and together they reveal nothing either does not.

Migrant counts: the left-behind page publishes them only as 城乡 group totals (and public shares); a cohort
publishes school counts too. They are protected with the group totals and the public / private parts of each
group as published sums; where the page shows a group figure this protection would hide, every migrant count of
that county-year is hidden instead (the page alone is safe).

Protection is decided per county, so it is computed a province at a time (the solver's rounds cost grows with
the rows it holds) and cached by the caller per year and chunk.
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
                migrant_page: privacy.Protection | None = None) -> pl.DataFrame:
    """school_id, left_behind_status, migrant_status of one year's rows (with urban_rural_group), min_count > 0.
    A caller that has already worked out the left-behind page's protection (`left_behind.protection`) or its
    migrant group totals' (`left_behind.migrant_protection`) of the same rows passes it, so it is not solved twice
    (each is seconds for a national year)."""
    if min_count <= 0 or one.is_empty():  # as `status`: exact counts allowed, or nothing to decide
        return one.select("school_id", pl.lit(privacy.SHOWN).alias("left_behind_status"),
                          pl.lit(privacy.SHOWN).alias("migrant_status")).cast(
            {k: v for k, v in SCHEMA.items() if k != "year"})
    shield = left_behind_shield if left_behind_shield is not None else left_behind.protection(
        one, {"privacy": {"min_count": min_count}})
    lb = shield.schools.select("school_id", pl.col("status").alias("left_behind_status"))
    return lb.join(_migrant_status(one, min_count, migrant_page), on="school_id", how="left")


def _migrant_status(rows: pl.DataFrame, min_count: int, page: privacy.Protection | None = None) -> pl.DataFrame:
    frame = rows.with_columns((pl.col("urban_rural_group").fill_null("—") + "|"
                               + pl.col("is_public").cast(pl.String).fill_null("—")).alias("group_public"))
    shield = privacy.protect(frame, "migrant_students", ("urban_rural_group", "group_public"), min_count)
    page = page if page is not None else left_behind.migrant_protection(frame, min_count)
    unsafe = set(_page_shows_more(frame, shield, page, min_count))
    return shield.schools.select(
        "school_id",
        pl.when(pl.col("county_code").is_in(list(unsafe))).then(pl.lit(privacy.COMPLEMENTARY))
        .otherwise(pl.col("status")).alias("migrant_status"))


def _page_shows_more(frame: pl.DataFrame, shield: privacy.Protection, page: privacy.Protection,
                     min_count: int) -> list[str]:
    """Counties where the left-behind page publishes a migrant group figure (a group total, or a public share,
    which gives the public and private parts) that the cohort's protection hides."""
    shown = pl.col("status") == privacy.SHOWN
    ours = shield.group_status("urban_rural_group").select("county_code", "group", shown.alias("ours"))
    theirs = page.group_status("urban_rural_group").select("county_code", "group", shown.alias("theirs"))
    totals = theirs.join(ours, on=["county_code", "group"], how="left").filter(
        pl.col("theirs") & ~pl.col("ours").fill_null(False))["county_code"].to_list()
    # The page's public share: shown when the group is and neither its public nor its private part is small.
    parts = frame.group_by("county_code", pl.col("urban_rural_group").fill_null("—").alias("group")).agg(
        pl.col("migrant_students").filter(pl.col("is_public")).sum().alias("public"),
        pl.col("migrant_students").filter(~pl.col("is_public")).sum().alias("private"))
    small = lambda c: (pl.col(c) > 0) & (pl.col(c) < min_count)  # noqa: E731
    shares = theirs.filter("theirs").join(parts, on=["county_code", "group"]).filter(
        ~small("public") & ~small("private"))
    ours_parts = shield.group_status("group_public").select(
        "county_code", pl.col("group").str.split("|").list.first().alias("group"), shown.alias("ours"))
    hidden_part = shares.join(ours_parts, on=["county_code", "group"], how="left").filter(
        ~pl.col("ours").fill_null(True))["county_code"].to_list()
    return sorted(set(totals) | set(hidden_part))


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

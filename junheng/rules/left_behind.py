"""Left-behind (留守儿童) and migrant (随迁子女) children: where they are and whether schools can care for them.

Every published count of these children goes through junheng.rules.privacy: small counts are suppressed,
and so is whatever would let them be worked back (complementary cells, group totals, derived ratios, the
order of the rows). The protection is decided per county (`protection`) and shared by every table here.
"""
from __future__ import annotations

import polars as pl

from junheng.i18n import labels, t
from junheng.rules import indicators, privacy

BREAKDOWNS = ("township", "urban_rural_group", "school_type", "is_boarding")
DERIVED = ("left_behind_share", "left_behind_per_psych_teacher", "boarding_cover", "care_gap")
OTHER = "_other"  # the region-level row of counties whose breakdown is not published


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


def protection(care: pl.DataFrame, rules: dict) -> privacy.Protection:
    """The suppression of left-behind counts for every school, group total and county total of these rows."""
    return privacy.protect(care, "left_behind_students", BREAKDOWNS, rules["privacy"]["min_count"])


def breakdown(schools: pl.DataFrame, by: str) -> pl.DataFrame:
    """Left-behind children by township, 城乡 group, school type or boarding: exact group totals (not for display)."""
    frame = schools if by in schools.columns else schools.with_columns(
        indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group"))
    return frame.group_by(by).agg(**_sums()).with_columns(
        (pl.col("left_behind_students") / pl.col("students")).alias("left_behind_share")).sort(
        "left_behind_students", descending=True)


def _sums() -> dict[str, pl.Expr]:
    return {"schools": pl.len(), "students": (pl.col("primary_students") + pl.col("junior_students")).sum(),
            "left_behind_students": pl.col("left_behind_students").sum(),
            "boarding_students": pl.col("boarding_students").sum(), "psych_teachers": pl.col("psych_teachers").sum()}


def published_groups(rows: pl.DataFrame, by: str, count: str, shield: privacy.Protection, min_count: int,
                     sums: dict[str, pl.Expr]) -> pl.DataFrame:
    """Rows grouped by `by` as published, with the `status` of each row's `count`.

    One county: its groups, each with the status the protection gave its total. More counties: each group
    adds up only the counties whose breakdown is fully shown; the counties with a hidden group total go
    into one row (OTHER) as their county totals, so every number is a sum of numbers published elsewhere.
    """
    return region_groups(county_groups(rows, by, shield, sums), count, min_count)


def county_groups(rows: pl.DataFrame, by: str, shield: privacy.Protection, sums: dict[str, pl.Expr]) -> pl.DataFrame:
    """Per county and group of `by`: the sums, the status of the group's total and of the county's total
    (county_status). What a region's published breakdown is made of (stored with each version)."""
    per_county = rows.group_by("county_code", pl.col(by).cast(pl.String).fill_null("—").alias("group")).agg(**sums)
    return per_county.join(shield.group_status(by).select("county_code", "group", "status"),
                           on=["county_code", "group"], how="left").with_columns(
        pl.col("status").fill_null(privacy.SHOWN)).join(
        shield.counties.select("county_code", pl.col("status").alias("county_status")), on="county_code",
        how="left").with_columns(pl.col("county_status").fill_null(privacy.SHOWN))


def region_groups(per_county: pl.DataFrame, count: str, min_count: int) -> pl.DataFrame:
    """A breakdown as published from `county_groups` rows (see `published_groups`): group, the sums, status."""
    sums = [c for c in per_county.columns if c not in ("county_code", "group", "status", "county_status")]
    if per_county["county_code"].n_unique() <= 1:
        return per_county.drop("county_code", "county_status")
    split = per_county.group_by("county_code").agg((pl.col("status") == privacy.SHOWN).all().alias("split"))
    per_county = per_county.join(split, on="county_code")
    shown = per_county.filter(pl.col("split")).group_by("group").agg(pl.col(c).sum() for c in sums).with_columns(
        pl.lit(privacy.SHOWN).alias("status"))
    rest = per_county.filter(~pl.col("split"))
    if rest.is_empty():
        return shown
    hidden_county = rest.filter(pl.col("county_status") != privacy.SHOWN)["county_code"].n_unique()
    total = rest[count].sum()
    status = (privacy.PRIMARY if 0 < total < min_count else privacy.COMPLEMENTARY if hidden_county
              else privacy.SHOWN)
    other = rest.select(pl.lit(OTHER).alias("group"), *[pl.col(c).sum() for c in sums], pl.lit(status).alias("status"))
    return pl.concat([shown, other], how="vertical_relaxed")


def published_breakdown(care: pl.DataFrame, by: str, shield: privacy.Protection, rules: dict) -> pl.DataFrame:
    """The left-behind breakdown as published (see `published_groups`), with the left-behind share."""
    return stored_breakdown(county_groups(care, by, shield, _sums()), rules)


def stored_breakdown(per_county: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """`published_breakdown` from `county_groups` rows (a version's stored `left_behind_groups` of one `by`)."""
    rows = region_groups(per_county.select("county_code", "group", *_sums(), "status", "county_status"),
                         "left_behind_students", rules["privacy"]["min_count"])
    return rows.with_columns((pl.col("left_behind_students") / pl.col("students")).alias("left_behind_share"))


def stored_groups(care: pl.DataFrame, shield: privacy.Protection) -> pl.DataFrame:
    """Every breakdown's `county_groups` rows, the breakdown's name in `breakdown`: what a version stores as
    `left_behind_groups`."""
    return pl.concat([county_groups(care, by, shield, _sums()).with_columns(pl.lit(by).alias("breakdown"))
                      for by in BREAKDOWNS], how="vertical_relaxed").select(
        "county_code", "breakdown", "group", *_sums(), "status", "county_status")


def breakdown_table(published: pl.DataFrame, by: str, rules: dict, lang: str) -> pl.DataFrame:
    """A published breakdown for display: marks for suppressed group totals, their shares hidden, hidden rows
    last by name (so their place in the order tells nothing)."""
    min_count = rules["privacy"]["min_count"]
    names = {"urban_rural_group": labels("group", indicators.GROUPS, lang),
             "school_type": labels("type", indicators.SCHOOL_TYPES, lang),
             "is_boarding": {"true": t("boarding_yes", lang), "false": t("boarding_no", lang)}}
    mapping = {**names.get(by, {}), OTHER: t("other_counties", lang)}
    hidden = pl.col("status") != privacy.SHOWN
    frame = published.with_columns(
        pl.col("group").replace(mapping).alias("label"),
        hidden.alias("_hidden"),
        pl.when(hidden).then(None).otherwise(pl.col("left_behind_share")).alias("left_behind_share"),
        privacy.status_marks("left_behind_students", min_count, "status").alias("shown_count"),
    )
    frame = privacy.sort_hidden_last(frame, ["left_behind_students"], True, "label")
    return frame.select(
        pl.col("label").alias(t(f"by_{by}", lang)),
        pl.col("schools").alias(t("schools", lang)),
        pl.col("students").alias(t("students", lang)),
        pl.col("shown_count").alias(t("left_behind_students", lang)),
        (pl.col("left_behind_share") * 100).round(1).alias(t("left_behind_share_pct", lang)),
        pl.col("boarding_students").alias(t("boarding_students", lang)),
        pl.col("psych_teachers").alias(t("psych_teachers", lang)),
    )


def care_gap_table(care: pl.DataFrame, shield: privacy.Protection, rules: dict, lang: str) -> pl.DataFrame:
    """The care-gap list for display and export: suppressed and hidden counts marked, their ratios hidden,
    shown rows by care gap and then the hidden rows by name."""
    min_count = rules["privacy"]["min_count"]
    shown = privacy.school_marks(care, shield, "left_behind_students", min_count, DERIVED)
    rows = privacy.sort_hidden_last(shown, ["care_gap", "left_behind_share", "school_id"], True, "school_name")
    return rows.select(
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


def stored_care_gap_table(rows: pl.DataFrame, rules: dict, lang: str) -> pl.DataFrame:
    """`care_gap_table` of school rows that carry the stored status of their count (left_behind_status, from
    `school_count_status` or the `care_gap_top` query)."""
    status = rows.select("county_code", "school_id", pl.col("left_behind_students").alias("value"),
                         pl.col("left_behind_status").fill_null(privacy.SHOWN).alias("status"))
    shield = privacy.Protection(schools=status, groups=status.clear(), counties=status.clear())
    return care_gap_table(school_care(rows.drop("left_behind_status"), rules), shield, rules, lang)


def school_map_rows(care: pl.DataFrame, shield: privacy.Protection, rules: dict, lang: str) -> list[dict]:
    """Schools for the cluster map: size by left-behind count (0 when suppressed or hidden), tooltip as published."""
    min_count = rules["privacy"]["min_count"]
    shown = privacy.school_marks(care, shield, "left_behind_students", min_count)
    rows = shown.filter(pl.col("lon").is_not_null() & pl.col("lat").is_not_null()).select(
        "lon", "lat",
        pl.when(pl.col("_hidden")).then(0.0).otherwise(pl.col("left_behind_students").cast(pl.Float64))
        .alias("size"),
        pl.format("{} · {} {}", "school_name", pl.lit(t("left_behind_students", lang)), "left_behind_students")
        .alias("tooltip"),
    )
    return rows.to_dicts()


def small_county(min_count: int, column: str = "left_behind_students") -> pl.Expr:
    """A county total that is itself a small count (the only way a county total is suppressed)."""
    return (pl.col(column) > 0) & (pl.col(column) < min_count)


def mask_small_counties(county_totals: pl.DataFrame, min_count: int) -> pl.DataFrame:
    """County totals for maps: a small county's left-behind count is removed (its share with it). With the
    published statuses (the county_published_totals query), every county total the protection hides is removed."""
    if STATUS in county_totals.columns:
        return county_totals.with_columns(
            pl.when(pl.col(STATUS) == privacy.SHOWN).then(pl.col("left_behind_students")).alias("left_behind_students"))
    return county_totals.with_columns(
        pl.when(small_county(min_count)).then(None).otherwise(pl.col("left_behind_students"))
        .alias("left_behind_students"))


STATUS = "left_behind_status"  # the county total's published status, in county_published_totals


def region_years(county_totals: pl.DataFrame, min_count: int, decided: pl.DataFrame | None = None,
                 region: str = "") -> pl.DataFrame:
    """Region totals over the years for the trend chart. A year that includes a small county total is
    rounded to 10 from the published counties plus half the threshold for each small one, so it depends
    only on published numbers; exact where `decided` allows (overview.region_totals)."""
    from junheng.rules import overview
    if STATUS in county_totals.columns:  # the published statuses: the overview's region totals, the same numbers
        return overview.region_totals(county_totals, min_count, decided, region).with_columns(
            (pl.col("left_behind_students") / pl.col("students")).alias("left_behind_share"))
    small = small_county(min_count)
    region = overview.region_totals(mask_small_counties(county_totals, min_count).with_columns(
        pl.col("left_behind_students").fill_null(0)))
    patch = county_totals.group_by("year").agg(small.sum().alias("_small"))
    return region.join(patch, on="year", how="left").with_columns(
        pl.when(pl.col("_small") > 0)
        .then(((pl.col("left_behind_students") + pl.col("_small") * min_count / 2) / 10).round(0) * 10)
        .otherwise(pl.col("left_behind_students")).alias("left_behind_students"),
    ).with_columns((pl.col("left_behind_students") / pl.col("students")).alias("left_behind_share")).drop("_small")


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


def county_care_table(county_totals: pl.DataFrame, counties: pl.DataFrame, rules: dict, lang: str) -> pl.DataFrame:
    """County totals of care capacity, labelled: exact, except a county whose total is itself a small count."""
    min_count = rules["privacy"]["min_count"]
    status = (pl.col(STATUS) if STATUS in county_totals.columns else
              pl.when(small_county(min_count)).then(pl.lit(privacy.PRIMARY)).otherwise(pl.lit(privacy.SHOWN)))
    frame = county_care(county_totals, rules).join(counties, on="county_code", how="left").with_columns(
        status.alias("_status"),
    ).with_columns(
        (pl.col("_status") != privacy.SHOWN).alias("_hidden"),
        *[pl.when(pl.col("_status") != privacy.SHOWN).then(None).otherwise(pl.col(c)).alias(c)
          for c in ("left_behind_share", "left_behind_per_psych_teacher", "boarding_per_left_behind")],
    ).with_columns(privacy.status_marks("left_behind_students", min_count).alias("shown_count"))
    return privacy.sort_hidden_last(frame, ["left_behind_students"], True, "county_name").select(
        pl.col("county_name").alias(t("county_name", lang)),
        pl.col("shown_count").alias(t("left_behind_students", lang)),
        (pl.col("left_behind_share") * 100).round(1).alias(t("left_behind_share_pct", lang)),
        pl.col("boarding_students").alias(t("boarding_students", lang)),
        pl.col("boarding_per_left_behind").round(2).alias(t("boarding_per_left_behind", lang)),
        pl.col("psych_teachers").alias(t("psych_teachers", lang)),
        pl.col("psych_per_10_classes").round(2).alias(t("psych_per_10_classes", lang)),
        pl.col("left_behind_per_psych_teacher").round(0).alias(t("left_behind_per_psych_teacher", lang)),
    )


def migrant_where(schools: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """Migrant children by 城乡 group as published: count, share of all migrant children, share in public schools.

    Only group totals are published (school counts constrain them but are never shown); they are protected
    like left-behind counts, and a public share is left out when it would give a small public or private
    count back.
    """
    return stored_migrant_where(migrant_groups(schools, rules["privacy"]["min_count"]), rules)


MIGRANT_SUMS = ("migrant_students", "migrant_public")
PUBLIC_GROUP = "group_public"  # a 城乡 group's public or private part, "urban|true" (a published sum of its own)
MIGRANT_BREAKDOWNS = ("urban_rural_group", PUBLIC_GROUP)  # what migrant counts are published by


def migrant_frame(schools: pl.DataFrame) -> pl.DataFrame:
    """School rows with urban_rural_group and group_public, what the migrant protection is decided on."""
    frame = schools if "urban_rural_group" in schools.columns else schools.with_columns(
        indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group"))
    return frame.with_columns((pl.col("urban_rural_group").fill_null("—") + "|"
                               + pl.col("is_public").cast(pl.String).fill_null("—")).alias(PUBLIC_GROUP))


def migrant_protection(frame: pl.DataFrame, min_count: int) -> privacy.Protection:
    """The one suppression of migrant counts (issue 23): school counts (the cohort workbench), 城乡 group totals
    and each group's public and private parts (the page's public share gives them) and the county total, all
    decided together, so the page and the workbench publish the same cells."""
    return privacy.protect(migrant_frame(frame), "migrant_students", MIGRANT_BREAKDOWNS, min_count)


def both_protections(rows: pl.DataFrame, min_count: int, meanwhile=None
                     ) -> tuple[privacy.Protection, privacy.Protection]:
    """`protection` and `migrant_protection` of the same rows (with urban_rural_group), decided together in one
    pool of processes (`privacy.protect_many`, which also does `meanwhile` while they work): each exactly as
    alone."""
    left_behind, migrant = privacy.protect_many(
        [(rows, "left_behind_students", BREAKDOWNS, True),
         (migrant_frame(rows), "migrant_students", MIGRANT_BREAKDOWNS, True)], min_count, meanwhile)
    return left_behind, migrant


def migrant_groups(schools: pl.DataFrame, min_count: int, shield: privacy.Protection | None = None) -> pl.DataFrame:
    """Per county and 城乡 group: migrant children, those in public schools, the statuses of the group and county
    totals (`county_groups`) and of the group's public and private parts: what a version stores as
    `migrant_groups`. shield: `migrant_protection` of the same rows, when the caller has it."""
    frame = migrant_frame(schools)
    shield = shield if shield is not None else migrant_protection(frame, min_count)
    parts = shield.group_status(PUBLIC_GROUP).select(
        "county_code", pl.col("group").str.split("|").list.first().alias("group"),
        pl.col("group").str.split("|").list.last().alias("_public"), "status").group_by("county_code", "group").agg(
        pl.col("status").filter(pl.col("_public") == "true").first().alias("public_status"),
        pl.col("status").filter(pl.col("_public") != "true").first().alias("private_status"))
    return county_groups(frame, "urban_rural_group", shield, {
        "migrant_students": pl.col("migrant_students").sum(),
        "migrant_public": pl.col("migrant_students").filter(pl.col("is_public")).sum()}).join(
        parts, on=["county_code", "group"], how="left").with_columns(
        pl.col("public_status", "private_status").fill_null(privacy.SHOWN)).select(
        "county_code", "group", *MIGRANT_SUMS, "status", "county_status", "public_status", "private_status")


def stored_migrant_where(per_county: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """`migrant_where` from `migrant_groups` rows. A public share is shown only where the group total and both its
    public and private parts are published (the share gives the parts back); above a county, only where every
    county's are."""
    min_count = rules["privacy"]["min_count"]
    parts = per_county.with_columns(
        ((pl.col("public_status") == privacy.SHOWN) & (pl.col("private_status") == privacy.SHOWN)).alias("_parts")
    ).group_by("group").agg(pl.col("_parts").all()) if "public_status" in per_county.columns else None
    rows = region_groups(per_county.select("county_code", "group", *MIGRANT_SUMS, "status", "county_status"),
                         "migrant_students", min_count)
    if parts is not None:
        rows = rows.join(parts, on="group", how="left").with_columns(pl.col("_parts").fill_null(False))
    else:  # stored before the parts had statuses: the old rule, neither part a small count
        private = pl.col("migrant_students") - pl.col("migrant_public")
        rows = rows.with_columns((~_small(pl.col("migrant_public"), min_count) & ~_small(private, min_count))
                                 .alias("_parts"))
    shown = pl.col("status") == privacy.SHOWN
    total = rows.filter(shown)["migrant_students"].sum() or 1
    return rows.rename({"group": "urban_rural_group"}).with_columns(
        pl.when(shown).then(pl.col("migrant_students") / total).alias("share_of_migrants"),
        pl.when(shown & pl.col("_parts")).then(pl.col("migrant_public") / pl.col("migrant_students"))
        .alias("public_share"),
    ).drop("_parts").sort(pl.col("urban_rural_group").replace_strict({"urban": 0, "town": 1, "rural": 2}, default=9))


def _small(value: pl.Expr, min_count: int) -> pl.Expr:
    return (value > 0) & (value < min_count)


def migrant_table(where: pl.DataFrame, rules: dict, lang: str) -> pl.DataFrame:
    min_count = rules["privacy"]["min_count"]
    names = {**labels("group", indicators.GROUPS, lang), OTHER: t("other_counties", lang)}
    return where.select(
        pl.col("urban_rural_group").replace(names).alias(t("urban_rural", lang)),
        privacy.status_marks("migrant_students", min_count, "status").alias(t("migrant_students", lang)),
        pl.when(pl.col("share_of_migrants").is_not_null())
        .then(pl.format("{}%", (pl.col("share_of_migrants") * 100).round(1))).otherwise(pl.lit("—"))
        .alias(t("share_of_migrants", lang)),
        pl.when(pl.col("public_share").is_not_null())
        .then(pl.format("{}%", (pl.col("public_share") * 100).round(1))).otherwise(pl.lit("—"))
        .alias(t("public_share", lang)),
    )

"""Urban–rural gaps (城乡差距): student-weighted values by 城区/镇区/乡村, ratios, sizes, a plain summary."""
from __future__ import annotations

import polars as pl

from junheng.i18n import labels, t
from junheng.rules import indicators

GROUPS = indicators.GROUPS


def _weighted(keys: list[str]) -> list[pl.Expr]:
    """Student-weighted group value of each indicator = group total / group students × scale."""
    out = []
    for key in keys:
        ind = indicators.by_key(key)
        out.append((pl.col(ind.numerator).sum() / pl.col("students").sum() * ind.scale).alias(key))
    return out


def _with_group(totals: pl.DataFrame) -> pl.DataFrame:
    return totals.with_columns(indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group"))


def group_values(totals: pl.DataFrame) -> pl.DataFrame:
    """Long frame: year, level, urban_rural_group, indicator, value (student-weighted).

    totals: the `level_group_totals` query (sums per county × year × level × urban-rural code).
    """
    keys = [i.key for i in indicators.registry()]
    wide = _with_group(totals).group_by("year", "level", "urban_rural_group").agg(
        pl.col("students").sum().alias("group_students"), pl.col("schools").sum().alias("group_schools"),
        *_weighted(keys))
    return wide.unpivot(keys, index=["year", "level", "urban_rural_group", "group_students", "group_schools"],
                        variable_name="indicator", value_name="value").sort("indicator", "level", "year")


def rural_urban_ratio(groups: pl.DataFrame) -> pl.DataFrame:
    """Per year, level and indicator: 城区, 镇区, 乡村 values side by side and rural / urban."""
    wide = groups.pivot("urban_rural_group", index=["year", "level", "indicator"], values="value")
    for g in GROUPS:
        if g not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(g))
    return wide.with_columns((pl.col("rural") / pl.col("urban")).alias("ratio")).select(
        "year", "level", "indicator", *GROUPS, "ratio").sort("indicator", "level", "year")


def county_urban_rural(totals: pl.DataFrame, key: str, level: str, year: int) -> pl.DataFrame:
    """Per county: the urban and the rural student-weighted value of one indicator (gap scatter)."""
    rows = _with_group(totals).filter((pl.col("level") == level) & (pl.col("year") == year)
                                      & pl.col("urban_rural_group").is_in(["urban", "rural"]))
    wide = rows.group_by("county_code", "urban_rural_group").agg(*_weighted([key])).pivot(
        "urban_rural_group", index="county_code", values=key)
    for g in ("urban", "rural"):
        if g not in wide.columns:
            wide = wide.with_columns(pl.lit(None, dtype=pl.Float64).alias(g))
    return wide.drop_nulls(["urban", "rural"]).with_columns((pl.col("rural") / pl.col("urban")).alias("ratio"))


def size_profile(sizes: pl.DataFrame) -> pl.DataFrame:
    """Per year and 城乡 group: shares of classes 56–65 and 66+, of schools above the size ceiling and
    under the small-school floor (sizes: the `urban_rural_sizes` query)."""
    return _with_group(sizes).group_by("year", "urban_rural_group").agg(
        pl.col("schools").sum(),
        (pl.col("classes_56_65").sum() / pl.col("classes").sum()).alias("share_56_65"),
        (pl.col("classes_66_plus").sum() / pl.col("classes").sum()).alias("share_66_plus"),
        (pl.col("schools_over_max").sum() / pl.col("schools").sum()).alias("share_over_2000"),
        (pl.col("schools_under_min").sum() / pl.col("schools").sum()).alias("share_under_100"),
        (pl.col("students").sum() / pl.col("classes").sum()).alias("mean_class_size"),
    ).sort("year", "urban_rural_group")


def summary(ratios: pl.DataFrame, year: int, level: str, lang: str, keys: list[str] | None = None) -> list[str]:
    """Plain-language sentences: rural value as a share of urban, and its change from the year before."""
    keys = keys or [i.key for i in indicators.basic_indicators()]
    lines = []
    for key in keys:
        rows = ratios.filter((pl.col("indicator") == key) & (pl.col("level") == level))
        now = rows.filter(pl.col("year") == year)["ratio"]
        before = rows.filter(pl.col("year") == year - 1)["ratio"]
        if now.is_empty() or now[0] is None:
            continue
        ind = indicators.by_key(key)
        pct = round(now[0] * 100)
        if before.is_empty() or before[0] is None:
            lines.append(t("gap_sentence_first", lang, level=t(f"level_{level}", lang), indicator=ind.label(lang),
                           pct=pct))
            continue
        change = pct - round(before[0] * 100)
        trend = t("gap_up" if change > 0 else "gap_down" if change < 0 else "gap_same", lang, pp=abs(change))
        lines.append(t("gap_sentence", lang, level=t(f"level_{level}", lang), indicator=ind.label(lang),
                       pct=pct, trend=trend))
    return lines


def ratio_table(ratios: pl.DataFrame, year: int, level: str, lang: str) -> pl.DataFrame:
    """One row per indicator for year and level: unit, 城区, 镇区, 乡村, 乡村/城区."""
    rows = ratios.filter((pl.col("year") == year) & (pl.col("level") == level))
    order = {i.key: n for n, i in enumerate(indicators.registry())}
    return rows.sort(pl.col("indicator").replace_strict(order)).select(
        pl.col("indicator").replace_strict({i.key: i.label(lang) for i in indicators.registry()}).alias(
            t("indicator", lang)),
        pl.col("indicator").replace_strict({i.key: i.unit(lang) for i in indicators.registry()}).alias(
            t("unit", lang)),
        *[pl.col(g).round(2).alias(t(f"group_{g}", lang)) for g in GROUPS],
        pl.format("{}%", (pl.col("ratio") * 100).round(0).cast(pl.Int64)).alias(t("ratio", lang)),
    )


def size_table(profile: pl.DataFrame, year: int, lang: str) -> pl.DataFrame:
    """The size profile of one year, one row per 城乡 group, shares as percentages."""
    shares = ("share_56_65", "share_66_plus", "share_over_2000", "share_under_100")
    return profile.filter(pl.col("year") == year).sort(
        pl.col("urban_rural_group").replace_strict({g: n for n, g in enumerate(GROUPS)}, default=9)).select(
        pl.col("urban_rural_group").replace_strict(labels("group", GROUPS, lang), default="—").alias(
            t("urban_rural", lang)),
        pl.col("schools").alias(t("schools", lang)),
        pl.col("mean_class_size").round(1).alias(t("mean_class_size", lang)),
        *[pl.format("{}%", (pl.col(s) * 100).round(1)).alias(t(s, lang)) for s in shares],
    )

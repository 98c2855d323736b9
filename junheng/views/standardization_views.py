"""The standardization page's charts and tables for one view, built together (the page keeps them per data version
and view, so a visit that shows the same view again builds nothing)."""
from __future__ import annotations

import polars as pl

from junheng.figures import charts
from junheng.i18n import t
from junheng.rules import standardization as std
from junheng.views import class_charts


def page_parts(totals: pl.DataFrame, caps: pl.DataFrame, names: dict[str, str], year: int, region_name: str,
               rules: dict, profile: str, lang: str) -> dict:
    """Everything the page shows below its controls for year, region (totals and caps already scoped), profile
    and language: figures and tables by name, and the teaching-point caption's numbers."""
    shown = totals.filter(pl.col("year") <= year)
    progress = std.progress(shown, caps)
    region = std.region_progress(shown, caps)
    targets = std.milestones(rules, profile, lang)
    parts = {
        "std_trend": charts.share_trend_chart(region, {
            "standardized_share": t("standardized_share", lang),
            "public_standardized_share": t("public_standardized_share", lang)},
            t("standardized_share_title", lang) + " · " + region_name, lang, targets["standardized"]),
        "class_trend": charts.share_trend_chart(region, {
            "share_56_plus": t("share_56_plus", lang), "share_66_plus": t("share_66_plus", lang)},
            t("large_class_title", lang) + " · " + region_name, lang, targets["classes"]),
        "now": region.filter(pl.col("year") == year).row(0, named=True),
        "class_counts": class_charts.class_count_chart(region, std.allowed_counts(region, rules, profile),
                                                       t("class_counts_title", lang) + " · " + region_name, lang),
    }
    county_checks = std.milestone_checks(progress, rules, profile)
    parts["milestones"] = std.milestone_table(std.milestone_checks(region, rules, profile), county_checks, rules,
                                              lang)
    parts["county_milestones"] = std.county_milestone_table(county_checks, names, rules, lang)
    parts["roadmap"] = std.roadmap_table(std.roadmap(progress, year, rules, profile), names, lang)
    if progress["county_code"].n_unique() > 1:
        parts["std_multiples"] = charts.small_multiples_chart(
            progress, {"public_standardized_share": t("public_standardized_share", lang)}, names,
            t("public_standardized_share", lang) + " · " + t("by_county_small_multiples", lang), lang,
            targets["standardized"])
        parts["class_multiples"] = charts.small_multiples_chart(
            progress, {"share_56_plus": t("share_56_plus", lang), "share_66_plus": t("share_66_plus", lang)}, names,
            t("large_class_title", lang) + " · " + t("by_county_small_multiples", lang), lang, targets["classes"],
            higher_is_worse=True)
    return parts

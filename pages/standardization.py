"""标准化建设: standardized schools and large classes against the published deadlines, with a roadmap per county."""
import polars as pl
import streamlit as st

from junheng.rules import standardization as std
from junheng.views import charts, class_charts, present, ui
from junheng.i18n import t

filters = ui.page_filters()
lang, year, rules = filters.lang, filters.year, ui.rules()
st.subheader(t("standardization_title", lang, region=filters.region_name, year=year))
totals = ui.query("county_totals", years=list(filters.years), region=filters.region)
if totals.filter(pl.col("year") == year).is_empty():
    st.info(t("no_schools", lang, year=year))
    st.stop()
caps = ui.query("class_size_caps", years=list(filters.years), region=filters.region,
                primary_max=rules["targets"]["primary_class_max"], junior_max=rules["targets"]["junior_class_max"])
names = dict(ui.query("counties_with_data").select("county_code", "county_name").iter_rows())
profiles = list(std.class_profiles(rules))
profile = ui.linked(st.segmented_control, t("class_profile", lang), profiles, default=profiles[0], key="class_profile",
                    format_func=lambda p: std.profile_label(rules, p, lang))
shown = totals.filter(pl.col("year") <= year)
progress = std.progress(shown, caps)
region = std.region_progress(shown, caps)
targets = std.milestones(rules, profile, lang)

left, right = st.columns(2)
present.chart(charts.share_trend_chart(region, {
    "standardized_share": t("standardized_share", lang), "public_standardized_share": t("public_standardized_share", lang)},
    t("standardized_share_title", lang) + " · " + filters.region_name, lang, targets["standardized"]), "std_trend", lang, left)
present.chart(charts.share_trend_chart(region, {
    "share_56_plus": t("share_56_plus", lang), "share_66_plus": t("share_66_plus", lang)},
    t("large_class_title", lang) + " · " + filters.region_name, lang, targets["classes"]), "class_trend", lang, right)
now = region.filter(pl.col("year") == year).row(0, named=True)
st.caption(t("teaching_point_note", lang, year=year, n=now["teaching_points"],
             share=f"{now['teaching_point_standardized_share']:.0%}" if now["teaching_points"] else "—"))
present.chart(class_charts.class_count_chart(region, std.allowed_counts(region, rules, profile),
                                               t("class_counts_title", lang) + " · " + filters.region_name, lang), "class_counts", lang)

county_checks = std.milestone_checks(progress, rules, profile)
st.markdown(f"**{t('milestones_title', lang)}** · {std.profile_label(rules, profile, lang)}")
st.dataframe(std.milestone_table(std.milestone_checks(region, rules, profile), county_checks, rules, lang),
             hide_index=True, width="stretch")
st.markdown(f"**{t('county_milestones_title', lang)}**")
st.dataframe(std.county_milestone_table(county_checks, names, rules, lang), hide_index=True, width="stretch")

st.markdown(f"**{t('roadmap_title', lang)}**")
st.caption(t("roadmap_help", lang, k=rules["targets"]["pace_years"]))
roadmap = std.roadmap_table(std.roadmap(progress, year, rules, profile), names, lang)
st.dataframe(roadmap, hide_index=True, width="stretch")
ui.downloads(roadmap, f"roadmap_{filters.region or 'all'}_{year}", lang, key="roadmap", school_level=False)

if progress["county_code"].n_unique() > 1:
    present.chart(charts.small_multiples_chart(
        progress, {"public_standardized_share": t("public_standardized_share", lang)}, names,
        t("public_standardized_share", lang) + " · " + t("by_county_small_multiples", lang), lang,
        targets["standardized"]), "std_multiples", lang)
    present.chart(charts.small_multiples_chart(
        progress, {"share_56_plus": t("share_56_plus", lang), "share_66_plus": t("share_66_plus", lang)}, names,
        t("large_class_title", lang) + " · " + t("by_county_small_multiples", lang), lang, targets["classes"],
        higher_is_worse=True), "class_multiples", lang)

st.markdown(f"**{t('huge_class_schools_title', lang)}**")
holding = std.huge_class_schools(ui.query("huge_class_schools", year=year, region=filters.region), names, lang)
if holding.is_empty():
    st.caption(t("none_left", lang))
else:
    st.dataframe(holding, hide_index=True, width="stretch")

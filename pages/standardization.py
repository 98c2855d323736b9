"""标准化建设: standardized schools and large classes against the published deadlines, with a roadmap per county."""
import polars as pl
import streamlit as st

from junheng.rules import standardization as std
from junheng.views import charts, ui
from junheng.i18n import t

filters = ui.page_filters()
lang, year, rules = filters.lang, filters.year, ui.rules()
st.subheader(t("standardization_title", lang, region=filters.region_name, year=year))
totals = ui.query("county_totals", years=list(filters.years), region=filters.region, scope=filters.scope)
if totals.filter(pl.col("year") == year).is_empty():
    st.info(t("no_schools", lang, year=year))
    st.stop()
names = dict(ui.query("counties_with_data", scope=filters.scope).select("county_code", "county_name").iter_rows())
progress = std.progress(totals.filter(pl.col("year") <= year))
region = std.region_progress(totals.filter(pl.col("year") <= year))
targets = std.milestones(rules, lang)

left, right = st.columns(2)
left.plotly_chart(charts.share_trend_chart(region, {
    "standardized_share": t("standardized_share", lang), "public_standardized_share": t("public_standardized_share", lang)},
    t("standardized_share_title", lang) + " · " + filters.region_name, lang, targets["standardized"]), key="std_trend")
right.plotly_chart(charts.share_trend_chart(region, {
    "share_56_plus": t("share_56_plus", lang), "share_66_plus": t("share_66_plus", lang)},
    t("large_class_title", lang) + " · " + filters.region_name, lang, targets["classes"]), key="class_trend")
st.markdown(f"**{t('milestones_title', lang)}**")
st.dataframe(std.milestone_table(std.milestone_checks(region, rules), lang), hide_index=True, width="stretch")

st.markdown(f"**{t('roadmap_title', lang)}**")
st.caption(t("roadmap_help", lang, k=rules["targets"]["pace_years"]))
roadmap = std.roadmap_table(std.roadmap(progress, year, rules), names, lang)
st.dataframe(roadmap, hide_index=True, width="stretch")
ui.downloads(roadmap, f"roadmap_{filters.region or 'all'}_{year}", lang, key="roadmap")

if progress["county_code"].n_unique() > 1:
    st.plotly_chart(charts.small_multiples_chart(
        progress, {"public_standardized_share": t("public_standardized_share", lang)}, names,
        t("public_standardized_share", lang) + " · " + t("by_county_small_multiples", lang), lang,
        targets["standardized"]), key="std_multiples")
    st.plotly_chart(charts.small_multiples_chart(
        progress, {"share_56_plus": t("share_56_plus", lang), "share_66_plus": t("share_66_plus", lang)}, names,
        t("large_class_title", lang) + " · " + t("by_county_small_multiples", lang), lang, targets["classes"],
        higher_is_worse=True), key="class_multiples")

st.markdown(f"**{t('huge_class_schools_title', lang)}**")
holding = std.huge_class_schools(ui.query("huge_class_schools", year=year, region=filters.region,
                                          scope=filters.scope), names, lang)
if holding.is_empty():
    st.caption(t("none_left", lang))
else:
    st.dataframe(holding, hide_index=True, width="stretch")

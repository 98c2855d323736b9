"""留守儿童: where left-behind children are, whether their schools can care for them, and migrant children."""
import polars as pl
import streamlit as st

from junheng.rules import left_behind, overview
from junheng.views import charts, maps, present, ui
from junheng.i18n import t

filters = ui.page_filters()
lang, year, rules = filters.lang, filters.year, ui.rules()
st.subheader(t("left_behind_title", lang, region=filters.region_name, year=year))
map_region = filters.region[:4] if filters.county else filters.region
totals = ui.query("county_totals", years=list(filters.years), region=map_region)
schools = ui.query("school_rows", year=year, region=filters.region)
if schools.is_empty():
    st.info(t("no_schools", lang, year=year))
    st.stop()
min_count = rules["privacy"]["min_count"]
care = left_behind.school_care(schools, rules)
# What may be published, decided per county (7 s for the whole country): once per data version, year and region.
shield = ui.memo(("left_behind_protection", year, filters.region, ui.scope().key, repr(rules)),
                 lambda: left_behind.protection(care, rules))


@st.fragment
def county_map() -> None:
    metric = ui.linked(st.segmented_control, t("map_by", lang), ["left_behind_students", "left_behind_share"],
                       default="left_behind_students", key="left_behind_metric", format_func=lambda k: t(k, lang))
    label = overview.metric_label(metric, lang)
    st.markdown(f"**{t('county_map_lb_title', lang, metric=label, year=year)}**")
    data = overview.county_map_data(ui.county_geometry(totals["county_code"].n_unique()), left_behind.mask_small_counties(
        totals.filter(pl.col("year") == year), min_count), metric, lang)
    fmap = maps.county_choropleth_map(data, "value", "value_text", {
        "name": t("county_name", lang), "metric": label, "no_data": t("legend_no_data", lang),
        "format": overview.metric_format(metric)}, selected=filters.county)
    ui.county_map(fmap, "left_behind_map", filters.county, height=440)


county_map()
if filters.county:
    st.markdown(f"**{t('school_map_title', lang)}**")
    outline = ui.county_geometry().query("county_code == @filters.county")
    ui.static_map(maps.school_cluster_map(left_behind.school_map_rows(care, shield, rules, lang), outline, {
        "layer": t("school_map_layer", lang), "title": t("left_behind_students", lang),
        "legend": t("school_map_legend", lang, n=min_count)}), "left_behind_schools", height=480)

region_years = left_behind.region_years(totals.filter(pl.col("county_code").str.starts_with(filters.region)), min_count)
present.chart(charts.count_share_chart(region_years, "left_behind_students", "left_behind_share", {
    k: t(k, lang) for k in ("left_behind_students", "left_behind_share")}, t("left_behind_trend_title", lang), lang), "left_behind_trend", lang)

choices = [b for b in left_behind.BREAKDOWNS if filters.county or b != "township"]
by = ui.linked(st.segmented_control, t("breakdown_by", lang), choices, default=choices[0], key="left_behind_by",
               format_func=lambda b: t(f"by_{b}", lang))
table = left_behind.breakdown_table(left_behind.published_breakdown(care, by, shield, rules), by, rules, lang)
present.chart(charts.breakdown_chart(table, t(f"by_{by}", lang), t("left_behind_students", lang),
                                       t("left_behind_students", lang) + " · " + t(f"by_{by}", lang),
                                       t("left_behind_students", lang)), "left_behind_breakdown", lang)
st.dataframe(table, hide_index=True, width="stretch")
st.caption(t("privacy_marks", lang, n=min_count))

st.markdown(f"**{t('county_care_title', lang)}** · {t('psych_target', lang)}")
st.dataframe(left_behind.county_care_table(totals.filter(pl.col("year") == year), ui.query(
    "counties_with_data"), rules, lang), hide_index=True, width="stretch")

st.markdown(f"**{t('care_gap_title', lang)}**")
st.caption(t("care_gap_help", lang, n=min_count))
gap_list = left_behind.care_gap_table(care, shield, rules, lang)
st.dataframe(gap_list.head(500), hide_index=True, width="stretch")
ui.downloads(gap_list, f"care_gap_{filters.region or 'all'}_{year}", lang, key="care_gap")

st.markdown(f"**{t('migrant_title', lang)}**")
st.dataframe(left_behind.migrant_table(left_behind.migrant_where(schools, rules), rules, lang), hide_index=True,
             width="stretch")

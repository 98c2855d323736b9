"""留守儿童: where left-behind children are, whether their schools can care for them, and migrant children."""
import polars as pl
import streamlit as st

from junheng.figures import charts, maps
from junheng.i18n import t
from junheng.rules import left_behind, overview
from junheng.views import cache, downloads, left_behind_data, link_state, map_views, present, sidebar, table_formats
from junheng.views import overview_views as overview_maps

CARE_ROWS = 100  # counties in the care table on the page
filters = sidebar.page_filters()
lang, year, rules = filters.lang, filters.year, cache.rules()
st.subheader(t("left_behind_title", lang, region=filters.region_name, year=year))
map_region = filters.region[:4] if filters.county else filters.region
min_count = rules["privacy"]["min_count"]
# The county totals as published (issue 23): a total the protection hides ("<5" or withheld) is null with its status
totals = cache.query("county_published_totals", years=list(filters.years), region=map_region, min_count=min_count)
now = totals.filter(pl.col("year") == year)
# One county: its school rows; above it: the aggregates stored with each version (no 250,000 school rows).
data = left_behind_data.page_data(year, filters.region, filters.county, rules,
                                  not now.filter(pl.col("county_code").str.starts_with(filters.region)).is_empty())
if data.empty():
    st.info(t("no_schools", lang, year=year))
    st.stop()
view = (year, map_region, lang, filters.county, cache.scope().key, min_count)  # all a map shows besides the data


@st.fragment
def county_map() -> None:
    metric = link_state.linked(st.segmented_control, t("map_by", lang), ["left_behind_students", "left_behind_share"],
                       default="left_behind_students", key="left_behind_metric", format_func=lambda k: t(k, lang))
    label = overview.metric_label(metric, lang)
    st.markdown(f"**{t('county_map_lb_title', lang, metric=label, year=year)}**")

    def build():
        shown = overview.county_map_data(cache.county_geometry(totals["county_code"].n_unique()),
                                         left_behind.mask_small_counties(now, min_count), metric, lang)
        return maps.county_choropleth_map(shown, "value", "value_text", {
            "name": t("county_name", lang), "metric": label, "no_data": t("legend_no_data", lang),
            "format": overview.metric_format(metric)}, selected=filters.county)
    map_views.values_county_map(("left_behind_map", metric, *view), lambda: overview_maps.map_values(
        left_behind.mask_small_counties(now, min_count), metric, lang, min_count), build, "left_behind_map",
        filters.county, height=440)


county_map()
if filters.county:
    st.markdown(f"**{t('school_map_title', lang)}**")
    outline = cache.county_geometry().query("county_code == @filters.county")
    map_views.cached_static_map(("left_behind_schools", *view), lambda: maps.school_cluster_map(
        left_behind.school_map_rows(data.care, data.shield, rules, lang), outline, {
            "layer": t("school_map_layer", lang), "title": t("left_behind_students", lang),
            "legend": t("school_map_legend", lang, n=min_count)}), "left_behind_schools", height=480)

in_region = totals.filter(pl.col("county_code").str.starts_with(filters.region))
region_years = left_behind.region_years(in_region, min_count, cache.region_decisions(
    tuple(sorted(in_region["year"].unique())), min_count), filters.region)
present.chart(charts.count_share_chart(region_years, "left_behind_students", "left_behind_share", {
    k: t(k, lang) for k in ("left_behind_students", "left_behind_share")}, t("left_behind_trend_title", lang), lang),
    "left_behind_trend", lang)

choices = [b for b in left_behind.BREAKDOWNS if filters.county or b != "township"]
by = link_state.linked(st.segmented_control, t("breakdown_by", lang), choices, default=choices[0], key="left_behind_by",
               format_func=lambda b: t(f"by_{b}", lang))
table = left_behind.breakdown_table(data.breakdown(by), by, rules, lang)
present.chart(charts.breakdown_chart(table, t(f"by_{by}", lang), t("left_behind_students", lang),
                                       t("left_behind_students", lang) + " · " + t(f"by_{by}", lang),
                                       t("left_behind_students", lang)), "left_behind_breakdown", lang)
table_formats.show(table, hide_index=True, width="stretch")
st.caption(t("privacy_marks", lang, n=min_count))

st.markdown(f"**{t('county_care_title', lang)}** · {t('psych_target', lang)}")
care_table = left_behind.county_care_table(now, cache.query("counties_with_data"), rules, lang)
# at most CARE_ROWS counties on the page (a national table was 2,852 rows, 63 KB of a first load on the wire); the
# download has them all
table_formats.show(care_table.head(CARE_ROWS), hide_index=True, width="stretch")
if care_table.height > CARE_ROWS:
    st.caption(t("table_rows_note", lang, n=CARE_ROWS, total=care_table.height))
    downloads.downloads(care_table, f"county_care_{filters.region or 'all'}_{year}", lang, key="county_care",
                        school_level=False, regions=tuple(now["county_code"]))

st.markdown(f"**{t('care_gap_title', lang)}**")
st.caption(t("care_gap_help", lang, n=min_count))
gap_shown, gap_list = data.gap_list(lang)
table_formats.show(gap_shown, hide_index=True, width="stretch")
downloads.downloads(gap_list, f"care_gap_{filters.region or 'all'}_{year}", lang, key="care_gap")

st.markdown(f"**{t('migrant_title', lang)}**")
table_formats.show(left_behind.migrant_table(data.migrants(), rules, lang), hide_index=True, width="stretch")

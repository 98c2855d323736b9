"""城乡差距: student-weighted values of urban, town and rural schools, the county gap scatter, sizes, a summary."""
import polars as pl
import streamlit as st

from junheng.figures import charts
from junheng.i18n import t
from junheng.rules import gaps, indicators
from junheng.views import cache, downloads, link_state, phone, present, sidebar

filters = sidebar.page_filters()
lang, year, rules = filters.lang, filters.year, cache.rules()
st.subheader(t("gap_title", lang, region=filters.region_md, year=year))
trend = cache.query("region_level_group_totals", years=list(filters.years), region=filters.region)
if trend.filter(pl.col("year") == year).is_empty():
    st.info(t("no_schools", lang, year=year))
    st.stop()

ratios = gaps.rural_urban_ratio(gaps.group_values(trend))
levels = [lv for lv in indicators.LEVELS if trend.filter(pl.col("level") == lv).height]
level = link_state.linked(st.radio, t("choose_level", lang), levels, key="gaps_level", default=levels[0],
                          horizontal=True,
                  format_func=lambda lv: t(f"level_{lv}", lang))

st.markdown(f"**{t('summary_title', lang)}**")
st.markdown("\n".join(f"- {line}" for line in gaps.summary(ratios, year, level, lang)))

st.markdown(f"**{t('gap_table_title', lang)}**")
ratio_table = gaps.ratio_table(ratios, year, level, lang)  # shown and downloaded alike
phone.table("gap_table", ratio_table, [t(k, lang) for k in (  # a phone: key columns
    "indicator", "group_urban", "group_rural", "ratio")], hide_index=True, width="stretch")
downloads.downloads(ratio_table, f"{t('download_gap_table', lang)}_"
                    f"{filters.region or 'all'}_{year}_{level}", lang, "dl_gap", school_level=False)

key = link_state.linked(st.selectbox, t("choose_indicator", lang), [i.key for i in indicators.registry()],
                        key="gaps_indicator",
                default=indicators.registry()[0].key, format_func=lambda k: indicators.by_key(k).label(lang))
present.chart(charts.gap_trend_chart(ratios, key, level, lang), "gap_trend", lang)
# A county is shown among its prefecture's counties, so the scatter has context.
totals = cache.query("level_group_totals", years=[year],
                     region=filters.region[:4] if filters.county else filters.region)
counties = gaps.county_urban_rural(totals, key, level, year).join(
    cache.query("counties_with_data"), on="county_code", how="left")
present.chart(charts.gap_scatter_chart(counties, key, level, year, lang, selected=filters.county), "gap_scatter", lang)
st.caption(t("gap_scatter_hint", lang))

profile = gaps.size_profile(cache.query(
    "urban_rural_sizes", years=[year], region=filters.region,
    large_school_max=rules["rules"]["large_school_max"], combined_school_max=rules["rules"]["combined_school_max"],
    small_school_min=rules["rules"]["small_school_min"]))
present.chart(charts.size_profile_chart(profile, year, lang), "size_profile", lang)
size_table = gaps.size_table(profile, year, lang)
st.dataframe(size_table, hide_index=True, width="stretch")
downloads.downloads(size_table, f"{t('download_size_table', lang)}_{filters.region or 'all'}_"
                    f"{year}", lang, "dl_sizes", school_level=False)

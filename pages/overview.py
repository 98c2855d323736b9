"""Overview: headline figures with year-on-year change and a county choropleth."""
import streamlit as st

from junheng.i18n import t
from junheng.rules import overview
from junheng.views import cache, link_state, map_views, overview_views, sidebar, table_formats
from junheng.views import evaluation_views as kit

filters = sidebar.page_filters()
lang, year = filters.lang, filters.year
# A county is shown among its prefecture's counties, so the map has context.
map_region = filters.region[:4] if filters.county else filters.region
min_count = cache.rules()["privacy"]["min_count"]  # left-behind and migrant totals as published (issue 23)
totals = cache.query("county_published_totals", years=[year - 1, year], region=map_region, min_count=min_count)
selected = totals.filter(totals["county_code"].str.starts_with(filters.region))
if selected.filter(selected["year"] == year).is_empty():
    st.info(t("no_schools", lang, year=year))
    st.stop()

st.subheader(t("headline", lang, region=filters.region_md, year=year))
kit.status_card(filters.county, year, cache.rules(), lang)  # the verdicts first, on a phone too
figures = overview.headline(selected, year, min_count, cache.region_decisions((year - 1, year), min_count),
                            filters.region)
for column, figure in zip(st.columns(3) * 2, figures):
    column.metric(overview.metric_label(figure.key, lang),
                  overview.format_value(figure.kind, figure.value, lang, figure.status, min_count),
                  delta=overview.format_change(figure, lang) or t("no_previous", lang),
                  delta_color=overview.delta_colour(figure), delta_arrow=overview.delta_arrow(figure), border=True)
if overview.has_marks(figures):
    st.caption(t("overview_estimate_note", lang, n=min_count))

metric = link_state.linked(st.selectbox, t("map_metric", lang), overview.metric_keys(), key="overview_metric",
                   default=overview.metric_keys()[0], format_func=lambda k: overview.metric_label(k, lang))
this_year = totals.filter(totals["year"] == year)


@st.fragment
def county_map() -> None:
    st.markdown(f"**{t('map_title', lang, metric=overview.metric_label(metric, lang), year=year)}**")
    map_views.values_county_map(overview_views.map_key(metric, year, map_region, filters.county, lang,
                                                       cache.scope().key, min_count),
                                lambda: overview_views.map_values(this_year, metric, lang, min_count),
                                lambda: overview_views.build_map(cache.county_geometry(this_year.height), this_year,
                                                                 metric, year, lang, filters.county, min_count),
                                "overview_map", filters.county)
    st.caption(t("map_hint", lang))


county_map()
st.markdown(f"**{t('county_table', lang)}**")
table_formats.show(overview.county_table(cache.query("counties_with_data"), this_year, metric, lang, min_count),
                   hide_index=True, width="stretch")

"""研究 / 队列分析: a cohort of schools (region, years, conditions) — facets, size, summary, distributions, trend,
map, comparison, similar counties, exports and the SQL that ran; the whole view is in the link."""
import polars as pl
import streamlit as st

from junheng.data import cohort as cohort_query
from junheng.i18n import t
from junheng.reports import exports
from junheng.rules import cohort, cohort_stats as stats
from junheng.views import charts, cohort_panels as panels, cohort_views as views, maps, present, ui

filters = ui.page_filters()
lang, years = filters.lang, filters.years
st.subheader(t("cohort_title", lang, region=filters.region_name))
st.caption(t("cohort_intro", lang))
numeric = [f.name for f in cohort.numeric_fields()]
defaults = {"cohort_years": (years[0], years[-1]), "cohort_where": "", "cohort_where_b": "", "cohort_compare": "rest",
            "cohort_measures": list(views.DEFAULT_MEASURES), "cohort_measure": views.DEFAULT_MEASURES[0],
            "cohort_view": "summary", "cohort_k": 5}
ui.cohort_link(lang, years, defaults)
left, right = st.columns([1, 2])
span = left.select_slider(t("cohort_years", lang), options=list(years), key="cohort_years",
                          value=defaults["cohort_years"])  # a range: the value's kind makes it one
measures = left.multiselect(t("cohort_measures", lang), numeric, key="cohort_measures", max_selections=views.MAX_MEASURES,
                            format_func=lambda m: views.measure_label(m, lang)) or list(views.DEFAULT_MEASURES)
where = right.text_area(t("cohort_where", lang), key="cohort_where", height=140, help=t("cohort_where_help", lang))
conditions, errors = cohort.parse_all(where.splitlines())
for e in errors:
    right.error(e.message(lang, markdown=True) + " " + t("cohort_not_applied", lang))
spec = cohort.Cohort(filters.region, span[0], span[1], tuple(conditions))
base = ["school_name", "students", "lon", "lat", *views.facets(filters.county)]
result = ui.cohort(spec, span, base + measures)
rows = result.rows

st.markdown(f"**{t('cohort_facets', lang)}**")
for column, place in zip(views.facets(filters.county), st.columns(len(views.facets(filters.county)))):
    counts = stats.facet_counts(rows, column)
    st.session_state[f"cohort_where_facet_{column}"] = list(cohort.facet_values(conditions, column))
    place.pills(t(f"facet_{column}", lang), views.facet_options(column, counts), selection_mode="multi",
                key=f"cohort_where_facet_{column}", format_func=lambda v, c=column, n=counts: views.facet_label(
                    c, v, n, lang), on_change=ui.facet_changed, args=(column, "cohort_where"))
size = stats.size(rows)
for place, label, value in zip(st.columns(3), (t("cohort_schools", lang), t("cohort_school_years", lang),
                                                t("cohort_students", lang, year=size["year"] or span[1])),
                               (size["schools"], size["school_years"], size["students"])):
    place.metric(label, f"{value:,}")
view = st.segmented_control(t("cohort_view", lang), views.VIEWS, key="cohort_view",
                            format_func=lambda v: t(f"view_{v}", lang)) or "summary"
if st.session_state.get("cohort_measure") not in measures:
    st.session_state["cohort_measure"] = measures[0]
measure = st.selectbox(t("cohort_measure", lang), measures, key="cohort_measure",
                       format_func=lambda m: views.measure_label(m, lang)) if view in (
    "distribution", "trend", "compare") else st.session_state.get("cohort_measure", measures[0])
measure = measure if measure in measures else measures[0]
label, share = views.measure_label(measure, lang), cohort.fields()[measure].kind == "share"

if rows.is_empty():
    st.info(t("cohort_empty", lang))
elif view == "summary":
    st.dataframe(views.summary_table(stats.summary(rows, measures), lang), hide_index=True, width="stretch")
    st.caption(t("cohort_summary_note", lang, first=span[0], last=span[1]))
elif view == "distribution":
    last = rows.filter(pl.col("year") == size["year"])
    present.chart(charts.cohort_histogram_chart(stats.histogram({"a": last}, measure), {"a": t("cohort_a", lang)},
                                                  label, size["year"], lang, share), "cohort_hist", lang)
elif view == "trend":
    present.chart(charts.cohort_trend_chart({"a": stats.trend(rows, measure)}, {"a": t("cohort_a", lang)}, label,
                                              lang, share), "cohort_trend", lang)
elif view == "map":
    last = rows.filter(pl.col("year") == size["year"])
    shown = ui.county_geometry(last["county_code"].n_unique())
    if last.height <= views.MAP_SCHOOLS:
        st.markdown(f"**{t('cohort_map_title', lang, year=size['year'])}**")
        ui.static_map(maps.school_cluster_map(views.map_rows(last, measure, lang), shown[shown["county_code"].isin(
            last["county_code"].unique().to_list())], {"layer": t("cohort_map_layer", lang), "title": t(
                "cohort_schools", lang), "legend": t("cohort_map_legend", lang)}), "cohort_map", height=520)
    else:
        st.markdown(f"**{t('cohort_map_counties', lang, year=size['year'], n=views.MAP_SCHOOLS)}**")
        ui.static_map(maps.county_choropleth_map(views.county_counts_map(shown, last, lang), "value", "value_text", {
            "name": t("county_name", lang), "metric": t("cohort_schools", lang), "no_data": t("legend_no_data", lang),
            "format": "{:,.0f}"}), "cohort_county_map", height=520)
elif view == "compare":
    against = st.radio(t("cohort_compare_with", lang), ["rest", "b"], key="cohort_compare", horizontal=True,
                       format_func=lambda v: t(f"compare_{v}", lang))
    if against == "b":
        where_b = st.text_area(t("cohort_where_b", lang), key="cohort_where_b", height=110,
                               help=t("cohort_where_help", lang))
        conditions_b, errors_b = cohort.parse_all(where_b.splitlines())
        for e in errors_b:
            st.error(e.message(lang, markdown=True) + " " + t("cohort_not_applied", lang))
        other = ui.cohort(spec.with_conditions(conditions_b), span, base + measures).rows
    else:
        other = stats.rest(ui.cohort(spec.with_conditions(()), span, base + measures).rows, rows)
    names = {"a": t("cohort_a", lang), "b": t("cohort_b" if against == "b" else "cohort_rest", lang)}
    st.dataframe(views.compare_table(stats.compare(stats.summary(rows, measures), stats.summary(other, measures)),
                                     names["a"], names["b"], lang), hide_index=True, width="stretch")
    both = {"a": rows.filter(pl.col("year") == size["year"]), "b": other.filter(pl.col("year") == size["year"])}
    present.chart(charts.cohort_histogram_chart(stats.histogram(both, measure), names, label, size["year"], lang,
                                                  share), "cohort_compare_hist", lang)
    present.chart(charts.cohort_trend_chart({"a": stats.trend(rows, measure), "b": stats.trend(other, measure)},
                                              names, label, lang, share), "cohort_compare_trend", lang)
elif view == "similar":
    panels.similar(filters, spec, span, base + measures, measures, lang)
else:
    result = ui.cohort(spec, span)
    published = cohort_query.export_frame(result)
    st.dataframe(published.head(1000), hide_index=True, width="stretch")
    st.caption(t("cohort_rows_note", lang, n=min(1000, published.height), total=published.height))
    ui.downloads(published, f"cohort_{filters.region or 'all'}_{span[0]}-{span[1]}", lang, key="cohort_export",
                 formats=("csv", "xlsx", "parquet"), build=lambda f, kind: exports.cohort_bytes(f, kind, lang, {
                     "junheng.query": result.sql, "junheng.params": str(result.params)}))

panels.method(result, lang)
ui.cohort_to_link(defaults)

"""Parts of the cohort page that draw themselves (Streamlit): map, comparison, similar counties, rows and the
method panel. Every statistic comes from junheng/data/cohort.py through cache.cohort (computed in DuckDB, small)."""
from __future__ import annotations

import streamlit as st

from junheng.commands import exports as export_commands
from junheng.data import cohort as cohort_query
from junheng.figures import charts, maps
from junheng.i18n import t
from junheng.reports import exports
from junheng.rules import cohort
from junheng.rules import cohort_stats as stats
from junheng.views import cache, downloads, link_state, map_views, present, table_formats
from junheng.views import cohort_views as views

ROWS_SHOWN = 1000


def cohort_map(spec, span, size: dict, measure: str, lang: str) -> None:
    """The cohort's schools of its last year on a clustered map; above MAP_SCHOOLS of them, counts per county."""
    year = size["year"]
    if size["last_year_rows"] <= views.MAP_SCHOOLS:
        last = cache.cohort("rows_page", spec, span, columns=["school_name", "students", "lon", "lat", measure],
                            year=year,
                         limit=views.MAP_SCHOOLS)
        shown = cache.county_geometry(last["county_code"].n_unique())
        st.markdown(f"**{t('cohort_map_title', lang, year=year)}**")
        map_views.static_map(maps.school_cluster_map(views.map_rows(last, measure, lang),
                                                     shown[shown["county_code"].isin(
            last["county_code"].unique().to_list())], {"layer": t("cohort_map_layer", lang), "title": t(
                "cohort_schools", lang), "legend": t("cohort_map_legend", lang)}), "cohort_map", height=520)
    else:
        counts = cache.cohort("county_counts", spec, span, year=year)
        shown = cache.county_geometry(counts.height)
        st.markdown(f"**{t('cohort_map_counties', lang, year=year, n=views.MAP_SCHOOLS)}**")
        map_views.static_map(maps.county_choropleth_map(views.county_counts_map(shown, counts, lang), "value",
                                                        "value_text", {
            "name": t("county_name", lang), "metric": t("cohort_schools", lang), "no_data": t("legend_no_data", lang),
            "format": "{:,.0f}"}), "cohort_county_map", height=520)


def compare(spec, span, size: dict, measures, measure: str, label: str, share: bool, lang: str) -> None:
    """Cohort A against cohort B (its own conditions) or against the rest of its region: the summaries side by
    side, both distributions of A's last year on the same bins and both trends."""
    against = st.radio(t("cohort_compare_with", lang), ["rest", "b"], key="cohort_compare", horizontal=True,
                       format_func=lambda v: t(f"compare_{v}", lang))
    if against == "b":
        where_b = st.text_area(t("cohort_where_b", lang), key="cohort_where_b", height=110,
                               help=t("cohort_where_help", lang))
        conditions_b, errors_b = cohort.parse_all(where_b.splitlines())
        for e in errors_b:
            st.error(e.message(lang, markdown=True) + " " + t("cohort_not_applied", lang))
        other = spec.with_conditions(conditions_b)
    else:
        other = cohort_query.Rest(spec)
    both = {"a": spec, "b": other}
    names = {"a": t("cohort_a", lang), "b": t("cohort_b" if against == "b" else "cohort_rest", lang)}
    summaries = cache.cohort("summaries", both, span, measures=measures)
    table_formats.show(views.compare_table(stats.compare(summaries["a"], summaries["b"]), names["a"], names["b"],
                                           lang), hide_index=True, width="stretch")
    present.chart(charts.cohort_histogram_chart(cache.cohort("histogram", both, span, measure=measure,
                                                             year=size["year"]),
                                                names, label, size["year"], lang, share), "cohort_compare_hist", lang)
    trends = cache.cohort("trends", both, span, measure=measure)
    present.chart(charts.cohort_trend_chart(trends, names, label, lang, share), "cohort_compare_trend", lang)


def similar(filters, spec, span, measures, lang: str) -> None:
    """The k counties most like the chosen one on the chosen measures (standardised distance)."""
    if not filters.county:
        st.info(t("cohort_similar_need_county", lang))
        return
    k = st.slider(t("cohort_similar_k", lang), 1, 20, key="cohort_k")
    # the pooled years of the range by default: a cohort that shrinks (临泉县, 385 schools in 2016, 6 in 2025) still
    # has a profile to compare
    chosen = link_state.linked(st.selectbox, t("cohort_similar_basis", lang), ["", *range(span[1], span[0] - 1, -1)],
                       key="syear", default="", format_func=lambda y: views.years_label(span, lang) if y == ""
                       else str(y))

    def values_of(years):
        return cache.cohort("county_values", cohort.Cohort("", years[0], years[1], spec.conditions, spec.follow_year),
                         years, measures=measures)
    nearest, values, used, fell_back = views.similar_counties(values_of, filters.county, measures, span,
                                                              chosen or None, k)
    if fell_back:
        st.warning(t("cohort_similar_fallback", lang, county=filters.region_md, year=chosen,
                     years=views.years_label(used, lang)))
    st.caption(t("cohort_similar_note", lang, year=views.years_label(used, lang), n=values.height))
    if nearest.is_empty():
        st.info(t("cohort_similar_none", lang, county=filters.region_md))
    st.dataframe(views.similar_table(nearest, cache.query("counties_with_data"), measures, lang), hide_index=True,
                 width="stretch")


class _Rows:
    """The rows a download will hold, fetched only when a button is clicked (downloads.downloads asks for its height,
    for
    the audit log, and hands it to the builder)."""

    def __init__(self, spec, span, height: int):
        self.spec, self.span, self.height = spec, span, height


def rows(filters, spec, span, size: dict, lang: str) -> None:
    """The cohort's first rows as published, and its files (every row, built on click)."""
    shown = cohort_query.export_frame(cohort_query.Result(cache.cohort("rows_page", spec, span, limit=ROWS_SHOWN),
                                                          "", {},
                                                          0, min_count=cache.rules()["privacy"]["min_count"]))
    st.dataframe(shown, hide_index=True, width="stretch")
    st.caption(t("cohort_rows_note", lang, n=shown.height, total=size["school_years"]))

    damaged = cohort_query.damaged_years(cache.snapshot_health()[1], span[0], span[1])
    if damaged:  # the files say so too (their notes / metadata)
        st.warning(exports.damaged_note(damaged, lang))

    def build(pending: _Rows, kind: str) -> bytes:
        result = cache.cohort_rows(pending.spec, pending.span)
        # the metadata's query gives the file's rows as published: every condition, the stored count decisions
        published = (cohort_query.published_plan(pending.spec, pending.span, result.min_count)
                     if result.min_count > 0 else result)
        # what the file says of itself, as the command line's and the API's files say it (params as JSON)
        about = export_commands.about(cache.data_dir(), pending.spec, pending.span, kind, lang, published.params,
                                      damaged)
        return exports.cohort_bytes(cohort_query.export_frame(result), kind, lang, {
            "junheng.query": published.sql, **export_commands.metadata(about),
            "junheng.conditions": "; ".join(c.text for c in pending.spec.conditions)}, damaged_years=damaged,
            about=about)
    downloads.downloads(_Rows(spec, span, size["school_years"]),
                        f"cohort_{filters.region or 'all'}_{span[0]}-{span[1]}",
                 lang, key="cohort_export", formats=("csv", "xlsx", "parquet", "dta", "sav"), build=build)


def method(spec, span, size: dict, lang: str) -> None:
    """How this was computed: the SQL that gives the rows, its bound values, the row counts and a script to rerun it."""
    result = cohort_query.plan(spec, span, cache.rules()["privacy"]["min_count"])
    with st.expander(t("cohort_method", lang)):
        st.caption(t("cohort_method_text", lang, sql_rows=f"{size['sql_rows']:,}", rows=f"{size['school_years']:,}"))
        if result.after:
            st.caption(t("cohort_method_after", lang, conditions="; ".join(c.text for c in result.after)))
        st.code(result.sql, language="sql")
        st.markdown(f"**{t('cohort_method_params', lang)}**")
        st.json(result.params)
        st.markdown(t("cohort_method_rerun", lang))
        # the script gives the page's rows and published values: every condition, the stored count decisions
        published = cohort_query.published_plan(spec, span, result.min_count) if result.min_count > 0 else result
        st.code(cohort_query.rerun_script(published, statuses=cohort_query.status_files(
            cache.data_dir(), span, result.min_count) if result.min_count > 0 else None), language="sql")

"""研究 / 队列分析: a cohort of schools (region, years, conditions) — facets, size, summary, distributions, trend,
map, comparison, similar counties, exports and the SQL that ran; the whole view is in the link."""
import streamlit as st

from junheng.figures import charts
from junheng.i18n import t
from junheng.rules import cohort
from junheng.views import cache, link_state, present, sidebar, table_formats
from junheng.views import cohort_panels as panels
from junheng.views import cohort_views as views

filters = sidebar.page_filters()
lang, years = filters.lang, filters.years
st.subheader(t("cohort_title", lang, region=filters.region_md))
st.caption(t("cohort_intro", lang))
numeric = [f.name for f in cohort.numeric_fields()]
defaults = {"cohort_years": (years[0], years[-1]), "cohort_where": "", "cohort_where_b": "", "cohort_compare": "rest",
            "cohort_measures": list(views.DEFAULT_MEASURES), "cohort_measure": views.DEFAULT_MEASURES[0],
            "cohort_view": "summary", "cohort_k": 5}
link_state.cohort_link(lang, years, defaults)
left, right = st.columns([1, 2])
span = left.select_slider(t("cohort_years", lang), options=list(years), key="cohort_years",
                          value=defaults["cohort_years"])  # a range: the value's kind makes it one
measures = left.multiselect(t("cohort_measures", lang), numeric, key="cohort_measures",
                            max_selections=views.MAX_MEASURES,
                            format_func=lambda m: views.measure_label(m, lang)) or list(views.DEFAULT_MEASURES)
where = right.text_area(t("cohort_where", lang), key="cohort_where", height=140, help=t("cohort_where_help", lang))
conditions, errors = cohort.parse_all(where.splitlines())
for e in errors:
    right.error(e.message(lang, markdown=True) + " " + t("cohort_not_applied", lang))
# fixed membership: the schools meeting the conditions in one year, followed through the range (?follow=YEAR)
follow = link_state.linked(left.selectbox, t("cohort_follow", lang), ["", *range(span[0], span[1] + 1)], key="follow",
                   default="", format_func=lambda y: t("cohort_follow_each", lang) if y == "" else t(
                       "cohort_follow_year", lang, year=y), help=t("cohort_follow_help", lang))
spec = cohort.Cohort(filters.region, span[0], span[1], tuple(conditions), follow or None)

st.markdown(f"**{t('cohort_facets', lang)}**")
size = cache.cohort("overview", spec, span, columns=list(views.facets(filters.county)))
# the code facets side by side; a county's townships (two dozen pills) on a row of their own, wrapping
places = [*st.columns(len(views.FACETS)), st.container()]
for column, place in zip(views.facets(filters.county), places):
    counts = size["facets"][column]
    if cohort.facet_values(conditions, column):  # each value's count as if it were chosen instead of this choice
        counts = cache.cohort("facets", spec.with_conditions(cohort.with_facet(conditions, column, ())), span,
                              columns=[column])[column]
    st.session_state[f"cohort_where_facet_{column}"] = list(cohort.facet_values(conditions, column))
    place.pills(t(f"facet_{column}", lang), views.facet_options(column, counts), selection_mode="multi",
                key=f"cohort_where_facet_{column}", format_func=lambda v, c=column, n=counts: views.facet_label(
                    c, v, n, lang), on_change=link_state.facet_changed, args=(column, "cohort_where", lang))
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

if not size["school_years"]:
    st.info(t("cohort_empty", lang))
elif view == "summary":
    summary = cache.cohort("summaries", {"a": spec}, span, measures=measures)["a"]
    table_formats.show(views.summary_table(summary, lang), hide_index=True, width="stretch")
    st.caption(t("cohort_summary_note", lang, first=span[0], last=span[1]))
elif view == "distribution":
    present.chart(charts.cohort_histogram_chart(cache.cohort("histogram", {"a": spec}, span, measure=measure, year=size[
        "year"]), {"a": t("cohort_a", lang)}, label, size["year"], lang, share), "cohort_hist", lang)
elif view == "trend":
    present.chart(charts.cohort_trend_chart(cache.cohort("trends", {"a": spec}, span, measure=measure), {"a": t(
        "cohort_a", lang)}, label, lang, share), "cohort_trend", lang)
elif view == "map":
    panels.cohort_map(spec, span, size, measure, lang)
elif view == "compare":
    panels.compare(spec, span, size, measures, measure, label, share, lang)
elif view == "similar":
    panels.similar(filters, spec, span, measures, lang)
else:
    panels.rows(filters, spec, span, size, lang)

panels.method(spec, span, size, lang)
link_state.cohort_to_link(defaults)

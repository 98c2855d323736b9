"""均衡评估: the official 基本均衡 / 优质均衡 evaluation of a county, its schools, what-if plans, the region ranking."""
import polars as pl
import streamlit as st

from junheng.figures import charts, maps
from junheng.figures import evaluation_tables as tables
from junheng.i18n import t
from junheng.rules import evaluation, indicators, verdicts
from junheng.views import cache, downloads, link_state, map_views, phone, present, report_views, sidebar
from junheng.views import evaluation_views as kit

filters = sidebar.page_filters()
lang, year, rules = filters.lang, filters.year, cache.rules()
st.subheader(t("evaluation_title", lang, region=filters.region_name, year=year))


def region_view() -> None:
    region = filters.region[:4] if filters.county else filters.region
    status = verdicts.region_verdicts_from(cache.query("county_level_results", year=year, region=region),
                                           cache.query("county_row_items", year=year, region=region), rules,
                                           cache.query("county_items", year=year), year)
    ranking = tables.region_table(status, cache.query("counties_with_data"), lang)  # shown and downloaded alike
    phone.table("region_table", ranking, [t(k, lang) for k
                in ("county_name", "status", "composite_primary", "composite_junior")], 80, most=3, hide_index=True,
                width="stretch")
    downloads.downloads(ranking,
                        f"{t('sheet_ranking', lang)}_{region or 'all'}_{year}", lang, "dl_region",
                        school_level=False, regions=tuple(status["county_code"]))
    st.markdown(f"**{t('status_map_title', lang, year=year)}**")
    # Kept per view and per the statuses themselves (a county table imported changes them, not the data's stamp).
    shown = ("evaluation_map", year, region, lang, filters.county, cache.scope().key, status.hash_rows().sum())
    labels = {"name": t("county_name", lang), "metric": t("status", lang), "no_data": t("legend_no_data", lang)}
    st.fragment(map_views.values_county_map)(shown, lambda: kit.status_map_values(status, labels, lang),
        lambda: maps.county_category_map(
            tables.status_map_data(cache.county_geometry(status.height), status, lang), "status", "status_text",
            tables.STATUS_COLOURS, tables.status_labels(lang), labels, selected=filters.county),
        "evaluation_map", filters.county, height=460)
    st.caption(t("map_hint", lang))


if not filters.county:
    st.info(t("choose_county", lang))
    region_view()
    st.stop()

history = cache.query("school_history", region=filters.county)
schools = history.filter(pl.col("year") == year)
if schools.is_empty():
    st.info(t("no_schools", lang, year=year))
    st.stop()
result = evaluation.evaluate_county(schools, rules)
verdict, parts = verdicts.evaluate(schools, rules, cache.query("county_items", year=year))
values = evaluation.level_values(schools, rules)
levels = [lv for lv in indicators.LEVELS if lv in result]
kit.verdict_block(verdict, parts, result, rules, lang)  # the county's status first, on a phone too
# One view at a time: only the chosen part is computed and drawn (and a map is never drawn hidden).
view = link_state.linked(st.segmented_control, t("view", lang), ["tab_county", "tab_schools", "tab_rectification",
                 "tab_plan", "tab_movers", "tab_what_if", "tab_region"], default="tab_county", key="evaluation_view",
                 format_func=lambda k: t(k, lang), label_visibility="collapsed")

if view == "tab_county":
    for evaluation_key in verdicts.EVALUATIONS:
        st.markdown(tables.verdict_line(evaluation_key, verdict[evaluation_key], parts[evaluation_key], rules, lang))
        st.caption(tables.parts_summary(evaluation_key, parts[evaluation_key], lang))
        with st.expander(t("parts_title", lang, evaluation=t(f"eval_{evaluation_key}", lang))):
            st.dataframe(tables.parts_table(evaluation_key, parts[evaluation_key], rules, lang), hide_index=True,
                         width="stretch")
            st.caption(t("parts_hint", lang))
    for level, column in zip(levels, st.columns(len(levels))):
        q = result[level]["quality"]
        column.markdown(f"### {t(f'level_{level}', lang)}")
        b = result[level]["basic"]
        column.markdown(t("resource_line_basic", lang, value=b["composite"], threshold=b["threshold"],
                          mark=tables.mark(b["pass"], lang)))
        phone.table(f"basic_{level}", tables.basic_table(result[level], lang), most=3, where=column,
                    hide_index=True, width="stretch")
        column.markdown(t("resource_line_quality", lang, **tables.quality_counts(q), mark=tables.mark(q["pass"], lang)))
        phone.table(f"quality_{level}", tables.quality_table(result[level], lang), most=3, where=column,
                    hide_index=True, width="stretch")
    # both levels in one figure with shared axes (one trace per CV), below the levels' tables
    trend = evaluation.cv_trend(evaluation.level_values(history, rules), rules)
    shown = link_state.linked(st.radio, t("trend_of", lang), ["basic", "quality"], key="trend_evaluation",
                              default="basic", horizontal=True, format_func=lambda e: t(f"eval_{e}", lang))
    present.chart(charts.cv_trends_chart(trend, shown, levels, lang), "cv_trends", lang)
    st.caption(t("school_rule", lang, min_met=rules["quality"]["school_min_met"],
                 share=rules["quality"]["school_rest_share"], tp=rules["rules"]["teaching_point_min_students"]))
    st.caption(tables.counting_rules(rules, lang))
    report_views.deck_downloads(filters.county, year, lang)

elif view == "tab_schools":
    kit.school_map(schools, values, rules, lang, filters.county, year)
    verdicts = evaluation.school_verdicts(values, rules)
    for level in levels:
        st.markdown(f"**{t(f'level_{level}', lang)}**")
        listed = tables.school_table(verdicts, level, lang)
        phone.table(f"schools_{level}", listed, [t(k, lang) for k in ("school_name", "verdict", "minimums_met",
                    "to_reach_minimum")], 120, styled=tables.style_school_table(listed, level, rules, lang),
                    hide_index=True, width="stretch")
        downloads.downloads(listed,
                            f"{t('sheet_schools', lang)}_{filters.county}_{year}_{level}", lang, f"dl_schools_{level}",
                            protected_counts=False, regions=(filters.county,))

elif view == "tab_movers":
    key = link_state.linked(st.selectbox, t("choose_indicator", lang), [i.key for i in indicators.registry()],
                    key="movers_indicator", default=indicators.registry()[0].key,
                    format_func=lambda k: indicators.by_key(k).label(lang))
    level = link_state.linked(st.radio, t("choose_level", lang), levels, key="movers_level", default=levels[0],
                              horizontal=True,
                      format_func=lambda lv: t(f"level_{lv}", lang))
    movers = evaluation.cv_contributions(values.filter(pl.col("level") == level), key)
    present.chart(charts.contribution_chart(movers, key, lang), "movers_chart", lang)
    downloads.movers_downloads(movers, key, filters.county, year, lang)

elif view == "tab_rectification":
    kit.rectification_view(schools, rules, lang)

elif view == "tab_plan":
    kit.plan_view(schools, rules, lang, filters.county, year)

elif view == "tab_what_if":
    kit.what_if(schools, rules, lang)

else:
    region_view()

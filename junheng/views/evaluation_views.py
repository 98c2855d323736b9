"""The evaluation page's planning views on screen: the 整改清单, the 达标方案 (minimum-cost plan), the school
pass/fail map and the what-if planner (Streamlit parts; the tables come from rectification_views and
evaluation_tables)."""
from __future__ import annotations

import re

import polars as pl
import streamlit as st

from junheng import escape, formats
from junheng.figures import evaluation_tables as tables
from junheng.i18n import t
from junheng.rules import evaluation, rectification
from junheng.rules import plan as plans
from junheng.views import cache, downloads, map_views, phone
from junheng.views import rectification_views as views

# Money in whole yuan with separators (a plan's yearly costs came out as 110,889,748.674 beside 110,890,000)
MONEY = st.column_config.NumberColumn(format="%,.0f")


def status_map_values(status: pl.DataFrame, labels: dict, lang: str) -> dict:
    """The evaluation status map's values for the map component: each county's status colour and label."""
    import pandas as pd

    from junheng.views import map_component
    data = tables.status_map_data(pd.DataFrame({"county_code": status["county_code"].to_list()}), status, lang)
    return map_component.category_values(data, "status", "status_text", tables.STATUS_COLOURS,
                                         tables.status_labels(lang), labels)


def _legend(lang: str) -> None:
    rows = "".join(f'<span style="display:inline-block;margin-right:1.2em"><span style="display:inline-block;'
                   f'width:.9em;height:.9em;background:{c};border:1px solid #999;margin-right:.35em;'
                   f'vertical-align:-.1em"></span><b>{escape.html(label)}</b>{escape.html(t("kit_colon", lang))}'
                   f'{escape.html(meaning)}</span>'
                   for c, label, meaning in views.legend(lang))
    st.html(f'<div style="font-size:.9rem;line-height:1.8">{rows}</div>')


def _styled(table: pl.DataFrame, lang: str):
    """The priority cell in its legend colour; numbers as a reader expects them (costs with separators)."""
    column = t("kit_priority", lang)
    colours = {label: views.PRIORITY_COLOURS[p] for p, label in views.priority_labels(lang).items()}
    minimum = t("kit_minimum", lang)
    shown = {t("kit_value", lang): "{:,.2f}", t("kit_share", lang): "{:.0f}", t("kit_cost", lang): "{:,.0f}",
             t("cv", lang): "{:.3f}", t("threshold", lang): "{:.2f}",
             minimum: f"{{:,.{formats.decimals(table[minimum]) if minimum in table.columns else 0}f}}"}
    styled = table.to_pandas().style
    if column in table.columns:  # a phone's key columns leave the priority to the section's heading
        styled = styled.map(lambda v: f"background-color: {colours.get(v, '')}", subset=[column])
    return styled.format({k: v for k, v in shown.items() if k in table.columns})


def _widths(lang: str) -> dict:
    """Column widths that fit the list on a laptop screen, the cost column included."""
    small = st.column_config.Column(width="small")
    return {t("kit_priority", lang): st.column_config.Column(width=90), t("level", lang): small,
            t("kit_value", lang): small, t("kit_minimum", lang): small, t("kit_share", lang): small,
            t("kit_shortfall", lang): st.column_config.Column(width=100), t("kit_cost", lang): small,
            t("cv", lang): small, t("threshold", lang): small, t("indicator", lang): st.column_config.Column(width=240),
            t("school_name", lang): st.column_config.Column(width=190)}


# What a phone shows of the 整改清单 (390 px: four columns fit): school, resource, shortfall, cost; a county CV's level,
# indicator, CV and ceiling; per school the resource, the addition and its cost. The whole list on a wider screen.
PHONE_COUNTY_COLUMNS = ("level", "indicator", "cv", "threshold")
PHONE_TOTALS_COLUMNS = ("school_name", "what_if_resource", "kit_addition", "kit_cost")


def _phone_school_list(items: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The school rows on a phone: school, the resource it lacks (its short name: the indicator's is too long for
    the width), the shortfall in the resource's unit, the estimated cost."""
    resources = {c: re.sub(r"[（(].*?[）)]$", "", t(f"col_{c}", lang)).strip()
                 for c in rectification.resource_columns()}
    wide = views.school_list(items, lang)
    return pl.DataFrame({t("school_name", lang): wide[t("school_name", lang)],
                         t("what_if_resource", lang): items["column"].replace_strict(resources, default=""),
                         t("kit_shortfall", lang): wide[t("kit_shortfall", lang)],
                         t("kit_cost", lang): wide[t("kit_cost", lang)]})


def _phone_widths(lang: str) -> dict:
    """Widths that fit four key columns on a 390 px screen."""
    return {t("school_name", lang): st.column_config.Column(width=115), t("indicator", lang):
            st.column_config.Column(width=110), t("what_if_resource", lang): st.column_config.Column(width=100),
            t("kit_shortfall", lang): st.column_config.Column(width=70), t("kit_addition", lang):
            st.column_config.Column(width=70), t("kit_cost", lang): st.column_config.Column(width=70)}


def rectification_view(schools: pl.DataFrame, rules: dict, lang: str) -> None:
    """The 整改清单 by priority: ① schools that fail (every unmet minimum), ② county CVs over their ceiling with
    the schools that raise them, ③ passing schools with a minimum still unmet; a legend; shortfalls and costs."""
    items, county = rectification.rectification(schools, rules)
    st.markdown(views.summary(items, county, lang))
    _legend(lang)
    for priority in rectification.PRIORITIES:
        rows = county if priority == 2 else items.filter(pl.col("priority") == priority)
        st.markdown(f"**{t(f'kit_priority_{priority}', lang)}** · {t('kit_rows', lang, n=rows.height)}")
        if rows.is_empty():
            st.caption(t(f"kit_none_{priority}", lang))
            continue
        shown = views.county_list(rows, lang) if priority == 2 else views.school_list(rows, lang)
        height = min(38 + 35 * rows.height, 540)
        keys = PHONE_COUNTY_COLUMNS
        with phone.narrow(f"rectification_{priority}"):
            narrow = shown.select([t(k, lang) for k in keys]) if priority == 2 else _phone_school_list(rows, lang)
            st.dataframe(_styled(narrow, lang), hide_index=True, width="stretch", height=height,
                         column_config=_phone_widths(lang))
        with phone.wide(f"rectification_{priority}"):
            st.dataframe(_styled(shown, lang), hide_index=True, width="stretch", height=height,
                         column_config=_widths(lang))
    totals = rectification.school_totals(items)
    if totals.height:
        st.markdown(f"**{t('report_rect_schools', lang)}**")
        listed, height = views.school_totals_list(totals, lang), min(38 + 35 * totals.height, 420)
        money = {t("kit_cost", lang): MONEY, t("report_school_total", lang): MONEY}
        with phone.narrow("rectification_totals"):
            st.dataframe(listed.select([t(k, lang) for k in PHONE_TOTALS_COLUMNS]), hide_index=True, width="stretch",
                         height=height, column_config={**money, **_phone_widths(lang)})
        with phone.wide("rectification_totals"):
            st.dataframe(listed, hide_index=True, width="stretch", height=height, column_config=money)
    st.caption(t("kit_list_note", lang, costs=_costs_text(rules, lang)))
    downloads.rectification_downloads(schools, items, county, lang)


def _costs_text(rules: dict, lang: str) -> str:
    costs = rectification.unit_costs(rules)
    return t("kit_list_separator", lang).join(
        f"{t(f'col_{c}', lang)} {views.money(v, lang)}/{views.unit(c, lang)}" for c, v in costs.items())


def _county_table(county: str, year: int) -> pl.DataFrame:
    """The county's self-assessment rows of year, as the plan's schedule is given them."""
    from junheng.data import precompute
    return precompute.county_table_of(cache.query("county_items", year=year), county)


def _stored(county: str, year: int, schools: pl.DataFrame, rules: dict) -> dict:
    """The county-year's plan and default schedule, computed when the data were written (cache.precomputed)."""
    return cache.precomputed(county, year, schools, _county_table(county, year), rules)


@st.cache_data(show_spinner=False, max_entries=32)
def _schedule(county: str, year: int, fp: str, scope_key: tuple, rules_key: str, table_key: int, target: int,
              budget: float, lang: str, _schools: pl.DataFrame, _rules: dict, _table: pl.DataFrame, _best):
    """The plan over years for these inputs, solved once per data version, rules and inputs."""
    return plans.schedule(_schools, _rules, year, target, budget, _table, lang, best=_best)


def schedule_view(schools: pl.DataFrame, rules: dict, lang: str, county: str, year: int, best) -> None:
    """The 达标方案 over years: target year and budget a year (from the thresholds file's [plan]), whether it is
    reachable, the cost per year and per school, what money does not settle (as in the workbook and the deck)."""
    target, budget = plans.defaults(rules, year)
    st.markdown(f"**{t('plan_years_title', lang)}**")
    left, right = st.columns(2)
    target = int(left.number_input(t("plan_target_year", lang), min_value=year + 1, max_value=year + 30,
                                   value=target, step=1, key=f"plan_target_{county}_{year}"))
    budget = float(right.number_input(t("plan_budget", lang), min_value=1.0, value=budget / 10_000, step=100.0,
                                      key=f"plan_budget_{county}_{year}")) * 10_000
    table = _county_table(county, year)
    stored = _stored(county, year, schools, rules)
    from junheng.data import precompute
    yearly = precompute.relabel_schedule(stored["schedule"], lang) if precompute.defaults_match(
        stored, target, budget) else None
    with st.spinner(t("kit_plan_solving", lang)):
        yearly = yearly or _schedule(county, year, cache.fingerprint(), cache.scope().key, repr(sorted(rules.items())),
                           int(table.hash_rows().sum()) if table.height else 0, target, budget, lang, schools, rules,
                           table, best)
    st.markdown(tables.schedule_line(yearly, lang))
    st.caption(tables.schedule_resolves(yearly, lang))
    names = dict(zip(schools["school_id"], schools["school_name"]))
    if yearly.years:
        summary = tables.schedule_summary_frame(yearly, lang)
        st.dataframe(summary, hide_index=True, width="stretch", column_config={c: MONEY for c in summary.columns[1:]})
        with st.expander(t("plan_years_title", lang)):
            st.dataframe(tables.schedule_years_frame(yearly, names, lang), hide_index=True, width="stretch",
                         height=420, column_config={t("report_cost_yuan", lang): MONEY})
    per_school = tables.schedule_schools_frame(yearly, names, lang)
    if per_school.height:
        st.markdown(f"**{t('plan_schools_title', lang)}**")
        st.dataframe(per_school, hide_index=True, width="stretch", height=min(38 + 35 * per_school.height, 420),
                     column_config={t("plan_col_school_cost", lang): MONEY})
    remains = tables.schedule_remains_frame(yearly, lang)
    if remains.height:
        st.markdown(f"**{t('plan_remains_title', lang)}**")
        st.dataframe(remains, hide_index=True, width="stretch", height=min(38 + 35 * remains.height, 420))
    downloads.schedule_downloads(yearly, names, county, year, lang)


def plan_view(schools: pl.DataFrame, rules: dict, lang: str, county: str, year: int) -> None:
    """The 达标方案: the cheapest additions (editable), what they cost, CVs before and after, how it is solved;
    then the plan over years."""
    with st.spinner(t("kit_plan_solving", lang)):
        plan = _stored(county, year, schools, rules)["plan"]
    schedule_view(schools, rules, lang, county, year, plan)
    st.markdown(views.plan_status(plan, lang))
    st.caption(t("kit_plan_method", lang))
    if plan.status == "nothing":
        return
    st.markdown(f"**{t('kit_plan_table', lang)}**")
    st.dataframe(views.plan_table(plan.changes, lang), hide_index=True, width="stretch",
                 column_config={t("kit_unit_cost", lang): MONEY, t("kit_cost", lang): MONEY},
                 height=min(38 + 35 * max(plan.changes.height, 1), 420))
    downloads.plan_downloads(plan, county, year, lang)
    with st.expander(t("kit_plan_edit", lang)):
        changes = editor(schools, plan.changes.select("school_id", "column", "delta"), lang,
                         key=f"plan_editor_{county}_{year}", columns=rectification.resource_columns())
    edited = plans.plan_cost(changes, rules)
    passes = plans.check(schools, changes, rules) if changes.height else False
    st.markdown(t("kit_plan_edited", lang, cost=views.money(float(edited["cost"].sum()), lang),
                  verdict=tables.mark(passes, lang)))
    before, after = tables.evaluate_with_changes(schools, changes, rules)
    compared = tables.compare_table(before, after, lang)
    st.dataframe(_compare_styled(compared, lang), hide_index=True, width="stretch", height=38 + 35 * compared.height)


def _compare_styled(compared: pl.DataFrame, lang: str):
    """The before / after table's numbers row by row: CVs to 3 decimals, ceilings to 2, passing schools whole."""
    import pandas as pd
    frame = compared.to_pandas()
    values, ceiling = [t("before", lang), t("after", lang)], [t("threshold", lang)]
    counts = frame.index[frame[t("indicator", lang)] == t("schools_passing", lang)]
    cvs = frame.index.difference(counts)
    return (frame.style.format("{:,.3f}", subset=pd.IndexSlice[cvs, values], na_rep=formats.EMPTY)
            .format("{:,.2f}", subset=pd.IndexSlice[cvs, ceiling], na_rep=formats.EMPTY)
            .format("{:,.0f}", subset=pd.IndexSlice[counts, values + ceiling], na_rep=formats.EMPTY))


def editor(schools: pl.DataFrame, start: pl.DataFrame, lang: str, key: str, columns=None) -> pl.DataFrame:
    """An editable plan (school, resource, addition), as the what-if planner has it; the complete rows."""
    names = dict(zip(schools["school_id"], schools["school_name"]))
    resources = tables.resource_options(lang)
    if columns is not None:
        resources = {c: v for c, v in resources.items() if c in columns}
    plan = st.data_editor(start, num_rows="dynamic", key=key, width="stretch", column_config={
        "school_id": st.column_config.SelectboxColumn(t("what_if_school", lang), options=list(names), required=True,
                                                      format_func=lambda i: f"{names.get(i, i)} {i}"),
        "column": st.column_config.SelectboxColumn(t("what_if_resource", lang), options=list(resources),
                                                   required=True, format_func=lambda c: resources.get(c, c)),
        "delta": st.column_config.NumberColumn(t("what_if_delta", lang), min_value=0.0, required=True)})
    return plan.drop_nulls() if isinstance(plan, pl.DataFrame) else pl.from_pandas(plan).drop_nulls()


def what_if(schools: pl.DataFrame, rules: dict, lang: str) -> None:
    """The what-if planner: planned additions and every CV before and after."""
    st.caption(t("what_if_help", lang))
    changes = editor(schools, tables.EMPTY_PLAN, lang, key="what_if_plan")
    if changes.is_empty():
        st.caption(t("what_if_empty", lang))
    before, after = tables.evaluate_with_changes(schools, changes, rules)
    st.dataframe(_compare_styled(tables.compare_table(before, after, lang), lang), hide_index=True, width="stretch")


def school_map(schools: pl.DataFrame, values: pl.DataFrame, rules: dict, lang: str, county: str, year: int) -> None:
    """Schools coloured by the 优质均衡 per-school verdict, what each lacks in the tooltip; a PNG download."""
    from junheng.figures import maps  # Folium, imported when a map is built
    rows = views.school_status_rows(evaluation.school_verdicts(values, rules), lang)
    outline = cache.county_geometry().query("county_code == @county")
    if not rows or outline.empty:
        return
    st.markdown(f"**{t('kit_school_map', lang, year=year)}**")
    fmap = maps.school_status_map(rows, outline, views.PASS_COLOURS, {
        "title": t("kit_school_map_legend", lang), "pass": t("pass", lang), "fail": t("fail", lang)})
    st.fragment(map_views.static_map)(fmap, "school_status_map", height=460)


STATUS_COLOURS = {"pass": "#1a9850", "fail": "#d73027", "incomplete": "#4575b4"}


def verdict_block(verdict: dict, parts: dict, result: dict, rules: dict, lang: str, key: str = "verdict_block") -> None:
    """The county's status in a few lines, first on a phone's screen: each evaluation's verdict in its colour with
    how many of its parts are met, then per level the composite CV and the 优质均衡 counts (details below it)."""
    from junheng.rules import indicators, verdicts
    colon = escape.html(t("kit_colon", lang))
    lines = []
    for evaluation_key in verdicts.EVALUATIONS:
        status = verdict[evaluation_key] if verdict[evaluation_key] in STATUS_COLOURS else "incomplete"
        met = sum(p["status"] == "pass" for p in parts[evaluation_key].values())
        met = t("verdict_block_parts", lang, met=met, n=len(parts[evaluation_key]))
        lines.append(f'<div class="jh-verdict"><b>{escape.html(t(f"eval_{evaluation_key}", lang))}</b>{colon}'
                     f'<span class="jh-status" style="color:{STATUS_COLOURS[status]}">'
                     f'{escape.html(t(f"status_card_{status}", lang))}</span><span class="jh-parts"> · '
                     f'{escape.html(met)}</span></div>')
    for level in (lv for lv in indicators.LEVELS if lv in result):
        basic, quality = result[level]["basic"], result[level]["quality"]
        lines.append('<div class="jh-level">' + escape.html(t(
            "verdict_block_level", lang, level=t(f"level_{level}", lang), cv=formats.number(basic["composite"], 3),
            ceiling=basic["threshold"], mark=tables.mark(basic["pass"], lang), cvs=len(quality["cv"]),
            **tables.quality_counts(quality))) + "</div>")
    with st.container(border=True, key=key):
        st.html(f'<div class="jh-verdicts">{"".join(lines)}</div>')


def status_card(county: str | None, year: int, rules: dict, lang: str) -> None:
    """The overview's status card: 基本均衡 and 优质均衡 reached / not reached / to be assessed from all their parts
    (verdicts) with the key numbers; the reasons in an expander. 'Reached' only when the verdict is pass."""
    from junheng.rules import verdicts
    if not county:
        with st.container(border=True, key="quality_status_card"):
            st.markdown(f"**{t('status_card_title', lang)}** · {t('status_card_region', lang)}")
        return
    schools = cache.query("school_rows", year=year, region=county)
    if schools.is_empty():
        return
    verdict, parts = verdicts.evaluate(schools, rules, cache.query("county_items", year=year))
    verdict_block(verdict, parts, evaluation.evaluate_county(schools, rules), rules, lang, key="quality_status_card")
    with st.expander(t("verdict_block_reasons", lang)):
        for evaluation_key in verdicts.EVALUATIONS:
            st.markdown(tables.verdict_line(evaluation_key, verdict[evaluation_key], parts[evaluation_key], rules,
                                            lang))
            st.caption(tables.parts_summary(evaluation_key, parts[evaluation_key], lang))

"""Display tables for the evaluation page, labelled in the chosen language (pure: frames in, frames out)."""
from __future__ import annotations

from typing import TYPE_CHECKING

import polars as pl

from junheng.i18n import labels, t
from junheng.rules import evaluation, indicators, verdicts

if TYPE_CHECKING:  # a Styler's columns; pandas itself is not needed to show the first page
    import pandas as pd


def mark(value, lang: str) -> str:
    """'✓ 达标' / '✗ 未达标' (or '—' when there is nothing to judge)."""
    return "—" if value is None else t("pass" if value else "fail", lang)


EMPTY_PLAN = pl.DataFrame(schema={"school_id": pl.String, "column": pl.String, "delta": pl.Float64})


def quality_counts(quality: dict) -> dict:
    """CVs within the ceiling, schools passing, schools assessed and the ceiling, for the verdict line."""
    return {"cv_ok": sum(v is not None and v <= quality["threshold"] for v in quality["cv"].values()),
            "schools_ok": sum(s["pass"] for s in quality["schools"]), "schools": len(quality["schools"]),
            "threshold": quality["threshold"]}


def basic_table(level: dict, lang: str) -> pl.DataFrame:
    """The eight 基本均衡 CVs and the composite against the level's ceiling."""
    b = level["basic"]
    rows = [(i.label(lang), b["cv"][i.key], "", "") for i in indicators.basic_indicators()]
    rows.append((t("composite", lang), b["composite"], f"≤ {b['threshold']}", mark(b["pass"], lang)))
    return pl.DataFrame(rows, schema={t("indicator", lang): pl.String, t("cv", lang): pl.Float64,
                                      t("threshold", lang): pl.String, t("verdict", lang): pl.String}, orient="row")


def quality_table(level: dict, lang: str) -> pl.DataFrame:
    """The seven 优质均衡 CVs, each against the ceiling, and how many schools meet each minimum."""
    q = level["quality"]
    schools = q["schools"]
    rows = []
    for ind in indicators.quality_indicators():
        cv = q["cv"][ind.key]
        failing = sum(ind.key in s["failing"] for s in schools)
        rows.append((ind.label(lang), cv, mark(None if cv is None else cv <= q["threshold"], lang),
                     len(schools) - failing))
    return pl.DataFrame(rows, schema={t("indicator", lang): pl.String, t("cv", lang): pl.Float64,
                                      t("verdict", lang): pl.String,
                                      t("schools_meeting_minimum", lang): pl.Int64}, orient="row")


def school_table(verdicts: pl.DataFrame, level: str, lang: str) -> pl.DataFrame:
    """One row per assessed school: each 优质均衡 value, minimums met, verdict, failing standards and gaps."""
    rows = verdicts.filter(pl.col("level") == level).sort("school_pass", "meets", "school_id")
    keys = [i.key for i in indicators.quality_indicators()]
    facilities = set(indicators.facility_columns())

    def whole(k: str) -> pl.Expr:  # the school-wide addition in whole units (rectification's rule)
        share = pl.col("level_share" if indicators.by_key(k).numerator in facilities else "enrolment_share")
        return ((pl.col(f"gap_{k}") / share) - 1e-9).ceil().clip(lower_bound=1).cast(pl.Int64)

    gap_text = pl.concat_str([
        pl.when(pl.col(f"gap_{k}") > 0).then(pl.format(
            "{} +{}{}", pl.lit(indicators.by_key(k).label(lang)), whole(k),
            pl.lit(_gap_unit(k, lang)))) for k in keys], separator="；", ignore_nulls=True)
    return rows.select(
        pl.col("school_id").alias(t("school_id", lang)),
        pl.col("school_name").alias(t("school_name", lang)),
        pl.col("urban_rural_group").replace_strict(labels("group", indicators.GROUPS, lang), default="—")
        .alias(t("urban_rural", lang)),
        pl.col("students").alias(t("students", lang)),
        *[pl.col(k).round(2).alias(indicators.by_key(k).label(lang)) for k in keys],
        pl.col("meets").alias(t("minimums_met", lang)),
        pl.col("school_pass").replace_strict({True: t("pass", lang), False: t("fail", lang)}, return_dtype=pl.String)
        .alias(t("verdict", lang)),
        gap_text.alias(t("to_reach_minimum", lang)),
    )


def _gap_unit(key: str, lang: str) -> str:
    numerator = indicators.by_key(key).numerator
    if numerator.endswith("_m2"):
        return " m²" if lang == "en" else " 平方米"
    if numerator.endswith("_cny"):
        return " yuan" if lang == "en" else " 元"
    return t("unit_teachers", lang) if "teachers" in numerator else t("unit_rooms", lang)


def style_school_table(table: pl.DataFrame, level: str, rules: dict, lang: str):
    """Colour each indicator cell against its minimum: red below 85%, amber below, green at or above."""
    frame = table.to_pandas()
    columns = {indicators.by_key(k).label(lang): k for k in (i.key for i in indicators.quality_indicators())}

    def colour(column: pd.Series) -> list[str]:
        minimum = rules["minimums"][columns[column.name]][level]
        share = rules["quality"]["school_rest_share"]
        return ["background-color: #fcbba1" if v < share * minimum else "background-color: #fee8c8"
                if v < minimum else "background-color: #c7e9c0" for v in column]

    return frame.style.apply(colour, subset=list(columns)).format(precision=2, thousands=",", subset=list(columns)) \
        .format(thousands=",", subset=[c for c in frame.columns if frame[c].dtype.kind in "iu"])


def compare_table(before: dict, after: dict, lang: str) -> pl.DataFrame:
    """What-if: every CV before and after the planned changes, per level, with the verdicts."""
    rows = []
    for level in indicators.LEVELS:
        if level not in before or level not in after:
            continue
        lv = t(f"level_{level}", lang)
        b0, b1 = before[level]["basic"], after[level]["basic"]
        q0, q1 = before[level]["quality"], after[level]["quality"]
        rows.append((lv, t("composite", lang), b0["composite"], b1["composite"], b0["threshold"],
                     mark(b0["pass"], lang), mark(b1["pass"], lang)))
        for ind in indicators.quality_indicators():
            v0, v1 = q0["cv"][ind.key], q1["cv"][ind.key]
            rows.append((lv, ind.label(lang), v0, v1, q0["threshold"],
                         mark(None if v0 is None else v0 <= q0["threshold"], lang),
                         mark(None if v1 is None else v1 <= q1["threshold"], lang)))
        passing = (sum(s["pass"] for s in q0["schools"]), sum(s["pass"] for s in q1["schools"]))
        rows.append((lv, t("schools_passing", lang), float(passing[0]), float(passing[1]),
                     float(len(q1["schools"])), mark(q0["pass"], lang), mark(q1["pass"], lang)))
    return pl.DataFrame(rows, orient="row", schema={
        t("level", lang): pl.String, t("indicator", lang): pl.String, t("before", lang): pl.Float64,
        t("after", lang): pl.Float64, t("threshold", lang): pl.Float64, t("verdict_before", lang): pl.String,
        t("verdict_after", lang): pl.String})


def region_table(status: pl.DataFrame, counties: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Counties ranked by composite CV with names, the parts computed from school rows, both verdicts from all
    four parts, the status and the items not met."""
    verdict = {v: t(f"verdict_{v}", lang) for v in verdicts.VERDICTS}
    part = {True: t("part_pass", lang), False: t("part_fail", lang)}
    names = {i.key: i.label(lang) for i in verdicts.items()}
    reasons = (pl.concat_list("basic_failing", "quality_failing").list.unique(maintain_order=True)
               .list.eval(pl.element().replace_strict(names, default=pl.element())).list.join("；"))
    return status.join(counties, on="county_code", how="left").with_row_index("rank", offset=1).select(
        pl.col("rank").alias(t("rank", lang)),
        pl.col("county_code").alias(t("county_code", lang)),
        pl.col("county_name").alias(t("county_name", lang)),
        pl.col("composite_primary").round(3).alias(t("composite_primary", lang)),
        pl.col("composite_junior").round(3).alias(t("composite_junior", lang)),
        pl.col("basic_pass").replace_strict(part, return_dtype=pl.String).alias(t("col_basic_resources", lang)),
        pl.format("{}/{}", "schools_passing", "schools_assessed").alias(t("schools_passing", lang)),
        pl.col("quality_pass").replace_strict(part, return_dtype=pl.String).alias(t("col_quality_resources", lang)),
        pl.col("basic_verdict").replace_strict(verdict).alias(t("col_basic_verdict", lang)),
        pl.col("quality_verdict").replace_strict(verdict).alias(t("col_quality_verdict", lang)),
        pl.col("status").replace_strict(status_labels(lang)).alias(t("status", lang)),
        reasons.alias(t("col_reasons", lang)),
    )


# Evaluation status of a county (verdicts.region_verdicts) and its colour on the status map.
STATUS_COLOURS = {"both": "#1a9850", "basic": "#fee08b", "incomplete": "#92c5de", "neither": "#d73027"}


def status_labels(lang: str) -> dict[str, str]:
    return {s: t(f"eval_status_{s}", lang) for s in STATUS_COLOURS}


def status_map_data(geometry, status: pl.DataFrame, lang: str):
    """Counties joined to their evaluation status and its label, for the status map."""
    shown = geometry[geometry["county_code"].isin(status["county_code"].to_list())]
    merged = shown.merge(status.select("county_code", "status").to_pandas(), on="county_code", how="left")
    names = status_labels(lang)
    merged["status_text"] = [names.get(s, "—") if isinstance(s, str) else "—" for s in merged["status"]]
    return merged


def verdict_line(evaluation_key: str, verdict: str, parts: dict, rules: dict, lang: str) -> str:
    """One line per evaluation: reached; not reached and why; or which parts are met and that the rest is to
    be assessed (never 'reached' unless every part passes)."""
    name = t(f"eval_{evaluation_key}", lang)
    if verdict == "pass":
        return t("verdict_line_pass", lang, evaluation=name)
    if verdict == "fail":
        shown = []
        for key in verdicts.failing(parts):
            it = verdicts.item(key)
            entry = next(p["items"][key] for p in parts.values() if key in p["items"])
            shown.append(t("verdict_reason", lang, item=it.label(lang), value=verdicts.value_text(
                it, entry, lang), rule=verdicts.rule_label(it, rules, lang)))
        return t("verdict_line_fail", lang, evaluation=name, reasons=t("verdict_and", lang).join(shown))
    passed = [verdicts.part(evaluation_key, k).short(lang) for k, p in parts.items() if p["status"] == "pass"]
    if not passed:
        return t("verdict_line_nothing", lang, evaluation=name)
    return t("verdict_line_incomplete", lang, evaluation=name, passed=t("verdict_and", lang).join(passed))


def parts_summary(evaluation_key: str, parts: dict, lang: str) -> str:
    """The parts of one evaluation and their status on one line, e.g. '资源配置 ✓ 达标 · 社会认可度 … 待评估'."""
    return " · ".join(verdicts.part(evaluation_key, k).short(lang) + " " + t("part_" + p["status"], lang)
                      for k, p in parts.items())


def parts_table(evaluation_key: str, parts: dict, rules: dict, lang: str) -> pl.DataFrame:
    """Every item of one evaluation: its part, the value that decided, rule, met, which value decided, and where
    an item is both computed and self-assessed both values (the computed one marked as a bound where it is one)."""
    met = {True: t("part_pass", lang), False: t("part_fail", lang), None: t("part_incomplete", lang)}
    rows = []
    for key, part in parts.items():
        label = verdicts.part(evaluation_key, key).short(lang)
        for item_key, entry in part["items"].items():
            it = verdicts.item(item_key)
            both = "self_assessed" in entry
            computed = ""
            if both or entry.get("bound"):
                computed = verdicts.value_text(it, entry, lang, "computed" if both else "value")
                if entry.get("bound"):
                    computed += t(f"bound_{entry['bound']}", lang)
            own = verdicts.format_value(it, entry["self_assessed"], lang) if both else ""
            rows.append((label, it.label(lang), verdicts.value_text(it, entry, lang),
                         verdicts.rule_label(it, rules, lang), met[entry["met"]], t(f"source_{entry['source']}", lang),
                         computed, own))
    columns = ("col_part", "col_item", "col_value", "col_rule", "col_met", "col_source", "col_computed",
               "col_self_assessed")
    return pl.DataFrame(rows, schema={t(c, lang): pl.String for c in columns}, orient="row")


def counting_rules(rules: dict, lang: str) -> str:
    """The counting rules the evaluation uses, for the method note under the county view."""
    r = rules["rules"]
    return t("counting_rules", lang, schools=t("counting_all" if r["include_private_schools"] else "counting_public",
                                                lang),
             tp_basic=r["basic_teaching_point_min_students"], tp=r["teaching_point_min_students"],
             jw=r["junior_weight"], sw=r["senior_weight"])


def resource_options(lang: str) -> dict[str, str]:
    """Resources a what-if plan can raise: column -> label with unit."""
    return {c: t(f"col_{c}", lang) for c in ("backbone_teachers", "pe_arts_teachers", "teachers_above_degree",
                                            "teachers", "teachers_senior_title", "building_area_m2",
                                            "sports_area_m2", "equipment_value_cny", "multimedia_rooms",
                                            "computers", "books")}


def evaluate_with_changes(schools: pl.DataFrame, changes: pl.DataFrame, rules: dict) -> tuple[dict, dict]:
    """(before, after) evaluations of one county-year for a what-if plan."""
    return evaluation.evaluate_county(schools, rules), evaluation.evaluate_county(
        evaluation.apply_changes(schools, changes), rules)


# --- the 达标方案 over years: one set of frames for the page, the workbook and the deck -------------------------

def _item_label(key: str, lang: str) -> str:
    """An action's or item's name: a resource column, an action of the plan, or a county item."""
    from junheng.i18n import TEXT
    for name in (f"col_{key}", f"plan_item_{key}"):
        if name in TEXT:
            return t(name, lang)
    try:
        return verdicts.item(key).label(lang)
    except KeyError:
        return key


def _money(yuan: float, lang: str) -> str:
    return f"{yuan / 10_000:,.1f} 万元" if lang == "zh" else f"{yuan:,.0f} yuan"


def schedule_line(schedule, lang: str) -> str:
    """One sentence: done in which year within the budget, or why not and what budget a year reaching the target
    takes (never 'done' for a plan that is not)."""
    budget = _money(schedule.budget_per_year, lang)
    if schedule.feasible:
        return t("plan_feasible", lang, budget=budget, reachable=schedule.reachable_year,
                 target=schedule.target_year, cost=_money(schedule.cost, lang),
                 recurring=_money(schedule.recurring, lang))
    needed = _money(schedule.budget_needed, lang) if schedule.budget_needed is not None else "—"
    if schedule.reachable_year is None:
        return t("plan_infeasible_salaries", lang, salaries=_money(schedule.recurring, lang), budget=budget,
                 needed=needed)
    return t("plan_infeasible_target", lang, budget=budget, reachable=schedule.reachable_year,
             target=schedule.target_year, needed=needed)


def schedule_years_frame(schedule, names: dict, lang: str) -> pl.DataFrame:
    """Every action and salary of every year (numbers as numbers): year, kind, school, item, amount, unit, cost."""
    heads = ("plan_col_year", "plan_col_kind", "school_id", "school_name", "plan_col_item", "plan_col_amount",
             "plan_col_unit", "report_cost_yuan")
    rows = [(y["year"], t(f"plan_kind_{kind}", lang), a["school_id"], names.get(a["school_id"], a["school_id"]),
             _item_label(a["item"], lang), a["amount"], a["unit"], a["cost"])
            for y in schedule.years for kind, listed in (("action", y["actions"]), ("salary", y["salaries"]))
            for a in listed]
    schema = dict(zip((t(h, lang) for h in heads), (pl.Int64, pl.String, pl.String, pl.String, pl.String,
                                                    pl.Float64, pl.String, pl.Float64)))
    return pl.DataFrame(rows, schema=schema, orient="row")


def schedule_summary_frame(schedule, lang: str) -> pl.DataFrame:
    """Per year: its cost, what is bought or hired and what earlier hires are paid (for a slide)."""
    heads = ("plan_col_year", "plan_col_year_cost", "plan_kind_action", "plan_kind_salary")
    rows = [(y["year"], y["cost"], sum(a["cost"] for a in y["actions"]), sum(a["cost"] for a in y["salaries"]))
            for y in schedule.years]
    return pl.DataFrame(rows, schema=dict(zip((t(h, lang) for h in heads), (pl.Int64, pl.Float64, pl.Float64,
                                                                            pl.Float64))), orient="row")


def schedule_schools_frame(schedule, names: dict, lang: str) -> pl.DataFrame:
    """Per school: what the plan costs there over all its years (salaries included), dearest first."""
    heads = ("school_id", "school_name", "plan_col_school_cost")
    rows = [(s["school_id"], names.get(s["school_id"], s["school_id"]), s["cost"]) for s in schedule.schools]
    return pl.DataFrame(rows, schema=dict(zip((t(h, lang) for h in heads), (pl.String, pl.String, pl.Float64))),
                        orient="row")


def schedule_remains_frame(schedule, lang: str) -> pl.DataFrame:
    """What the plan does not settle (and what the county must confirm), with why and who acts."""
    rows = [(_item_label(r["item"], lang), r["why"]) for r in schedule.caveats + schedule.remains]
    return pl.DataFrame(rows, schema={t("plan_col_item", lang): pl.String, t("plan_col_why", lang): pl.String},
                        orient="row")


def schedule_resolves(schedule, lang: str) -> str:
    return t("plan_resolves", lang, items=t("kit_list_separator", lang).join(
        _item_label(k, lang) for k in schedule.resolves) or "—")

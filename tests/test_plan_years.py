"""The 达标方案 over years (issue 24 points 5 and 6): the size caps, the class caps and the migrant share as actions,
a teacher paid every year, and the same plan on the page, in `plan --json`, the workbook and the deck.

Hand-worked (thresholds.toml: class caps 45 / 50, school caps 2000 / 2500, a classroom 67 m² at 3,000 yuan,
1.9 teachers per added primary class, a teacher 100,000 yuan a year, migrant share ≥ 85%):
- 甲: 100 primary pupils in 2 classes (mean 50 > 45): ceil(100 / 45) = 3 classes, so 1 classroom (201,000 yuan)
  and ceil(1.9) = 2 teachers (200,000 a year).
- 乙: 90 pupils in 2 classes (45 each) with one class of 56+: classes enough, rebalanced at no cost.
- 丙: 2,100 primary pupils in 47 classes: 100 places elsewhere, each built to the primary minimums
  (4.5 m² × 3,000 + 7.5 m² × 400 + 2,000 yuan + 2.3 / 100 rooms × 60,000 = 19,880 yuan): 1,988,000 yuan.
- Migrant children: 90 in public schools, 20 in 丁 (private): 0.85 × 110 = 93.5, so 4 of 丁's move (91 → 94 ≥ 93.5).
"""
from __future__ import annotations

import math

import polars as pl
import pytest

from junheng import settings
from junheng.rules import plan, verdicts
from tests.conftest import frame, school

CAP_ROWS = [
    school(school_id="A", school_name="甲小学", primary_students=100, primary_classes=2, migrant_students=30),
    school(school_id="B", school_name="乙小学", primary_students=90, primary_classes=2, classes_56_65=1,
           migrant_students=30),
    school(school_id="C", school_name="丙小学", primary_students=2100, primary_classes=47, migrant_students=30),
    school(school_id="D", school_name="丁小学", primary_students=200, primary_classes=5, is_public=False,
           migrant_students=20),
]
PLACE = 4.5 * 3000 + 7.5 * 400 + 2000 + 2.3 / 100 * 60_000


@pytest.fixture(scope="module")
def rules():
    return settings.load_thresholds()


@pytest.fixture(scope="module")
def moved(rules):
    return plan.moves(frame(CAP_ROWS), rules)


def test_a_place_elsewhere_costs_what_building_it_to_the_minimums_costs(rules):
    assert plan.place_cost(rules, "primary") == pytest.approx(PLACE) == pytest.approx(19_880)


def test_classes_over_the_cap_are_split_with_rooms_and_teachers_or_rebalanced(moved):
    actions, after = moved
    got = {(r["school_id"], r["column"]): (r["delta"], r["cost"]) for r in actions.iter_rows(named=True)}
    assert got[("A", "classrooms")] == (1.0, 67 * 3000)
    assert got[("A", "class_teachers")] == (2.0, 200_000)
    assert got[("B", "class_rebalance")] == (1.0, 0.0)
    a, b = (after.filter(pl.col("school_id") == s).row(0, named=True) for s in ("A", "B"))
    assert a["primary_classes"] == 3 and b["classes_56_65"] == 0


def test_an_oversized_school_sends_its_excess_to_places_elsewhere(moved):
    actions, after = moved
    row = actions.filter((pl.col("school_id") == "C") & (pl.col("column") == "places_elsewhere")).row(0, named=True)
    assert row["delta"] == 100 and row["cost"] == pytest.approx(100 * PLACE)
    assert after.filter(pl.col("school_id") == "C")["primary_students"].item() == 2000


def test_the_migrant_share_is_raised_to_its_threshold_with_public_places(moved, rules):
    actions, after = moved
    # 0.85 × 110 − 90 in public schools = 3.5: 4 places, built at the public school with most migrant children (A, B
    # and C have 30 each: the first by id); one row, never one per private school (which gave their counts back)
    (row,) = actions.filter(pl.col("column") == "migrant_places").rows(named=True)
    assert (row["school_id"], row["delta"]) == ("A", 4.0)
    items = dict(verdicts.school_row_items(after, rules).select("item", "value").iter_rows())
    assert items["migrant_public_share"] == pytest.approx(94 / 110)
    assert items["class_size_cap"] == 0 and items["school_size_cap"] == 0


def test_the_schedule_resolves_the_caps_and_asks_the_county_to_confirm_the_bounds(rules):
    got = plan.schedule(frame(CAP_ROWS), rules, 2024, 2026, 1e9).as_json()
    assert {"class_size_cap", "school_size_cap", "migrant_public_share"} <= set(got["resolves"])
    assert {c["item"] for c in got["caveats"]} == {"class_size_cap", "school_size_cap"}
    assert not {"class_size_cap", "school_size_cap", "migrant_public_share"} & {r["item"] for r in got["remains"]}


def test_a_county_count_that_still_fails_keeps_the_class_cap_in_remains(rules):
    table = pl.DataFrame({"county_code": ["370724"], "item": ["class_size_cap"], "value": [0.03]})
    got = plan.schedule(frame(CAP_ROWS), rules, 2024, 2026, 1e9, table).as_json()
    assert "class_size_cap" in {r["item"] for r in got["remains"]}


# --- a teacher is paid every year ---------------------------------------------------------------------------------

TEACHER_ROWS = [  # one school short of a backbone teacher only: 100 pupils, minimum 1.0 per 100
    school(school_id="T", school_name="丁小学", backbone_teachers=0),
    school(school_id="U", school_name="戊小学", backbone_teachers=1),
]


def test_a_teacher_hired_in_the_first_year_is_paid_in_every_year_of_the_plan(rules):
    """With no budget limit everything is done in 2025; the teacher hired then is paid in 2025, 2026 and 2027:
    three salaries of 100,000, not one."""
    rows = frame(TEACHER_ROWS)
    best = plan.minimum_cost_plan(rows, rules)
    assert best.changes.select("school_id", "column", "delta").rows() == [("T", "backbone_teachers", 1.0)]
    got = plan.schedule(rows, rules, 2024, 2027, 1e9, best=best).as_json()
    assert [(y["year"], y["cost"]) for y in got["years"]] == [(2025, 100_000), (2026, 100_000), (2027, 100_000)]
    assert got["years"][1]["salaries"] == [{"school_id": "T", "item": "backbone_teachers", "amount": 1.0,
                                            "unit": got["years"][0]["actions"][0]["unit"], "cost": 100_000.0}]
    assert got["cost"] == 300_000 and got["recurring"] == 100_000
    assert got["schools"] == [{"school_id": "T", "cost": 300_000.0}]


def test_salaries_over_the_budget_are_unreachable_in_every_year_and_name_the_budget_needed(rules):
    rows = frame(TEACHER_ROWS)
    got = plan.schedule(rows, rules, 2024, 2026, 50_000).as_json()
    assert got["feasible"] is False and got["reachable_year"] is None
    assert got["budget_needed"] == 100_000 and got["scheduled_budget"] == 100_000
    assert all(y["cost"] <= 100_000 for y in got["years"])


def test_the_defaults_come_from_the_thresholds_file(rules):
    assert plan.defaults(rules, 2025) == (2028, 30_000_000.0)
    assert plan.defaults({**rules, "plan": {"target_years": 5, "budget_per_year": 1e8}}, 2025) == (2030, 1e8)
    assert math.isclose(plan.plan_settings({})["classroom_m2"], 67)


# --- one plan everywhere ------------------------------------------------------------------------------------------

def _cli(*args: str) -> dict:
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "junheng.tools.cli", *args, "--json"], capture_output=True, text=True,
                         timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_linqu_2025_plan_is_the_same_in_plan_json_evaluate_json_the_workbook_the_deck_and_the_page(demo_data,
                                                                                                 monkeypatch):
    """临朐 2025 with the thresholds file's target year and budget: the years and per-school costs of `plan --json`
    are the workbook's sheets 分年度方案 and 学校汇总, the deck's slide and the page's line; every 优质均衡 item that
    `evaluate --json` does not find met is either settled by the plan or listed with what to do."""
    import io
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from junheng.data.scope import EVERYTHING
    from junheng.figures import evaluation_tables as tables
    from junheng.i18n import t
    from junheng.reports import content, deck, report
    got = _cli("plan", "--data-dir", str(demo_data), "--county", "370724", "--year", "2025")
    schedule = plan.Schedule(**got)
    assert got["target_year"] == 2028 and got["budget_per_year"] == 30_000_000
    assert got["years"], "the years are laid out (at the budget needed when the budget is too small)"
    evaluated = _cli("evaluate", "--data-dir", str(demo_data), "--county", "370724", "--year", "2025")
    unmet = {k for part in evaluated["parts"]["quality"].values() for k, e in part["items"].items()
             if e["met"] is not True}
    assert unmet and unmet <= set(got["resolves"]) | {r["item"] for r in got["remains"]}
    assert not set(got["resolves"]) & {r["item"] for r in got["remains"]}

    data, _ = report.build(demo_data, EVERYTHING, 2025, "xlsx", "zh", county="370724")
    years = pl.read_excel(io.BytesIO(data), sheet_name=t("sheet_plan_years", "zh"))
    by_year = years.group_by(t("plan_col_year", "zh")).agg(pl.col(t("report_cost_yuan", "zh")).sum()).sort(
        t("plan_col_year", "zh")).rows()
    assert by_year == [(y["year"], pytest.approx(y["cost"])) for y in got["years"]]
    per_school = pl.read_excel(io.BytesIO(data), sheet_name=t("sheet_plan_schools", "zh"))
    assert per_school.select(t("school_id", "zh"), t("plan_col_school_cost", "zh")).rows() == [
        (s["school_id"], pytest.approx(s["cost"])) for s in got["schools"]]

    made = content.gather(demo_data, EVERYTHING, 2025, "zh", county="370724", pictures=False)
    section = next(s for s in made.sections if s.title == t("plan_years_title", "zh"))
    assert section.lines[0] == tables.schedule_line(schedule, "zh")
    texts = deck.table_texts(deck.pptx_bytes(made))
    summary = next(tb for tb in texts if tb[0][:2] == [t("plan_col_year", "zh"), t("plan_col_year_cost", "zh")])
    assert [(int(r[0]), r[1]) for r in summary[1:]] == [(y["year"], content.money_text(y["cost"], "zh"))
                                                        for y in got["years"]]

    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "evaluation.py"), default_timeout=300)
    at.query_params["county"] = "370724"
    at.session_state["evaluation_view"] = "tab_plan"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert tables.schedule_line(schedule, "zh") in [m.value for m in at.markdown]

"""整改清单 and the minimum-cost plan on a hand-worked county of three primary schools of 100 students each.

By hand (minimums: sports 7.5 m², rooms 2.3 and backbone teachers 1.0 per 100, equipment 2000 yuan; a school
passes with six minimums met and the seventh at ≥ 85%; every CV ≤ 0.50; costs from thresholds.toml):
- 甲 A: building 4.0 m² per student (89% of 4.5), the rest met: passes; listed (priority 3), 50 m², 150,000 yuan.
- 乙 B: sports 6.0 (80%) and rooms 2 per 100 (87%): fails; 150 m² (60,000) and 1 whole room (0.3 → 1, 60,000).
  The cheapest pass raises sports to 7.5 (60,000) and leaves rooms at 87%; the other way, sports to 85%
  (37.5 → 38 m², 15,200) plus a whole room (60,000), costs 75,200.
- 丙 C: no backbone teacher (0%): fails; 1 teacher, 100,000.
- Equipment 2000, 2000, 8000 per student: mean 4000, S = √(8·10⁶) = 2828, CV = 0.7071 > 0.50 (C raises it).
  Raising A and B by d each: CV = √2 (6000 − d) / (12000 + 2d) ≤ 0.5 ⇔ d ≥ 6000 (√2 − 1)² = 1029.437 yuan per
  student, 102,943.7 → 102,944 yuan per school.
- Backbone teachers 1, 1, 0 per 100: CV 0.7071; C's teacher makes it 0.
Plan: 60,000 + 100,000 + 2 × 102,944 = 365,888 yuan.
"""
from __future__ import annotations

import itertools
import math

import numpy as np
import polars as pl
import pytest

from junheng import settings
from junheng.rules import evaluation, plan, rectification
from tests.conftest import frame, school

HAND_ROWS = [
    school(school_id="A", school_name="甲小学", building_area_m2=400.0, backbone_teachers=1,
           equipment_value_cny=200_000.0, multimedia_rooms=3, sports_area_m2=800.0),
    school(school_id="B", school_name="乙小学", building_area_m2=500.0, sports_area_m2=600.0, multimedia_rooms=2,
           backbone_teachers=1, equipment_value_cny=200_000.0),
    school(school_id="C", school_name="丙小学", building_area_m2=500.0, backbone_teachers=0,
           equipment_value_cny=800_000.0, sports_area_m2=800.0, multimedia_rooms=3),
]
EQUIPMENT_PER_SCHOOL = math.ceil(100 * 6000 * (math.sqrt(2) - 1) ** 2)  # 102,944
HAND_COST = 60_000 + 100_000 + 2 * EQUIPMENT_PER_SCHOOL


@pytest.fixture(scope="module")
def hand():
    return frame(HAND_ROWS)


@pytest.fixture(scope="module")
def rules():
    return settings.load_thresholds()


@pytest.fixture(scope="module")
def hand_plan(hand, rules):
    return plan.minimum_cost_plan(hand, rules)


def test_rectification_rows_are_the_hand_shortfalls(hand, rules):
    items, county = rectification.rectification(hand, rules)
    got = {(r["school_id"], r["indicator"]): (r["priority"], r["shortfall"], r["cost"])
           for r in items.iter_rows(named=True)}
    assert got == {
        ("A", "building_area_per_student"): (3, 50.0, 150_000.0),
        ("B", "sports_area_per_student"): (1, 150.0, 60_000.0),
        ("B", "multimedia_rooms_per_100"): (1, 1.0, 60_000.0),   # 0.3 of a room, bought whole
        ("C", "backbone_teachers_per_100"): (1, 1.0, 100_000.0),
    }
    assert items["priority"].to_list() == sorted(items["priority"].to_list())  # sorted by priority
    assert rectification.total_cost(items) == 370_000.0
    cvs = {r["indicator"]: r for r in county.iter_rows(named=True)}
    assert set(cvs) == {"equipment_value_per_student", "backbone_teachers_per_100"}
    assert cvs["equipment_value_per_student"]["cv"] == pytest.approx(math.sqrt(2) / 2)
    assert cvs["equipment_value_per_student"]["movers"][0] == "丙小学"
    assert cvs["backbone_teachers_per_100"]["mover_ids"] == ["C"]


def test_a_school_meeting_every_minimum_is_not_listed(rules):
    items, county = rectification.rectification(frame([school(school_id="X")]), rules)
    assert items.is_empty() and county.is_empty()


def test_plan_equals_the_hand_computation(hand, rules, hand_plan):
    assert hand_plan.status == "planned"
    changes = {(r["school_id"], r["column"]): r["delta"] for r in hand_plan.changes.iter_rows(named=True)}
    assert changes.pop(("B", "sports_area_m2")) == 150.0        # sports to the minimum, rooms left at 87%
    assert changes.pop(("C", "backbone_teachers")) == 1.0       # a whole teacher
    equipment = changes.pop(("A", "equipment_value_cny")) + changes.pop(("B", "equipment_value_cny"))
    assert changes == {}
    assert abs(equipment - 2 * EQUIPMENT_PER_SCHOOL) <= 1        # the split between A and B may differ by a yuan
    assert abs(hand_plan.cost - HAND_COST) <= 1
    assert hand_plan.lower_bound <= hand_plan.cost


def test_plan_after_cvs_are_under_every_ceiling(hand, rules, hand_plan):
    after = evaluation.evaluate_county(evaluation.apply_changes(hand, hand_plan.changes), rules)["primary"]["quality"]
    assert all(cv <= after["threshold"] + 1e-12 for cv in after["cv"].values())
    assert all(s["pass"] for s in after["schools"])
    assert plan.check(hand, hand_plan.changes, rules)


def _independent_passes(rows: list[dict], add: dict, rules: dict) -> np.ndarray:
    """The 优质均衡 resource rule written out again from the domain brief, vectorised over grid points.

    add: (school index, column) -> array of additions (one per grid point).
    """
    minimums = {"above_degree_teachers_per_100": ("teachers_above_degree", 100, 4.2),
                "backbone_teachers_per_100": ("backbone_teachers", 100, 1.0),
                "pe_arts_teachers_per_100": ("pe_arts_teachers", 100, 0.9),
                "building_area_per_student": ("building_area_m2", 1, 4.5),
                "sports_area_per_student": ("sports_area_m2", 1, 7.5),
                "equipment_value_per_student": ("equipment_value_cny", 1, 2000),
                "multimedia_rooms_per_100": ("multimedia_rooms", 100, 2.3)}
    size = len(next(iter(add.values())))
    ok = np.ones(size, dtype=bool)
    p = np.array([r["primary_students"] for r in rows], dtype=float)
    met = np.zeros((len(rows), size))
    near = np.ones((len(rows), size), dtype=bool)
    for column, scale, minimum in minimums.values():
        x = np.stack([(rows[i][column] + add.get((i, column), np.zeros(size))) / p[i] * scale
                      for i in range(len(rows))])
        met += x >= minimum - 1e-9
        near &= x >= 0.85 * minimum - 1e-9
        mean = (p[:, None] * x).sum(axis=0) / p.sum()
        sd = np.sqrt((p[:, None] * (x - mean) ** 2).sum(axis=0) / p.sum())
        ok &= sd / mean <= 0.5 + 1e-12
    return ok & (met >= 6).all(axis=0) & near.all(axis=0)


def test_no_cheaper_plan_on_a_grid(hand_plan, rules):
    """Every combination of the additions that could help (a grid, equipment in steps of 250 yuan) that passes
    costs at least the plan, less a yuan per school for the plan's rounding within the grid step."""
    costs = rectification.unit_costs(rules)
    steps = np.arange(0, 160_001, 250.0)
    ea, eb = (g.ravel() for g in np.meshgrid(steps, steps))
    cheapest = math.inf
    discrete = itertools.product([0, 38, 150], [0, 1], [0, 1], [0, 50], [0, 1])
    for sports_b, room_b, backbone_c, building_a, room_a in discrete:
        fixed = {(1, "sports_area_m2"): sports_b, (1, "multimedia_rooms"): room_b, (2, "backbone_teachers"): backbone_c,
                 (0, "building_area_m2"): building_a, (0, "multimedia_rooms"): room_a}
        add = {k: np.full(ea.size, float(v)) for k, v in fixed.items()}
        add[(0, "equipment_value_cny")], add[(1, "equipment_value_cny")] = ea, eb
        ok = _independent_passes(HAND_ROWS, add, rules)
        if ok.any():
            cost = sum(costs[c] * v for (_, c), v in fixed.items()) + (ea + eb)[ok].min()
            cheapest = min(cheapest, cost)
    assert cheapest >= hand_plan.cost - 2
    assert cheapest < hand_plan.cost + 500  # the grid does find the plan's neighbourhood


def test_plan_is_nothing_when_the_county_passes(rules):
    result = plan.minimum_cost_plan(frame([school(school_id="X"), school(school_id="Y", primary_students=120)]), rules)
    assert result.status == "nothing" and result.changes.is_empty() and result.cost == 0


def test_unit_costs_are_settings(rules):
    assert rectification.unit_costs(rules)["building_area_m2"] == 3000
    edited = dict(rules, costs={**rules["costs"], "building_area_m2": 2500})
    assert rectification.unit_costs(edited)["building_area_m2"] == 2500
    assert rectification.unit_costs({k: v for k, v in rules.items() if k != "costs"}) == rectification.unit_costs(rules)
    for bad in (-1, 0, "3000", float("nan"), True):
        with pytest.raises(settings.SettingsError, match="building_area_m2"):
            rectification.unit_costs(dict(rules, costs={**rules["costs"], "building_area_m2": bad}))


def test_edited_plan_is_costed(rules):
    edited = pl.DataFrame({"school_id": ["A", "B"], "column": ["multimedia_rooms", "sports_area_m2"],
                           "delta": [2.0, 10.0]})
    assert plan.plan_cost(edited, rules)["cost"].to_list() == [120_000.0, 4_000.0]


def test_demo_county_plan_passes_and_is_not_below_the_bound(demo_data, rules):
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    schools = db.run(db.connect(demo_data), "school_rows", EVERYTHING, year=2025, region="370724")
    result = plan.minimum_cost_plan(schools, rules)
    assert result.status == "planned"
    assert plan.check(schools, result.changes, rules)
    assert result.cost >= result.lower_bound > 0
    whole = result.changes.filter(pl.col("column").is_in(list(rectification.WHOLE_UNITS)))
    assert (whole["delta"] == whole["delta"].round()).all()


def test_a_plan_is_found_for_a_county_with_a_split_complete_secondary_school(demo_data):
    """张店区 2025: the solver met 张店第12中学's equipment floor to ~1e-8 below it and rounding up landed on the
    minimum, so the plan failed its own check; rounding now leaves a margin of 1e-7 of the need."""
    import polars as pl

    from junheng import settings
    from junheng.data import store
    from junheng.rules import evaluation, plan
    rows = pl.read_parquet(store.current_path(demo_data, 2025)).filter(pl.col("county_code") == "370303")
    rules = settings.load_thresholds()
    found = plan.minimum_cost_plan(rows, rules)
    assert found.status == "planned", found.status
    assert plan.check(rows, found.changes.select("school_id", "column", "delta", "unit_cost", "cost"), rules)
    assert found.lower_bound <= found.cost <= found.lower_bound * 1.1  # whole units cost little over the bound
    after = evaluation.evaluate_county(evaluation.apply_changes(rows, found.changes.select(
        "school_id", "column", "delta")), rules)
    assert all(level["quality"]["cv_pass"] for level in after.values())


# ---------------------------------------------------------------- issue 24: combined schools, the plan over years

def test_a_combined_school_is_listed_with_the_addition_its_level_share_needs(rules):
    """A nine-year school of 600 primary and 400 junior pupils with no backbone teacher: each level needs 1.0 per
    100 (6 and 4); teachers are shared by enrolment (60% / 40%), so 10 teachers at the school, not 6 and 4."""
    rows = frame([school(school_id="N", school_type="nine_year", primary_students=600, primary_classes=14,
                         junior_students=400, junior_classes=8, backbone_teachers=0, teachers=80,
                         teachers_above_degree=60, pe_arts_teachers=10, building_area_m2=6000.0,
                         sports_area_m2=12000.0, equipment_value_cny=3_000_000.0, multimedia_rooms=30)])
    items, _ = rectification.rectification(rows, rules)
    backbone = items.filter(pl.col("indicator") == "backbone_teachers_per_100").sort("level")
    assert backbone.select("level", "level_gap", "shortfall").rows() == [
        ("junior", pytest.approx(4.0), 10.0), ("primary", pytest.approx(6.0), 10.0)]
    totals = rectification.school_totals(items)
    row = totals.filter(pl.col("column") == "backbone_teachers").row(0, named=True)
    assert (row["addition"], row["cost"]) == (10.0, 1_000_000.0)  # one addition serves both levels
    assert rectification.total_cost(items) == totals["cost"].sum()
    after = evaluation.school_verdicts(evaluation.level_values(evaluation.apply_changes(
        rows, totals.select("school_id", "column", pl.col("addition").alias("delta"))), rules), rules)
    assert after["meets_backbone_teachers_per_100"].all()


def test_every_listed_level_reaches_its_minimum_after_the_listed_additions_in_linqu(demo_data, rules):
    from junheng.data import store
    rows = pl.read_parquet(store.current_path(demo_data, 2025)).filter(pl.col("county_code") == "370724")
    items, _ = rectification.rectification(rows, rules)
    totals = rectification.school_totals(items)
    after = evaluation.school_verdicts(evaluation.level_values(evaluation.apply_changes(
        rows, totals.select("school_id", "column", pl.col("addition").alias("delta"))), rules), rules)
    met = {(r["school_id"], r["level"]): r for r in after.iter_rows(named=True)}
    short = [(r["school_name"], r["indicator"]) for r in items.iter_rows(named=True)
             if not met[(r["school_id"], r["level"])][f"meets_{r['indicator']}"]]
    assert short == []
    assert (items["shortfall"] == items["shortfall"].round()).all()


@pytest.fixture(scope="module")
def linqu_schedule(demo_data):
    import json
    import subprocess
    import sys
    out = subprocess.run([sys.executable, "-m", "junheng.tools.cli", "plan", "--data-dir", str(demo_data),
                          "--county", "370724", "--year", "2025", "--target-year", "2031",
                          "--budget-per-year", "30000000", "--json"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_plan_json_keeps_its_contract(linqu_schedule):
    assert {"cost", "feasible", "reachable_year", "budget_needed", "scheduled_budget", "recurring", "years", "schools",
            "resolves", "remains", "caveats"} <= set(linqu_schedule)
    for y in linqu_schedule["years"]:
        assert set(y) == {"year", "cost", "actions", "salaries"}
        for a in y["actions"] + y["salaries"]:
            assert set(a) == {"school_id", "item", "amount", "unit", "cost"}
    assert all(set(s) == {"school_id", "cost"} for s in linqu_schedule["schools"])
    assert all(set(r) == {"item", "why"} for r in linqu_schedule["remains"] + linqu_schedule["caveats"])


def test_linqu_2025_with_30_million_a_year_checked_by_recomputation(demo_data, rules, linqu_schedule):
    """The new teachers' salaries (paid every year) exceed 3,000 万元 a year, so no year fits: feasible false, no
    reachable year, and the years laid out at the least budget that reaches 2031. Recomputed here: each year within
    that budget; a year's salaries are the teachers hired in earlier years; after every action the items the plan
    says it resolves pass when the evaluation is run again; costs add up per year and per school."""
    from junheng.data import store
    from junheng.rules import verdicts
    rows = pl.read_parquet(store.current_path(demo_data, 2025)).filter(pl.col("county_code") == "370724")
    got = linqu_schedule
    costs = plan.action_costs(rules)
    places = [plan.place_cost(rules, level) for level in ("primary", "junior")]
    hired = [a for y in got["years"] for a in y["actions"] if a["item"] in plan.YEARLY]
    salaries = sum(a["amount"] * costs[a["item"]] for a in hired)
    assert salaries > 30_000_000 and got["recurring"] == pytest.approx(salaries)
    assert got["feasible"] is False and got["reachable_year"] is None
    assert got["scheduled_budget"] == got["budget_needed"] > 30_000_000
    assert [y["year"] for y in got["years"]] == list(range(2026, 2032))
    done, on_payroll, per_school = [], {}, {}
    for y in got["years"]:
        assert y["cost"] <= got["scheduled_budget"]
        assert y["cost"] == pytest.approx(sum(a["cost"] for a in y["actions"] + y["salaries"]))
        paid = {(a["school_id"], a["item"]): a["amount"] for a in y["salaries"]}
        assert paid == {k: v for k, v in on_payroll.items() if v}
        for a in y["actions"] + y["salaries"]:
            if a["item"] in ("places_elsewhere", "migrant_places"):  # a place costs what its level's minimums cost
                assert min(places) - 1e-6 <= a["cost"] / a["amount"] <= max(places) + 1e-6
            else:
                assert a["cost"] == pytest.approx(a["amount"] * costs[a["item"]])
            per_school[a["school_id"]] = per_school.get(a["school_id"], 0.0) + a["cost"]
        for a in y["actions"]:
            done.append((a["school_id"], a["item"], a["amount"]))
            if a["item"] in plan.YEARLY:
                on_payroll[(a["school_id"], a["item"])] = on_payroll.get((a["school_id"], a["item"]), 0) + a["amount"]
    assert got["cost"] == pytest.approx(sum(y["cost"] for y in got["years"]))
    assert {s["school_id"]: pytest.approx(s["cost"]) for s in got["schools"]} == per_school
    # the places, classes and migrant places, recomputed from the rows: every oversized school sheds its excess,
    # every level has classes enough for the cap, the migrant share reaches 85%
    r, caps = rules["rules"], rules["targets"]
    acted = {}
    for school_id, item, amount in done:
        acted[(school_id, item)] = acted.get((school_id, item), 0) + amount
    for x in rows.filter(pl.col("is_public")).iter_rows(named=True):
        cap = r["combined_school_max"] if x["school_type"] in ("nine_year", "twelve_year") else r["large_school_max"]
        compulsory = x["primary_students"] + x["junior_students"]
        assert compulsory - acted.get((x["school_id"], "places_elsewhere"), 0) <= cap
    migrants = rows["migrant_students"].sum()
    public = rows.filter(pl.col("is_public"))["migrant_students"].sum()
    assert (public + sum(v for (s, i), v in acted.items() if i == "migrant_places")) / migrants >= 0.85
    _, moved = plan.moves(rows, rules)
    for x in moved.filter(pl.col("is_public")).iter_rows(named=True):
        for level in ("primary", "junior"):
            assert x[f"{level}_students"] <= caps[f"{level}_class_max"] * x[f"{level}_classes"]
    changes = pl.DataFrame([d for d in done if d[1] in rectification.resource_columns()],
                           schema={"school_id": pl.String, "column": pl.String, "delta": pl.Float64}, orient="row")
    after = evaluation.apply_changes(moved, changes)
    items = verdicts.computed_items(after, rules)
    met = dict(zip(items["item"], items["met"]))
    values = dict(zip(items["item"], items["value"]))
    assert set(got["resolves"]) == {"resource_cvs_primary", "resource_schools_primary", "resource_cvs_junior",
                                    "resource_schools_junior", "school_size_cap", "class_size_cap",
                                    "migrant_public_share"}
    assert all(met[k] for k in got["resolves"] if k.startswith("resource_"))
    assert values["school_size_cap"] == 0 and values["class_size_cap"] == 0 and values["migrant_public_share"] >= 0.85
    before = dict(verdicts.computed_items(rows, rules).select("item", "met").iter_rows())
    assert not all(before[k] for k in got["resolves"] if k.startswith("resource_"))  # the plan is needed
    # a bound shows a pass only as far as the rows go: the county confirms the class and school counts
    assert {c["item"] for c in got["caveats"]} == {"class_size_cap", "school_size_cap"}
    # what money cannot settle is named, with the item, never left out
    assert {"social_recognition_rate", "veto_falsification"} <= {r["item"] for r in got["remains"]}


def test_an_unreachable_target_is_not_feasible_and_names_the_year_it_becomes_reachable(demo_data):
    from junheng.data import store
    rows = pl.read_parquet(store.current_path(demo_data, 2025)).filter(pl.col("county_code") == "370724")
    got = plan.schedule(rows, settings.load_thresholds(), 2025, 2026, 150_000_000).as_json()
    assert got["feasible"] is False
    assert got["reachable_year"] > 2026
    assert sum(y["cost"] for y in got["years"]) == pytest.approx(got["cost"])
    assert all(y["cost"] <= 150_000_000 for y in got["years"])
    assert got["budget_needed"] > 150_000_000

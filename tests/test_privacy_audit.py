"""The attack statistical offices audit with (τ-ARGUS): from what `junheng published` prints, minimise and maximise
every hidden left-behind and migrant count over all published sums at once, as whole numbers (scipy's HiGHS), and
check that nothing is learned (issue 23).

The attacker here is written from the JSON contract alone, independently of junheng/rules/privacy_audit.py: a
reader knows each shown value, that a "<5" cell is 1..4, that a withheld cell is ≥ 0 and at most the smallest shown
total holding it, and every sum. Safe: a "<5" cell can still be each of 1 and 4; a withheld cell takes at least 5
values (fewer only where the "<5" marks alone allow fewer: a part of a "<5" total, see privacy_audit.spans).
"""
import json
import os
import subprocess
import sys

import numpy as np
import polars as pl
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from junheng import settings

MIN = settings.load_thresholds()["privacy"]["min_count"]
LARGE = 10 ** 7


def published(data_dir, year: int, county: str | None = None) -> list[dict]:
    command = [sys.executable, "-m", "junheng.tools.cli", "published", "--data-dir", str(data_dir),
               "--year", str(year), "--json"] + (["--county", county] if county else [])
    return json.loads(subprocess.run(command, capture_output=True, text=True, check=True).stdout)


def reader_model(item: dict, min_count: int = MIN) -> dict:
    """What the reader knows of one county-year-measure, as an integer program over its hidden cells: equations
    (rows, cols, coefs = rhs), each cell's bounds, and the span each must keep."""
    cells = {c["id"]: c for c in item["cells"]}
    hidden = [c["id"] for c in item["cells"] if c["status"] != "shown"]
    index = {cid: j for j, cid in enumerate(hidden)}
    upper = np.full(len(hidden), float(LARGE))
    rows, cols, coefs, rhs = [], [], [], []
    for r, s in enumerate(item["sums"]):
        known = 0.0
        for cid, coef in [(s["total"], 1.0)] + [(p, -1.0) for p in s["parts"]]:
            if cid in index:
                rows.append(r), cols.append(index[cid]), coefs.append(coef)
            else:
                known += coef * cells[cid]["value"]
        rhs.append(-known)
        if cells[s["total"]]["status"] == "shown":  # a part is at most its shown total
            for p in s["parts"]:
                if p in index:
                    upper[index[p]] = min(upper[index[p]], cells[s["total"]]["value"])
    small = np.array([cells[cid]["status"] == "small" for cid in hidden], dtype=bool)
    lower = np.where(small, 1.0, 0.0)
    upper = np.where(small, float(min_count - 1), upper)
    # what the "<5" marks alone bound (whatever else is published): a "<5" cell is 1..4, a part at most its total's
    # bound less 1 for each other "<5" part, a total at most the sum of its parts' bounds; such a withheld cell must
    # keep a span of one less than its bound (at least 1), any other one of min_count − 1
    bound = {cid: (min_count - 1 if c["status"] == "small" else np.inf) for cid, c in cells.items()}
    floor = {cid: (1 if c["status"] == "small" else 0) for cid, c in cells.items()}
    changed = True
    while changed:
        changed = False
        for s in item["sums"]:
            new = min(bound[s["total"]], sum(bound[p] for p in s["parts"]))
            changed |= new < bound[s["total"]]
            bound[s["total"]] = new
            floors = sum(floor[o] for o in s["parts"])  # less each part's own: the other parts' floors
            for p in s["parts"]:
                new = min(bound[p], bound[s["total"]] - (floors - floor[p]))
                changed |= new < bound[p]
                bound[p] = new
    span = np.array([min_count - 1 if not np.isfinite(bound[cid]) else int(min(max(bound[cid] - 1, 1), min_count - 1))
                     for cid in hidden], dtype=np.int64)
    return {"hidden": hidden, "small": small, "lower": lower, "upper": upper, "span": span,
            "rows": np.array(rows, dtype=np.int64), "cols": np.array(cols, dtype=np.int64),
            "coefs": np.array(coefs, dtype=float), "rhs": np.array(rhs, dtype=float)}


def milp_solver(model: dict):
    """Minimise objective · x over the reader's integer program: scipy's milp, built anew for every objective."""
    n = len(model["hidden"])
    matrix = coo_matrix((model["coefs"], (model["rows"], model["cols"])), shape=(len(model["rhs"]), n))
    constraints = [LinearConstraint(matrix, model["rhs"], model["rhs"])] if len(model["rhs"]) else []

    def solve(objective):
        result = milp(objective, integrality=np.ones(n), bounds=Bounds(model["lower"], model["upper"]),
                      constraints=constraints, options={"mip_rel_gap": 0})
        assert result.success, result.message  # the true counts are a solution
        return np.round(result.x)
    return solve


def highs_solver(model: dict):
    """The same minimum, faster: one HiGHS model per table, the linear relaxation re-solved from the last basis for
    each objective; when its optimum is whole it is the integer program's optimum (the relaxation's optimum is a
    bound and here attained), else the integer program is solved."""
    import highspy
    n, m = len(model["hidden"]), len(model["rhs"])
    order = np.lexsort((model["rows"], model["cols"]))
    lp = highspy.HighsLp()
    lp.num_col_, lp.num_row_ = n, m
    lp.col_cost_, lp.col_lower_, lp.col_upper_ = np.zeros(n), model["lower"], model["upper"]
    lp.row_lower_ = lp.row_upper_ = model["rhs"]
    lp.a_matrix_.format_ = highspy.MatrixFormat.kColwise
    lp.a_matrix_.start_ = np.searchsorted(model["cols"][order], np.arange(n + 1)).astype(np.int32)
    lp.a_matrix_.index_ = model["rows"][order].astype(np.int32)
    lp.a_matrix_.value_ = model["coefs"][order]
    h = highspy.Highs()
    h.silent()
    h.setOptionValue("threads", 1)
    h.setOptionValue("mip_rel_gap", 0.0)
    h.passModel(lp)
    columns = np.arange(n, dtype=np.int32)

    def run():
        h.run()
        assert h.getModelStatus() == highspy.HighsModelStatus.kOptimal  # the true counts are a solution
        return np.array(h.getSolution().col_value)

    def solve(objective):
        h.changeColsCost(n, columns, np.asarray(objective, dtype=float))
        x = run()
        if np.abs(x - np.round(x)).max(initial=0.0) > 1e-6:
            h.changeColsIntegrality(n, columns, np.full(n, highspy.HighsVarType.kInteger))
            x = run()
            h.changeColsIntegrality(n, columns, np.full(n, highspy.HighsVarType.kContinuous))
        return np.round(x)
    return solve


def attack(item: dict, min_count: int = MIN, solver=milp_solver) -> list[dict]:
    """What the reader learns about one county-year-measure: every hidden cell whose range is narrower than its
    mark allows, with that range (lowest, highest value of any table consistent with everything published)."""
    model = reader_model(item, min_count)
    hidden, small, span = model["hidden"], model["small"], model["span"]
    if not hidden:
        return []
    statuses = {c["id"]: c["status"] for c in item["cells"]}
    optimum = solver(model)
    low = np.full(len(hidden), np.inf)
    high = np.full(len(hidden), -np.inf)

    def solve(objective):
        x = optimum(objective)
        np.minimum(low, x, out=low)
        np.maximum(high, x, out=high)

    alternate = np.where(np.arange(len(hidden)) % 2 == 0, 1.0, -1.0)
    for objective in (np.ones(len(hidden)), -np.ones(len(hidden)), alternate, -alternate):
        solve(objective)  # broad objectives first: their solutions settle most cells
    learned = []
    for j, cid in enumerate(hidden):
        # every solution found is a table the reader cannot tell from the true one: solve only what it leaves open
        if not (high[j] >= (min_count - 1 if small[j] else low[j] + span[j])):
            solve(-np.eye(len(hidden))[j])
        if not (low[j] <= (1 if small[j] else high[j] - span[j])):
            solve(np.eye(len(hidden))[j])
        ok = (low[j] <= 1 and high[j] >= min_count - 1) if small[j] else high[j] - low[j] >= span[j]
        if not ok:
            learned.append({"county_code": item["county_code"], "year": item["year"], "measure": item["measure"],
                            "id": cid, "status": statuses[cid], "range": (int(low[j]), int(high[j]))})
    return learned


def _fast_attack(item: dict) -> list[dict]:
    return attack(item, MIN, highs_solver)


def attack_all(items: list[dict]) -> list[dict]:
    """`attack` with the HiGHS solver over many tables, in a process per core (the tables are independent)."""
    import multiprocessing
    todo = [i for i in items if any(c["status"] != "shown" for c in i["cells"])]
    workers = max(1, min(8, len(os.sched_getaffinity(0))))
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        return [x for learned in pool.imap_unordered(_fast_attack, todo, chunksize=16) for x in learned]


def test_the_contract_has_every_key_and_only_the_published_values(demo_data):
    view = published(demo_data, 2025, "341203")
    assert {(i["county_code"], i["year"], i["measure"]) for i in view} == {
        ("341203", 2025, "left_behind_students"), ("341203", 2025, "migrant_students")}
    for item in view:
        assert set(item) == {"county_code", "year", "measure", "cells", "sums"}
        ids = {c["id"] for c in item["cells"]}
        for c in item["cells"]:
            assert set(c) == {"id", "kind", "status", "value"}
            assert c["kind"] in ("school", "group", "county") and c["status"] in ("shown", "small", "withheld")
            assert (c["value"] is None) == (c["status"] != "shown")
        assert all(s["total"] in ids and set(s["parts"]) <= ids for s in item["sums"])
        shown = {c["id"]: c["value"] for c in item["cells"] if c["status"] == "shown"}
        for s in item["sums"]:  # a sum of shown cells adds up
            if s["total"] in shown and all(p in shown for p in s["parts"]):
                assert shown[s["total"]] == sum(shown[p] for p in s["parts"])


def test_the_county_total_is_the_sum_of_the_schools_as_the_snapshot_has_them(demo_data, demo_frame):
    truth = demo_frame.filter((pl.col("year") == 2025) & (pl.col("county_code") == "341203"))
    for item in published(demo_data, 2025, "341203"):
        county = next(c for c in item["cells"] if c["kind"] == "county")
        assert county["value"] == truth[item["measure"]].sum()
        schools = [s for s in item["sums"] if s["total"] == county["id"] and s["parts"][0].startswith("school:")]
        assert len(schools) == 1 and len(schools[0]["parts"]) == truth.height


def test_the_hand_worked_yingdong_case_pins_no_cell(demo_data):
    # 颍东区 2025 (issue 23): 城区 2186, 初中 1406 and 槐树镇 234 with the shown schools used to force four hidden
    # cells to 1, 0, 1 and 1. Now no hidden cell has a single possible value, and nothing else is learned either.
    for item in published(demo_data, 2025, "341203"):
        learned = attack(item)
        assert not [x for x in learned if x["range"][0] == x["range"][1]]
        assert learned == []


def test_nothing_is_learned_from_any_year_or_county_of_the_demo_data(demo_data):
    years = sorted(int(p.name.removeprefix("year=")) for p in (demo_data / "snapshots").glob("year=*"))
    assert len(years) >= 13
    items = [item for year in years for item in published(demo_data, year)]
    hidden = sum(c["status"] != "shown" for item in items for c in item["cells"])
    learned = attack_all(items)
    assert hidden > 1000  # the attack had something to work on
    assert learned == [], f"{len(learned)} of {hidden} hidden cells learned, e.g. {learned[:5]}"


def test_nothing_is_learned_from_a_national_year(national_year):
    items = published(national_year, 2025)
    assert len({i["county_code"] for i in items}) > 2800  # every county of China
    hidden = sum(c["status"] != "shown" for item in items for c in item["cells"])
    learned = attack_all(items)
    assert hidden > 100000
    assert learned == [], f"{len(learned)} of {hidden} hidden cells learned, e.g. {learned[:5]}"


def test_nothing_is_learned_from_the_overview_of_a_national_year(national_year):
    # the county and region totals of 总览 (tests/test_region_privacy.py's attack), here beside the cells' attack so
    # that one test worker generates the national year for both
    from junheng.data import db
    from tests.test_region_privacy import county_rows, learned_from
    published, truth = county_rows(db.connect(national_year), [2025])
    learned, audited, hidden = learned_from(published, truth, [2025])
    assert learned == [] and audited == [], (learned[:5], audited[:5])
    before, _, _ = learned_from(published, truth, [2025], plain_sums=True)
    print(f"national 2025: {hidden} hidden county totals; plain region sums gave {len(before)} back")


def test_the_fast_solver_finds_the_same_optimum_as_scipys_milp(demo_data):
    # attack_all uses HiGHS directly (the relaxation first); scipy's milp solves every objective as an integer
    # program: both must give each hidden cell the same lowest and highest value (seeded sample of 2024's cells)
    rng = np.random.default_rng(23)
    items = [i for i in published(demo_data, 2024) if sum(c["status"] != "shown" for c in i["cells"]) > 3]
    for item in rng.choice(np.array(items, dtype=object), size=12, replace=False):
        model = reader_model(item)
        slow, fast = milp_solver(model), highs_solver(model)
        for j in rng.choice(len(model["hidden"]), size=min(6, len(model["hidden"])), replace=False):
            for sign in (1.0, -1.0):
                objective = sign * np.eye(len(model["hidden"]))[j]
                assert objective @ slow(objective) == objective @ fast(objective)


def pinned_neighbour() -> dict:
    """3 shown as "<5" beside 10 "*" in a total of 33 with 20 shown: the "*" is 9..12 (4 values), learned."""
    return {"county_code": "x", "year": 2025, "measure": "left_behind_students",
            "cells": [{"id": "t", "kind": "county", "status": "shown", "value": 33},
                      {"id": "a", "kind": "school", "status": "small", "value": None},
                      {"id": "b", "kind": "school", "status": "withheld", "value": None},
                      {"id": "c", "kind": "school", "status": "shown", "value": 20}],
            "sums": [{"total": "t", "parts": ["a", "b", "c"]}]}


def test_the_fast_attack_learns_what_the_milp_attack_learns():
    # an unsafe table (the hand-made one below): the same cells learned, alone and through the process pool
    item = pinned_neighbour()
    assert attack(item, solver=highs_solver) == attack(item) != []
    assert attack_all([item]) == attack(item)


def test_a_reader_learns_a_small_count_that_one_shown_neighbour_leaves_pinned():
    # the attacker itself can fail: 3 shown as "<5" beside 10 "*" in a total of 33 with 20 shown: 10 = 13 − the
    # "<5", so the "*" is 9..12 (4 values), and 13 − "*" ... is learned.
    item = pinned_neighbour()
    learned = attack(item)
    assert [(x["id"], x["range"]) for x in learned] == [("b", (9, 12))]
    item["cells"][3] = {"id": "c", "kind": "school", "status": "withheld", "value": None}
    assert attack(item) == []


# --- Point 4: cohorts and differences use published values only ----------------------------------------------------

def _cohort(region: str, years: tuple[int, int], *where: str):
    from junheng.rules import cohort as g
    return g.Cohort(region, years[0], years[1], tuple(g.parse(w) for w in where))


@pytest.fixture(scope="module")
def demo_con(demo_data):
    from junheng.data import db
    return db.connect(demo_data)


def _hidden_school(con, county: str, year: int) -> str:
    from junheng.data import cohort as dc
    from junheng.data.scope import EVERYTHING
    rows = dc.run(con, _cohort(county, (year, year)), EVERYTHING, (year, year), MIN).rows
    hidden = rows.filter((pl.col("left_behind_status") != "shown") & (pl.col("students") > 0))
    assert hidden.height > 0
    return hidden.sort("school_id")["school_id"][0]


def test_two_cohorts_that_differ_by_one_hidden_school_have_the_same_left_behind_statistics(demo_con):
    from junheng.data import cohort as dc
    from junheng.data.scope import EVERYTHING
    school = _hidden_school(demo_con, "341203", 2025)
    a = _cohort("341203", (2025, 2025))
    b = _cohort("341203", (2025, 2025), f"school_id != {school}")
    found = dc.summaries(demo_con, EVERYTHING, {"a": a, "b": b}, (2025, 2025), MIN,
                         ["left_behind_students", "left_behind_share", "migrant_students"])
    assert found["a"].equals(found["b"])
    # and the difference is real for an exact count: with exact counts the statistics differ (the test can fail)
    exact = dc.summaries(demo_con, EVERYTHING, {"a": a, "b": b}, (2025, 2025), 0, ["left_behind_students"])
    assert not exact["a"].equals(exact["b"])


def test_a_year_range_shifted_by_one_adds_only_that_years_published_counts(demo_con):
    from junheng.data import cohort as dc
    from junheng.data.scope import EVERYTHING
    from junheng.rules import cohort_stats
    both = dc.run(demo_con, _cohort("3412", (2024, 2025)), EVERYTHING, (2024, 2025), MIN).rows
    for years in ((2024, 2025), (2025, 2025)):
        found = dc.summaries(demo_con, EVERYTHING, {"a": _cohort("3412", years)}, years, MIN,
                             ["left_behind_students"])["a"]
        # the statistic is the one of the published rows (hidden counts null), so the difference of the two ranges
        # is a function of 2024's published counts alone
        mine = both.filter(pl.col("year").is_between(*years))
        expected = cohort_stats.summary(mine, ["left_behind_students"])
        assert found["schools"][0] == expected["schools"][0] == mine["left_behind_students"].is_not_null().sum()
        assert found["mean"][0] == pytest.approx(expected["mean"][0])


def test_a_region_minus_its_parts_leaves_no_hidden_count(demo_con):
    from junheng.data import cohort as dc
    from junheng.data.scope import EVERYTHING
    region = dc.run(demo_con, _cohort("3412", (2025, 2025)), EVERYTHING, (2025, 2025), MIN).rows
    counties = sorted(set(region["county_code"]))
    total = region["left_behind_students"].sum()
    parts = sum(dc.run(demo_con, _cohort(c, (2025, 2025)), EVERYTHING, (2025, 2025), MIN).rows[
        "left_behind_students"].sum() for c in counties[1:])
    first = dc.run(demo_con, _cohort(counties[0], (2025, 2025)), EVERYTHING, (2025, 2025), MIN).rows
    # region − the other counties = the first county's published sum: its hidden cells count nowhere
    assert total - parts == first["left_behind_students"].sum()
    assert first["left_behind_students"].null_count() > 0


def test_sorted_rows_never_place_a_hidden_count_by_its_value(demo_con, demo_frame):
    from junheng.data import cohort as dc
    from junheng.data.scope import EVERYTHING
    rows = dc.run(demo_con, _cohort("341203", (2025, 2025)), EVERYTHING, (2025, 2025), MIN).rows
    ordered = rows.sort("left_behind_students", descending=True, nulls_last=True)
    hidden = ordered.filter(pl.col("left_behind_students").is_null())
    assert hidden.height > 0
    # every hidden row after every shown one, and among themselves in the query's order (by school), not by size
    assert ordered["left_behind_students"].tail(hidden.height).null_count() == hidden.height
    assert hidden["school_id"].to_list() == sorted(hidden["school_id"].to_list())


# --- Point 5: the researcher's replication gives the page's rows and published values ---------------------------------

def test_the_rerun_script_gives_the_pages_rows_and_published_values(demo_data, demo_con):
    import os

    import duckdb

    from junheng.data import cohort as dc
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    years = (2024, 2025)
    spec = _cohort("3412", years, "left_behind_students > 3", "urban_rural = 乡村")
    page = dc.run(demo_con, spec, EVERYTHING, years, MIN)
    plan = dc.published_plan(spec, years, MIN)
    script = dc.rerun_script(plan, set(pl.read_parquet_schema(db.snapshot_files(demo_data)[-1])),
                             dc.status_files(demo_data, years, MIN))
    here = os.getcwd()
    try:
        os.chdir(demo_data)
        fresh = duckdb.connect()
        statements = [s for s in script.split(";\n") if s.strip()]
        for statement in statements[:-1]:
            fresh.execute(statement)
        rerun = fresh.sql(statements[-1]).pl()
    finally:
        os.chdir(here)
    assert page.sql_rows > page.rows.height > 0  # the condition on the protected count removed rows after the SQL
    columns = ["school_id", "year", "left_behind_students", "left_behind_share", "migrant_students"]
    assert rerun.select(columns).equals(page.rows.select(columns))
    assert "urban_rural = $c0" in plan.sql and "left_behind_students > $clater0" in plan.sql

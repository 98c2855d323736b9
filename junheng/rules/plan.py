"""达标方案: the cheapest additions that make every assessed school pass the 优质均衡 per-school rule and every
优质均衡 CV fall under its ceiling, solved as a second-order-cone programme (CVXPY with its bundled solver,
Clarabel).

The model, per resource column c and school s: an addition a[s, c] ≥ 0 (m², yuan, teachers, rooms) at unit
cost u[c] (thresholds.toml [costs]); a combined school's addition reaches each level in the share the
evaluation splits it by (facilities by weighted enrolment, teachers and rooms by enrolment).
- Per school and level, each indicator k: value ≥ minimum × (1 − (1 − rest_share) · z[k]) with
  Σ z ≤ 7 − school_min_met: every minimum met but at most one, and that one at least rest_share (85%) of it.
- Per level and indicator, the official CV: the enrolment-weighted standard deviation (a Euclidean norm,
  affine in the additions) ≤ ceiling × the weighted mean (affine too, since enrolments are fixed): a
  second-order cone.
Minimise Σ u[c] · a[s, c].

Clarabel solves continuous problems, so whole teachers and rooms and the choice of the one minimum a school
may leave short are settled in steps: (1) the convex relaxation (z anywhere in [0, 1], teachers and rooms
fractional) gives a lower bound: no plan costs less; (2) each school picks the minimum to leave short (or
none) that costs least in whole units, given what the relaxation adds there for the CVs; (3) with that
choice fixed the cone programme is solved again, teachers and rooms are rounded up to whole units (m² and
yuan to whole ones) and the plan re-checked with the evaluation itself (evaluation.evaluate_county); a
ceiling missed through rounding is solved again with the ceiling tightened a little. The plan reports its
cost beside the bound, so the page can say how far from the cheapest possible it can at most be.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field

import numpy as np
import polars as pl

from junheng import settings
from junheng.rules import evaluation, indicators, rectification

SOLVER = "CLARABEL"
TIGHTEN = (0.0, 1e-4, 1e-3, 1e-2)  # relative tightening of the ceilings when rounding breaks one
ZERO, UNIT_SLACK = 1e-6, 1e-3  # solver noise: relative to a school's need, and in units
# The conic solver meets a floor to about 1e-8 of its size, which for millions of yuan is a few hundredths of a
# yuan below it: rounding up then landed exactly on the minimum and a split school (完全中学) fell short by that.
ROUND_MARGIN = 1e-7


@dataclass(frozen=True)
class Plan:
    """A minimum-cost plan for one county-year.

    changes: school_id, school_name, column, delta, unit_cost, cost (the what-if planner's shape plus costs).
    cost: yuan. lower_bound: the convex relaxation's cost, below which no plan exists (gap: at most how much
    dearer than the cheapest plan this one can be). status: 'planned' (the plan passes), 'nothing' (the
    county passes already) or 'failed' (no passing plan was found). relaxed: (school_id, level) -> the indicator left at ≥ rest_share of its
    minimum. binding: (level, indicator) of the CV ceilings the plan meets with no slack.
    """
    changes: pl.DataFrame
    cost: float
    lower_bound: float
    status: str
    relaxed: dict = field(default_factory=dict)
    binding: tuple = ()

    @property
    def passes(self) -> bool:
        return self.status in ("planned", "nothing")

    @property
    def gap(self) -> float:
        """At most how much the plan costs above the cheapest possible, as a share of the bound."""
        return 0.0 if self.lower_bound <= 0 else max(0.0, self.cost / self.lower_bound - 1.0)


EMPTY_CHANGES = pl.DataFrame(schema={"school_id": pl.String, "school_name": pl.String, "column": pl.String,
                                     "delta": pl.Float64, "unit_cost": pl.Float64, "cost": pl.Float64})


@dataclass
class _Model:
    """The assessed schools and levels of one county-year as arrays."""
    school_ids: list[str]
    school_names: list[str]
    columns: tuple[str, ...]
    keys: tuple[str, ...]
    levels: dict  # level -> rows (school index), school_ids, students, numerator[key], share[key]


def _model(schools: pl.DataFrame, rules: dict) -> _Model:
    values = evaluation.level_values(schools, rules).filter(pl.col("in_quality"))
    inds = indicators.quality_indicators()
    ids = sorted(set(values["school_id"]))
    index = {s: i for i, s in enumerate(ids)}
    names = dict(zip(values["school_id"], values["school_name"]))
    facilities = set(indicators.facility_columns())
    levels = {}
    for level in indicators.LEVELS:
        rows = values.filter(pl.col("level") == level).sort("school_id")
        if rows.is_empty():
            continue
        levels[level] = {
            "rows": np.array([index[s] for s in rows["school_id"]]),
            "school_ids": rows["school_id"].to_list(),
            "students": rows["students"].cast(pl.Float64).to_numpy(),
            "numerator": {i.key: rows[i.numerator].cast(pl.Float64).fill_null(0.0).to_numpy() for i in inds},
            "share": {i.key: rows["level_share" if i.numerator in facilities else "enrolment_share"]
                      .cast(pl.Float64).to_numpy() for i in inds},
        }
    return _Model(ids, [names[s] for s in ids], tuple(i.numerator for i in inds), tuple(i.key for i in inds), levels)


def _need(model: _Model, rules: dict, level: str, key: str) -> np.ndarray:
    """Per row of the level: the resource the school-level must have to meet the minimum (its own unit)."""
    d = model.levels[level]
    return float(rules["minimums"][key][level]) * d["students"] / indicators.by_key(key).scale


def _solve(model: _Model, rules: dict, costs: dict, fixed_z: dict | None, tighten: float):
    """The cone programme; fixed_z None: the relaxation (z in [0, 1]), else z fixed (level -> rows × keys 0/1).

    Returns (additions per column, z per level, cost in yuan, CV dual values) or None when unsolved.
    """
    import cvxpy as cp
    n = len(model.school_ids)
    q = rules["quality"]
    rest = 1.0 - float(q["school_rest_share"])
    free = len(model.keys) - int(q["school_min_met"])  # minimums that may be left short (at ≥ rest_share)
    # Additions in a natural scale per column (what it takes to bring an average school from nothing to the
    # minimum), so the solver sees numbers near 1 whether the unit is a yuan or a teacher.
    scale = {c: max(1.0, float(np.mean([_need(model, rules, lv, k).mean() for lv in model.levels])))
             for c, k in zip(model.columns, model.keys)}
    add = {c: cp.Variable(n, nonneg=True, name=f"add_{c}") for c in model.columns}
    constraints, cv_rows, z = [], [], {}
    for level, d in model.levels.items():
        m = len(d["rows"])
        pick = np.zeros((m, n))
        pick[np.arange(m), d["rows"]] = 1.0
        w = d["students"] / d["students"].sum()
        if fixed_z is None:
            z[level] = cp.Variable((m, len(model.keys)), nonneg=True, name=f"z_{level}")
            constraints += [z[level] <= 1, cp.sum(z[level], axis=1) <= free]
            shortness = z[level]
        else:
            shortness = fixed_z[level]
        ceiling = float(q[level]) * (1.0 - tighten)
        for k, (c, key) in enumerate(zip(model.columns, model.keys)):
            need = _need(model, rules, level, key)
            # value / minimum, affine in the additions: numbers near 1 for the solver
            ratio = d["numerator"][key] / need + cp.multiply(d["share"][key] * scale[c] / need, pick @ add[c])
            constraints.append(ratio >= 1.0 - rest * shortness[:, k])
            mean = w @ ratio
            constraints.append(cp.norm(cp.multiply(np.sqrt(w), ratio - mean), 2) <= ceiling * mean)
            cv_rows.append((level, key, constraints[-1]))
    objective = cp.Minimize(sum(costs[c] * scale[c] * cp.sum(add[c]) for c in model.columns) / 1e4)
    problem = cp.Problem(objective, constraints)
    try:
        problem.solve(solver=SOLVER)
    except cp.error.SolverError:
        return None
    if problem.status not in ("optimal", "optimal_inaccurate"):
        return None
    additions = {c: np.maximum(add[c].value * scale[c], 0.0) for c in model.columns}
    zs = {lv: np.clip(z[lv].value, 0, 1) for lv in z} if fixed_z is None else fixed_z
    duals = {(lv, key): float(np.max(con.dual_value or 0.0)) for lv, key, con in cv_rows}
    return additions, zs, float(problem.value) * 1e4, duals


def _whole(column: str, amount: np.ndarray, need: np.ndarray | float = 1.0) -> np.ndarray:
    """Additions as bought: every resource rounded up to a whole unit (teachers, rooms, m², yuan).

    An addition under a millionth of the school's need is the solver's zero; a thousandth of a unit over a
    whole one is its rounding; ROUND_MARGIN of the school's need is added first, so the solver's tolerance
    never leaves a floor a fraction of a unit short.
    """
    return np.where(amount > ZERO * np.maximum(need, 1.0),
                    np.ceil(amount + ROUND_MARGIN * np.maximum(need, 1.0) - UNIT_SLACK), 0.0)


def _choose_short(model: _Model, rules: dict, costs: dict, relaxed: dict, base: dict) -> dict:
    """Per school, which minimum each of its levels leaves short (or none): the cheapest in whole units.

    base: the relaxation's additions per column where they exceed what the school's own floors asked of it
    (what the CVs ask of the school); a candidate costs what it takes, rounded up to whole units, to reach
    the larger of that and its floors.
    Ties go to the relaxation's own leaning (its z).
    """
    rest = 1.0 - float(rules["quality"]["school_rest_share"])
    free = len(model.keys) - int(rules["quality"]["school_min_met"])
    options = [()] + [c for r in range(1, free + 1) for c in itertools.combinations(range(len(model.keys)), r)]
    fixed = {lv: np.zeros((len(d["rows"]), len(model.keys))) for lv, d in model.levels.items()}
    where = {}  # school index -> [(level, row)]
    for level, d in model.levels.items():
        for r, s in enumerate(d["rows"]):
            where.setdefault(int(s), []).append((level, r))
    for s, places in where.items():
        best = None
        for choice in itertools.product(options, repeat=len(places)):
            total = 0.0
            for k, (c, key) in enumerate(zip(model.columns, model.keys)):
                required = base[c][s]
                for (level, r), short in zip(places, choice):
                    d = model.levels[level]
                    floor = _need(model, rules, level, key)[r] * (1.0 - rest * (k in short))
                    lacking = max(0.0, floor - d["numerator"][key][r])
                    if lacking > 0:
                        required = max(required, lacking / d["share"][key][r])
                total += costs[c] * float(_whole(c, np.array([required]))[0])
            lean = sum(relaxed[level][r, k] for (level, r), short in zip(places, choice) for k in short)
            rank = (round(total, 6), -lean)
            if best is None or rank < best[0]:
                best = (rank, choice)
        for (level, r), short in zip(places, best[1]):
            fixed[level][r, list(short)] = 1.0
    return fixed


def _floor_need(model: _Model, rules: dict, z: dict) -> dict:
    """Per column and school: the addition its floors alone ask for under z (the largest over its levels)."""
    rest = 1.0 - float(rules["quality"]["school_rest_share"])
    out = {}
    for k, (c, key) in enumerate(zip(model.columns, model.keys)):
        need = np.zeros(len(model.school_ids))
        for level, d in model.levels.items():
            floor = _need(model, rules, level, key) * (1.0 - rest * z[level][:, k])
            lacking = np.maximum(floor - d["numerator"][key], 0.0) / np.maximum(d["share"][key], 1e-12)
            np.maximum.at(need, d["rows"], lacking)
        out[c] = need
    return out


def _beyond_floors(model: _Model, rules: dict, additions: dict, z: dict) -> dict:
    """The relaxation's additions where the CVs, not the floors, asked for them (else 0)."""
    floors = _floor_need(model, rules, z)
    return {c: np.where(additions[c] > floors[c] * (1 + 1e-4) + 1e-6, additions[c], 0.0) for c in model.columns}


def _changes(model: _Model, rules: dict, additions: dict, costs: dict) -> pl.DataFrame:
    rows = []
    for c, key in zip(model.columns, model.keys):
        need = np.zeros(len(model.school_ids))
        for level, d in model.levels.items():
            np.maximum.at(need, d["rows"], _need(model, rules, level, key))
        for i, delta in enumerate(_whole(c, additions[c], need)):
            if delta > 0:
                rows.append((model.school_ids[i], model.school_names[i], c, float(delta), costs[c],
                             float(delta) * costs[c]))
    if not rows:
        return EMPTY_CHANGES
    return pl.DataFrame(rows, schema=EMPTY_CHANGES.schema, orient="row").sort("school_id", "column")


def check(schools: pl.DataFrame, changes: pl.DataFrame, rules: dict) -> bool:
    """Whether the schools with these changes pass: every assessed school and every 优质均衡 CV, each level."""
    after = evaluation.evaluate_county(
        evaluation.apply_changes(schools, changes.select("school_id", "column", "delta")), rules)
    return all(level["quality"]["cv_pass"] and all(s["pass"] for s in level["quality"]["schools"])
               for level in after.values())


def plan_cost(changes: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """A plan (school_id, column, delta; e.g. as edited on the page) with unit_cost and cost per row."""
    costs = rectification.unit_costs(rules)
    return changes.with_columns(
        pl.col("column").replace_strict(costs, default=0.0, return_dtype=pl.Float64).alias("unit_cost")).with_columns(
        (pl.col("delta") * pl.col("unit_cost")).alias("cost"))


def minimum_cost_plan(schools: pl.DataFrame, rules: dict | None = None) -> Plan:
    """The cheapest additions (whole teachers and rooms) that make the county pass the 优质均衡 resource part."""
    rules = rules or settings.load_thresholds()
    costs = rectification.unit_costs(rules)
    model = _model(schools, rules)
    if not model.levels or check(schools, EMPTY_CHANGES, rules):
        return Plan(EMPTY_CHANGES, 0.0, 0.0, "nothing")
    relaxation = _solve(model, rules, costs, None, 0.0)
    if relaxation is None:
        return Plan(EMPTY_CHANGES, 0.0, 0.0, "failed")
    additions, relaxed_z, bound, _ = relaxation
    fixed = _choose_short(model, rules, costs, relaxed_z, _beyond_floors(model, rules, additions, relaxed_z))
    changes, duals, passes = EMPTY_CHANGES, {}, False
    for tighten in TIGHTEN:
        solved = _solve(model, rules, costs, fixed, tighten)
        if solved is None:
            break
        additions, _, _, duals = solved
        changes = _changes(model, rules, additions, costs)
        if check(schools, changes, rules):
            passes = True
            break
    relaxed = {(d["school_ids"][r], level): model.keys[k]
               for level, d in model.levels.items() for r, k in zip(*np.nonzero(fixed[level]))}
    cost = float(changes["cost"].sum()) if changes.height else 0.0
    status = "planned" if passes else "failed"
    binding = tuple(k for k, v in duals.items() if abs(v) > 1e-6)
    return Plan(changes, cost, bound, status, relaxed, binding)


# --- the plan over years ----------------------------------------------------------------------------------------

# Items money cannot move, and who acts on them (the 达标方案 lists them as actions with an owner).
OWNERS = {"government": "owner_government", "quality": "owner_schools", "social": "owner_government",
          "veto": "owner_government", "prerequisite": "owner_province", "standards": "owner_government",
          "satisfaction": "owner_government"}
RESOURCE_ITEMS = ("resource_cvs_primary", "resource_schools_primary", "resource_cvs_junior", "resource_schools_junior")


@dataclass(frozen=True)
class Schedule:
    """The 达标方案 over years: which additions happen in which year within an annual budget.

    years: [{"year", "cost", "actions": [{"school_id", "item", "amount", "unit", "cost"}]}]; schools:
    [{"school_id", "cost"}]; resolves: the item keys the additions make pass (checked with the evaluation
    itself after the last year); remains: [{"item", "why"}] for every 优质均衡 item they do not settle.
    feasible: the additions fit the budget by the target year; reachable_year: the first year they fit.
    """
    cost: float
    feasible: bool
    reachable_year: int | None
    years: list
    schools: list
    resolves: list
    remains: list

    def as_json(self) -> dict:
        return {"cost": self.cost, "feasible": self.feasible, "reachable_year": self.reachable_year,
                "years": self.years, "schools": self.schools, "resolves": self.resolves, "remains": self.remains}


def _units(column: str) -> float:
    """Whole units an action is split into between years: a teacher, a room, a m², a yuan of equipment (the plan's
    own whole units, so a year's spending is exactly what its lots cost)."""
    return 1.0


def _split(changes: pl.DataFrame, first: int, last: int, budget: float):
    """Whole units of each change per year (first..last) within budget a year, spending as early as it can:
    scipy.optimize.milp (HiGHS). None when they do not fit."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    rows = changes.to_dicts()
    years = list(range(first, last + 1))
    n, m = len(rows), len(years)
    if n == 0:
        return {}
    lots = [math.ceil(r["delta"] / _units(r["column"])) for r in rows]
    price = [r["cost"] / k for r, k in zip(rows, lots)]  # yuan per lot
    # variable (a, y) at a * m + y: lots of change a bought in year y
    c = np.array([price[a] * (1 + y) for a in range(n) for y in range(m)])
    whole = np.zeros((n, n * m))
    for a in range(n):
        whole[a, a * m:(a + 1) * m] = 1.0
    spend = np.zeros((m, n * m))
    for a in range(n):
        for y in range(m):
            spend[y, a * m + y] = price[a]
    upper = np.repeat(np.array(lots, dtype=float), m)
    for margin in (0.0, 1.0, 100.0):  # the solver's tolerance may overshoot a year by a fraction of a yuan
        constraints = [LinearConstraint(whole, lots, lots), LinearConstraint(spend, 0, budget - margin)]
        result = milp(c, constraints=constraints, integrality=np.ones(n * m), bounds=Bounds(0, upper))
        if result.status != 0 or result.x is None:
            return None
        x = np.round(result.x).reshape(n, m)
        if (x.sum(axis=1) == np.array(lots)).all() and ((x * np.array(price)[:, None]).sum(axis=0) <= budget).all():
            break
    else:
        return None
    return {(a, years[y]): float(x[a, y]) for a in range(n) for y in range(m) if x[a, y] > 0}, rows, lots


def schedule(schools: pl.DataFrame, rules: dict, year: int, target_year: int | None = None,
             budget_per_year: float | None = None, table: pl.DataFrame | None = None,
             lang: str = "zh", horizon: int = 30) -> Schedule:
    """The minimum-cost additions (minimum_cost_plan) scheduled from year + 1 to target_year (default year + 3)
    within budget_per_year yuan (default: no limit); an unreachable target is feasible=False with the first
    year the additions fit. table: the county's self-assessment (what the additions cannot settle is listed)."""
    from junheng.i18n import t
    from junheng.rules import verdicts
    target = target_year if target_year is not None else year + 3
    best = minimum_cost_plan(schools, rules)
    changes = best.changes if best.status == "planned" else EMPTY_CHANGES
    budget = float("inf") if budget_per_year is None else float(budget_per_year)
    total = float(changes["cost"].sum()) if changes.height else 0.0
    split, reachable = None, None
    if changes.height == 0:
        split, reachable = ({}, [], []), year + 1
    else:
        needed = year + max(1, math.ceil(total / budget)) if budget > 0 and math.isfinite(budget) else year + 1
        for last in range(max(year + 1, min(target, needed)), year + horizon + 1):
            if budget != float("inf") and last < needed:
                continue
            split = _split(changes, year + 1, last, budget if math.isfinite(budget) else total + 1.0)
            if split is not None:
                reachable = last
                break
    feasible = split is not None and reachable is not None and reachable <= target
    units = {c: t(f"plan_unit_{c}", lang) for c in rectification.resource_columns()}
    years = []
    if split is not None:
        chosen, rows, lots = split
        amounts = {}  # (change, year) -> amount: whole lots, the change's last year taking what is left
        for a, r in enumerate(rows):
            when = sorted(y for (b, y) in chosen if b == a)
            given = 0.0
            for y in when:
                amount = r["delta"] - given if y == when[-1] else chosen[(a, y)] * _units(r["column"])
                amounts[(a, y)] = amount
                given += amount
        for y in range(year + 1, max(target, reachable or target) + 1):
            actions = [{"school_id": rows[a]["school_id"], "item": rows[a]["column"], "amount": float(amount),
                        "unit": units[rows[a]["column"]], "cost": float(amount * rows[a]["unit_cost"])}
                       for (a, when), amount in sorted(amounts.items()) if when == y]
            years.append({"year": y, "cost": float(sum(x["cost"] for x in actions)), "actions": actions})
    per_school = (changes.group_by("school_id").agg(pl.col("cost").sum()).sort("cost", "school_id",
                                                                             descending=[True, False])
                  if changes.height else pl.DataFrame(schema={"school_id": pl.String, "cost": pl.Float64}))
    resolves = []
    after = evaluation.apply_changes(schools, changes.select("school_id", "column", "delta")) if changes.height \
        else schools
    computed_after = verdicts.computed_items(after, rules)
    for key in RESOURCE_ITEMS:
        row = computed_after.filter(pl.col("item") == key)
        if row.height and row["met"].item():
            resolves.append(key)
    _, parts = verdicts.evaluate(after, rules, table, year=target)
    remains = []
    for part_key, part in parts["quality"].items():
        for key, entry in part["items"].items():
            if key in resolves or entry["met"] is True:
                continue
            it = verdicts.item(key)
            why = t(f"plan_why_{key}", lang) if f"plan_why_{key}" in _known_keys() else t(
                "plan_why_action", lang, owner=t(OWNERS.get(part_key, "owner_government"), lang),
                state=t("plan_why_missing" if entry["met"] is None else "plan_why_failing", lang))
            remains.append({"item": it.key, "why": why})
    return Schedule(total if changes.height else 0.0, feasible, reachable, years,
                    [{"school_id": s, "cost": float(c)} for s, c in per_school.iter_rows()], resolves, remains)


def _known_keys() -> set:
    from junheng.i18n import TEXT
    return set(TEXT)

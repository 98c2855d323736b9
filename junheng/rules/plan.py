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
from junheng.rules import evaluation, indicators, quiet, rectification

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
    county passes already) or 'failed' (no passing plan was found). relaxed: (school_id, level) -> the indicator
    left at ≥ rest_share of its minimum. binding: (level, indicator) of the CV ceilings the plan meets with no
    slack.
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
# The 政府保障程度 items the plan moves besides the resources: places elsewhere for oversized schools, classes
# (rooms and teachers) under the caps, public places for migrant children.
MOVED_ITEMS = ("school_size_cap", "class_size_cap", "migrant_public_share")
# Actions beyond the seven resources: what each is counted in.
EXTRA_ACTIONS = ("places_elsewhere", "classrooms", "class_teachers", "class_rebalance", "migrant_places")
# Paid every year from the hire on (salaries), not once: counted in every later year of the plan.
YEARLY = ("teachers_above_degree", "backbone_teachers", "pe_arts_teachers", "class_teachers")
# [plan] in the thresholds file; these when a province's copy leaves the section or an entry out.
PLAN_DEFAULTS = {"target_years": 3, "budget_per_year": 30_000_000.0, "classroom_m2": 67.0,
                 "teachers_per_class_primary": 1.9, "teachers_per_class_junior": 2.6}


def plan_settings(rules: dict) -> dict:
    """The [plan] settings: the thresholds file's, else PLAN_DEFAULTS."""
    return {**PLAN_DEFAULTS, **rules.get("plan", {})}


def defaults(rules: dict, year: int) -> tuple[int, float]:
    """(target year, budget a year in yuan) the page, the workbook, the deck and `junheng plan` start from."""
    s = plan_settings(rules)
    return year + int(s["target_years"]), float(s["budget_per_year"])


def place_cost(rules: dict, level: str) -> float:
    """Yuan for one new place (学位) at a level built to the 优质均衡 minimums: floor area, sports ground,
    equipment and multimedia rooms per student at their unit costs. Teachers follow the pupils who move."""
    costs = rectification.unit_costs(rules)
    return sum(float(rules["minimums"][i.key][level]) / i.scale * costs[i.numerator]
               for i in indicators.quality_indicators() if "teachers" not in i.numerator)


def action_costs(rules: dict) -> dict[str, float]:
    """Yuan per unit of every action the plan schedules (a teacher: per year employed)."""
    s, costs = plan_settings(rules), rectification.unit_costs(rules)
    return {**costs, "classrooms": float(s["classroom_m2"]) * costs["building_area_m2"],
            "class_teachers": costs["teachers_above_degree"], "class_rebalance": 0.0}


def _counted(schools: pl.DataFrame, rules: dict) -> pl.Expr:
    return pl.lit(True) if rules["rules"]["include_private_schools"] else pl.col("is_public").fill_null(True)


def moves(schools: pl.DataFrame, rules: dict) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The actions that bring the rows under the size caps, the class caps and the migrant share, and the rows
    after them: (actions: school_id, school_name, column, delta, unit_cost, cost; rows after).

    - School size: an oversized school (compulsory students over 2000, or 2500 for 九年/十二年一贯制) sends the
      excess to new places elsewhere, each built to the minimums (place_cost, by the school's level mix).
    - Class size, on the rows after those moves: a level needs ceil(students / cap) classes; each class added
      takes a classroom (classroom_m2 at the building cost) and teachers_per_class teachers (salaried, yearly);
      a level with enough classes but classes of 56+ rebalances them (no cost). The rows have no grades, so a
      level is rebalanced as a whole.
    - Migrant share: public places (built to the minimums) at the public school with most migrant children, for
      enough migrant children now in private schools to reach the item's threshold (in the rows after, the private
      schools with most migrant children send them first), counted from the published cells (see the comment
      below).
    """
    from junheng.rules import verdicts
    s, r, caps = plan_settings(rules), rules["rules"], rules["targets"]
    costs = action_costs(rules)
    per_place = {lv: place_cost(rules, lv) for lv in indicators.LEVELS}
    rows, after = [], schools.with_columns(_counted(schools, rules).alias("_counted"))
    cap = pl.when(pl.col("school_type").is_in(verdicts.COMBINED_TYPES)).then(r["combined_school_max"]).otherwise(
        r["large_school_max"])
    after = after.with_columns(cap.alias("_cap"))
    moved = {}
    for x in after.filter(pl.col("_counted") & ((pl.col("primary_students") + pl.col("junior_students"))
                                                > pl.col("_cap"))).iter_rows(named=True):
        p, j, limit = int(x["primary_students"]), int(x["junior_students"]), int(x["_cap"])
        keep_p = math.floor(p * limit / (p + j))
        keep_j = limit - keep_p
        out_p, out_j = p - keep_p, j - keep_j
        unit_cost = (out_p * per_place["primary"] + out_j * per_place["junior"]) / (out_p + out_j)
        rows.append((x["school_id"], x["school_name"], "places_elsewhere", float(out_p + out_j), unit_cost,
                     out_p * per_place["primary"] + out_j * per_place["junior"]))
        senior = int(x.get("senior_students") or 0)
        moved[x["school_id"]] = (keep_p, keep_j, (limit + senior) / (p + j + senior))
    if moved:
        # What leaves with the pupils (their teachers, their share of rooms and equipment) is what the new places
        # are built with: the school keeps its per-student resources, so only the CV weights change.
        factor = pl.col("school_id").replace_strict({k: v[2] for k, v in moved.items()}, default=1.0,
                                                    return_dtype=pl.Float64)
        after = after.with_columns(
            pl.col("school_id").replace_strict({k: v[0] for k, v in moved.items()}, default=pl.col("primary_students"),
                                               return_dtype=schools.schema["primary_students"]).alias("primary_students"),
            pl.col("school_id").replace_strict({k: v[1] for k, v in moved.items()}, default=pl.col("junior_students"),
                                               return_dtype=schools.schema["junior_students"]).alias("junior_students"),
            *((pl.col(c) * factor).round().cast(schools.schema[c])
              for c in indicators.RESOURCE_COLUMNS if c in schools.columns))
    added = {}
    for x in after.filter(pl.col("_counted")).iter_rows(named=True):
        extra = {lv: max(0, math.ceil((x[f"{lv}_students"] or 0) / caps[f"{lv}_class_max"]) - (x[f"{lv}_classes"] or 0))
                 for lv in indicators.LEVELS}
        large = (x["classes_56_65"] or 0) + (x["classes_66_plus"] or 0)
        if sum(extra.values()):
            rooms = float(sum(extra.values()))
            teachers = float(math.ceil(sum(extra[lv] * float(s[f"teachers_per_class_{lv}"]) for lv in extra) - 1e-9))
            rows += [(x["school_id"], x["school_name"], "classrooms", rooms, costs["classrooms"],
                      rooms * costs["classrooms"]),
                     (x["school_id"], x["school_name"], "class_teachers", teachers, costs["class_teachers"],
                      teachers * costs["class_teachers"])]
        elif large:
            rows.append((x["school_id"], x["school_name"], "class_rebalance", float(large), 0.0, 0.0))
        if sum(extra.values()) or large:
            added[x["school_id"]] = extra
    if added:
        after = after.with_columns(
            *(pl.col(f"{lv}_classes") + pl.col("school_id").replace_strict(
                {k: v[lv] for k, v in added.items()}, default=0, return_dtype=schools.schema[f"{lv}_classes"])
              for lv in indicators.LEVELS),
            *(pl.when(pl.col("school_id").is_in(list(added))).then(0).otherwise(pl.col(c)).cast(schools.schema[c])
              .alias(c) for c in ("classes_56_65", "classes_66_plus")))
    threshold = float(verdicts.threshold(verdicts.item("migrant_public_share"), rules))
    public = after.filter(pl.col("is_public").fill_null(False))
    total = float(after["migrant_students"].fill_null(0).sum())
    in_public = float(public["migrant_students"].fill_null(0).sum())
    # The places are worked out from what is published (issue 23): where the public parts' sum is hidden, from its
    # least published bound (more places than the exact counts would ask, never fewer); where the county total is
    # hidden, none (the county counts them: the item stays in `remains`). The places are one action of the public
    # school with most migrant children: a row per private school gave each school's migrant count back.
    known = verdicts.migrant_public_known(schools, int(rules["privacy"]["min_count"]))
    if known is not None:
        total, in_public = (float(known[2]), float(known[0])) if known[2] is not None else (0.0, 0.0)
    lacking = math.ceil(threshold * total - in_public - 1e-9)
    if lacking > 0 and public.height:
        students = float(after["primary_students"].sum() + after["junior_students"].sum()) or 1.0
        mix = (float(after["primary_students"].sum()) * per_place["primary"]
               + float(after["junior_students"].sum()) * per_place["junior"]) / students
        host = public.sort(["migrant_students", "school_id"], descending=[True, False], nulls_last=True).row(
            0, named=True)
        rows.append((host["school_id"], host["school_name"], "migrant_places", float(lacking), mix, lacking * mix))
        taken = {}  # the children who take the places, from the private schools with most first (rows after)
        for x in after.filter(~pl.col("is_public").fill_null(False)).sort("migrant_students", descending=True,
                                                                            nulls_last=True).iter_rows(named=True):
            n = min(lacking, int(x["migrant_students"] or 0))
            if n <= 0:
                break
            taken[x["school_id"]] = n
            lacking -= n
        gain = {**{k: -v for k, v in taken.items()}, host["school_id"]: sum(taken.values())}
        after = after.with_columns((pl.col("migrant_students") + pl.col("school_id").replace_strict(
            gain, default=0, return_dtype=schools.schema["migrant_students"])).alias("migrant_students"))
    actions = (pl.DataFrame(rows, schema=EMPTY_CHANGES.schema, orient="row") if rows else EMPTY_CHANGES)
    return actions, after.drop("_counted", "_cap")


@dataclass(frozen=True)
class Schedule:
    """The 达标方案 over years: which additions happen in which year within an annual budget.

    years: [{"year", "cost", "actions": [{"school_id", "item", "amount", "unit", "cost"}], "salaries": [...]}]:
    actions are what is bought or hired that year; salaries what the teachers hired in earlier years of the plan
    cost that year (a teacher is paid every year, not once), both in the year's cost. schools: [{"school_id",
    "cost"}]; resolves: the item keys the actions make pass (checked with the evaluation itself on the rows after
    them); remains: [{"item", "why"}] for every 优质均衡 item they do not settle. feasible: the actions fit the budget
    by the target year; reachable_year: the first year they fit (None: in no year of the horizon, because the
    salaries alone exceed the budget: the years are then laid out with budget_needed, scheduled_budget says
    which); budget_needed: the least budget a year that reaches the target; recurring: what the plan's teachers
    cost every year after it.
    """
    cost: float
    feasible: bool
    reachable_year: int | None
    years: list
    schools: list
    resolves: list
    remains: list
    budget_per_year: float | None = None
    target_year: int | None = None
    budget_needed: float | None = None
    recurring: float = 0.0
    caveats: list = field(default_factory=list)
    scheduled_budget: float | None = None  # the budget a year the years are laid out with (budget_needed when
    #                                        no year fits budget_per_year)

    def as_json(self) -> dict:
        return {"cost": self.cost, "feasible": self.feasible, "reachable_year": self.reachable_year,
                "target_year": self.target_year, "budget_per_year": self.budget_per_year,
                "scheduled_budget": self.scheduled_budget,
                "budget_needed": self.budget_needed, "recurring": self.recurring,
                "years": self.years, "schools": self.schools, "resolves": self.resolves, "remains": self.remains,
                "caveats": self.caveats}


def _units(column: str) -> float:
    """Whole units an action is split into between years: a teacher, a room, a m², a yuan of equipment (the plan's
    own whole units, so a year's spending is exactly what its lots cost)."""
    return 1.0


def _programme(rows: list[dict], m: int):
    """The schedule as a linear programme over m years: variable (a, y) at a * m + y, the lots of action a bought
    in year y. Returns (lots, spend matrix m × n·m: what year y pays, a salary in every year from the hire on)."""
    n = len(rows)
    lots = [math.ceil(r["delta"] / _units(r["column"]) - 1e-9) for r in rows]
    price = [r["cost"] / k if k else 0.0 for r, k in zip(rows, lots)]
    spend = np.zeros((m, n * m))
    for a, r in enumerate(rows):
        for y in range(m):
            if r["column"] in YEARLY:
                spend[y:, a * m + y] = price[a]
            else:
                spend[y, a * m + y] = price[a]
    return lots, price, spend


def _split(changes: pl.DataFrame, first: int, last: int, budget: float):
    """Whole units of each action per year (first..last) within budget a year, a salary counted in every year from
    the hire to last: scipy.optimize.milp (HiGHS), the least spending over the years, one-off purchases as early
    as they fit. None when they do not fit."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    rows = changes.to_dicts()
    years = list(range(first, last + 1))
    n, m = len(rows), len(years)
    if n == 0:
        return {}, [], []
    lots, price, spend = _programme(rows, m)
    c = spend.sum(axis=0) * (1 + 1e-4 * np.tile(np.arange(m), n))  # early purchases win a tie
    whole = np.zeros((n, n * m))
    for a in range(n):
        whole[a, a * m:(a + 1) * m] = 1.0
    upper = np.repeat(np.array(lots, dtype=float), m)
    for margin in (0.0, 1.0, 100.0):  # the solver's tolerance may overshoot a year by a fraction of a yuan
        constraints = [LinearConstraint(whole, lots, lots), LinearConstraint(spend, 0, budget - margin)]
        with quiet.stdout_to_stderr():
            result = milp(c, constraints=constraints, integrality=np.ones(n * m), bounds=Bounds(0, upper))
        if result.status != 0 or result.x is None:
            return None
        x = np.round(result.x)
        if (x.reshape(n, m).sum(axis=1) == np.array(lots)).all() and (spend @ x <= budget).all():
            break
    else:
        return None
    x = x.reshape(n, m)
    return {(a, years[y]): float(x[a, y]) for a in range(n) for y in range(m) if x[a, y] > 0}, rows, lots


def _budget_needed(changes: pl.DataFrame, years: int) -> float | None:
    """The least budget a year that fits the actions into `years` years (milp: minimise the dearest year)."""
    from scipy.optimize import Bounds, LinearConstraint, milp
    rows = changes.to_dicts()
    if not rows or years < 1:
        return 0.0 if not rows else None
    n, m = len(rows), years
    lots, _, spend = _programme(rows, m)
    whole = np.zeros((n, n * m + 1))
    for a in range(n):
        whole[a, a * m:(a + 1) * m] = 1.0
    under = np.hstack([spend, -np.ones((m, 1))])  # every year's spending − B ≤ 0
    c = np.zeros(n * m + 1)
    c[-1] = 1.0
    upper = np.append(np.repeat(np.array(lots, dtype=float), m), np.inf)
    with quiet.stdout_to_stderr():
        result = milp(c, constraints=[LinearConstraint(whole, lots, lots), LinearConstraint(under, -np.inf, 0)],
                      integrality=np.append(np.ones(n * m), 0), bounds=Bounds(0, upper))
    if result.status != 0 or result.x is None:
        return None
    x = np.round(result.x[:-1])
    return float(math.ceil((spend @ x).max() / 10_000) * 10_000)  # to the next 万元, as a budget is set


def schedule(schools: pl.DataFrame, rules: dict, year: int, target_year: int | None = None,
             budget_per_year: float | None = None, table: pl.DataFrame | None = None,
             lang: str = "zh", horizon: int = 30, best: Plan | None = None) -> Schedule:
    """The actions that make the county pass every item money can move, scheduled from year + 1 to target_year
    within budget_per_year yuan (defaults: [plan] in the thresholds file; None budget: no limit).

    The actions: places elsewhere, classes, rooms and teachers and migrant places (moves), then the minimum-cost
    resource additions (minimum_cost_plan) on the rows after those moves. An unreachable target is
    feasible=False with the first year the actions fit (None when no year of the horizon does) and the budget a
    year that would reach the target. table: the county's self-assessment (what the actions cannot settle is
    listed with its owner). best: the resource plan when it was solved already on these rows.
    """
    from junheng.i18n import t
    from junheng.rules import verdicts
    default_target, default_budget = defaults(rules, year)
    target = target_year if target_year is not None else default_target
    budget = default_budget if budget_per_year is None else float(budget_per_year)
    extra, moved = moves(schools, rules)
    if best is None or extra.filter(pl.col("column") == "places_elsewhere").height:
        best = minimum_cost_plan(moved, rules)
    resource = best.changes if best.status == "planned" else EMPTY_CHANGES
    changes = pl.concat([extra, resource]).sort("school_id", "column")
    needed = year + 1
    if changes.height:
        salaries = float(changes.filter(pl.col("column").is_in(YEARLY))["cost"].sum())
        once = float(changes["cost"].sum())
        if math.isfinite(budget) and budget > 0:
            needed = year + max(1, math.ceil(once / budget))  # each action is paid for at least once
    split, reachable = ({}, [], []), year + 1
    if changes.height:
        split, reachable = None, None
        if salaries <= budget:  # else the new teachers' salaries alone exceed every year's budget
            for last in range(max(year + 1, min(target, needed)), year + horizon + 1):
                if last < needed:
                    continue
                split = _split(changes, year + 1, last, budget)
                if split is not None:
                    reachable = last
                    break
    feasible = split is not None and reachable is not None and reachable <= target
    needed_budget = None if feasible else _budget_needed(changes, target - year)
    scheduled_budget = budget
    if split is None and needed_budget is not None:
        # No year fits the budget: the years shown are those at the least budget that reaches the target.
        split = _split(changes, year + 1, target, needed_budget)
        scheduled_budget = needed_budget if split is not None else budget
    units = {c: t(f"plan_unit_{c}", lang) for c in (*rectification.resource_columns(), *EXTRA_ACTIONS)}
    years, recurring = [], 0.0
    per_school: dict[str, float] = {}
    if split is not None:
        chosen, rows, lots = split
        amounts = {}  # (action, year) -> amount: whole lots, the action's last year taking what is left
        for a, r in enumerate(rows):
            when = sorted(y for (b, y) in chosen if b == a)
            given = 0.0
            for y in when:
                amount = r["delta"] - given if y == when[-1] else chosen[(a, y)] * _units(r["column"])
                amounts[(a, y)] = amount
                given += amount
        employed: dict[int, float] = {}  # action -> teachers on the payroll from earlier years
        for y in range(year + 1, max(target, reachable or target) + 1):
            actions = [{"school_id": rows[a]["school_id"], "item": rows[a]["column"], "amount": float(amount),
                        "unit": units[rows[a]["column"]], "cost": float(amount * rows[a]["unit_cost"])}
                       for (a, when), amount in sorted(amounts.items()) if when == y]
            paid = [{"school_id": rows[a]["school_id"], "item": rows[a]["column"], "amount": float(n),
                     "unit": units[rows[a]["column"]], "cost": float(n * rows[a]["unit_cost"])}
                    for a, n in sorted(employed.items()) if n > 0]
            for x in actions + paid:
                per_school[x["school_id"]] = per_school.get(x["school_id"], 0.0) + x["cost"]
            years.append({"year": y, "cost": float(sum(x["cost"] for x in actions + paid)), "actions": actions,
                          "salaries": paid})
            for (a, when), amount in amounts.items():
                if when == y and rows[a]["column"] in YEARLY:
                    employed[a] = employed.get(a, 0.0) + amount
    else:  # no year of the horizon fits: what each school's actions cost once
        for r in changes.iter_rows(named=True):
            per_school[r["school_id"]] = per_school.get(r["school_id"], 0.0) + r["cost"]
    # every hire is made by the end of the plan: what they cost every year after it
    recurring = float(changes.filter(pl.col("column").is_in(YEARLY))["cost"].sum()) if changes.height else 0.0
    after = evaluation.apply_changes(moved, resource.select("school_id", "column", "delta")) if resource.height \
        else moved
    computed_after = dict(verdicts.computed_items(after, rules).select("item", "met").iter_rows())
    values_after = dict(verdicts.school_row_items(after, rules).select("item", "value").iter_rows())
    resolves = [k for k in RESOURCE_ITEMS if computed_after.get(k)]
    resolves += [k for k in MOVED_ITEMS if verdicts.is_met(verdicts.item(k), values_after.get(k), rules)
                 or (k == "migrant_public_share" and values_after.get(k) is None)]
    # A bound shows a pass only in the direction it proves: the rows after the plan show no class over the cap,
    # but the classes of 46-55 they cannot see must be counted by the county.
    caveats = [{"item": k, "why": t(f"plan_caveat_{k}", lang)} for k in resolves
               if verdicts.item(k).bound != "exact" and not verdicts.proves(verdicts.item(k), True)]
    if (changes.height and "migrant_places" in set(changes["column"])
            and verdicts.migrant_public_known(schools, int(rules["privacy"]["min_count"])) is not None):
        caveats.append({"item": "migrant_public_share", "why": t("plan_caveat_migrant_published", lang)})
    _, parts = verdicts.evaluate(after, rules, table, year=target)
    remains = []
    for part_key, part in parts["quality"].items():
        for key, entry in part["items"].items():
            if entry["met"] is True or (key in resolves and entry["met"] is not False):
                continue
            it = verdicts.item(key)
            why = t(f"plan_why_{key}", lang) if f"plan_why_{key}" in _known_keys() else t(
                "plan_why_action", lang, owner=t(OWNERS.get(part_key, "owner_government"), lang),
                state=t("plan_why_missing" if entry["met"] is None else "plan_why_failing", lang))
            remains.append({"item": it.key, "why": why})
    total = float(sum(y["cost"] for y in years)) if years else float(changes["cost"].sum()) if changes.height else 0.0
    return Schedule(total, feasible, reachable, years,
                    [{"school_id": s, "cost": c} for s, c in sorted(per_school.items(), key=lambda x: (-x[1], x[0]))],
                    resolves, remains, budget, target, needed_budget, recurring, caveats, scheduled_budget)


def _known_keys() -> set:
    from junheng.i18n import TEXT
    return set(TEXT)

"""The reader's strongest attack on published counts, and the check that it learns nothing (as τ-ARGUS audits a table).

A reader of one county-year's published counts knows: every shown cell exactly, every small cell ("<5") is a whole
number from 1 to min_count − 1, every withheld cell ("*") a whole number ≥ 0, and every published sum
(total = sum of its parts). Minimising and maximising each hidden cell over all of that at once (a mixed-integer
program, HiGHS through `scipy.optimize.milp`) gives the most the reader can learn about it. The counts are safe
when every small cell can still be anything from 1 to min_count − 1, and every withheld cell takes at least
min_count values.

Each solution the solver returns is a table the reader cannot tell from the true one, so it shows a value each
hidden cell can take: those are kept (`seen`) and a bound already shown to be wide enough is never solved for.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from junheng.rules import quiet

SHOWN, SMALL, WITHHELD, FREE = 0, 1, 2, 3  # FREE: a cell never published and in no sum the reader sees
UNBOUNDED = 10 ** 7  # "no upper bound" for a withheld cell (the published sums bound it anyway)


@dataclass
class Table:
    """One county-year-measure as a reader sees it. value: the true counts (the solver's starting point, never
    read for a hidden cell's bounds); status: SHOWN, SMALL, WITHHELD or FREE per cell; sums: (total, parts) cell
    indices."""
    value: np.ndarray
    status: np.ndarray
    sums: list[tuple[int, np.ndarray]]
    # per cell, the lowest and highest value it takes in the solutions seen (its true value until then)
    seen_low: np.ndarray = field(init=False)
    seen_high: np.ndarray = field(init=False)
    audited: bool = False  # audited once already (the first audit starts with a few broad objectives)
    # per cell, a number shared by the cells in exactly the same sums with the same signs (−1: in no sum); worked out
    # when first needed, or given by whoever built the table from a larger system (privacy.repair)
    same_sums: np.ndarray | None = None
    _terms: tuple | None = None
    _spans: tuple | None = None  # (min_count, the small cells, spans) of the last `spans` call

    def __post_init__(self):
        self.seen_low = np.asarray(self.value).astype(np.int64)
        self.seen_high = self.seen_low.copy()

    def saw(self, cells: np.ndarray, values: np.ndarray) -> None:
        """Values these (distinct) cells take in a table the reader cannot tell from the true one."""
        self.seen_low[cells] = np.minimum(self.seen_low[cells], values)
        self.seen_high[cells] = np.maximum(self.seen_high[cells], values)

    def groups(self) -> np.ndarray:
        """`same_sums`, worked out once per table (the statuses change between audits, the sums do not)."""
        if self.same_sums is None:
            sums, cells, coefs = self.terms()
            self.same_sums = np.full(len(self.value), -1, dtype=np.int64)
            if len(cells):
                present, group = _same_sums(cells, sums, coefs)
                self.same_sums[present] = group
        return self.same_sums

    def terms(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The sums as triples (sum, cell, coefficient): total − Σ parts = 0."""
        if self._terms is None:
            sizes = np.array([1 + len(parts) for _, parts in self.sums], dtype=np.int64)
            cells = np.concatenate([np.r_[total, parts] for total, parts in self.sums]).astype(np.int64) \
                if self.sums else np.zeros(0, dtype=np.int64)
            first = np.r_[0, np.cumsum(sizes)[:-1]] if len(sizes) else sizes
            coefs = -np.ones(len(cells))
            coefs[first] = 1.0
            self._terms = (np.repeat(np.arange(len(sizes)), sizes), cells, coefs)
        return self._terms


def _needs(status: int, low: int, high: int, min_count: int, span: int) -> tuple[bool, bool]:
    """(the maximum must be solved for, the minimum must be) given the values seen so far."""
    if status == SMALL:
        return high < min_count - 1, low > 1
    wide = high - low >= span
    return not wide, not wide


def spans(table: Table, min_count: int) -> np.ndarray:
    """How far apart each withheld cell's lowest and highest value must be: min_count − 1 (min_count values), or
    less where the "<5" marks alone bound the cell, whatever else is published: then one less than that bound, at
    least 1. The bound is the marks' interval arithmetic: a "<5" cell is at most min_count − 1 and at least 1, a part
    at most its total's bound less 1 for each other "<5" part, a total at most the sum of its parts' bounds. (A "<5"
    total with one other "<5" part leaves a part 0..3: it must stay 2 wide; a group total that is that one part,
    too.)"""
    small = table.status == SMALL
    if table._spans is not None and table._spans[0] == min_count and np.array_equal(table._spans[1], small):
        return table._spans[2]  # they depend on the small cells alone (the repair asks once per cell)
    need = span_need(small, *table.terms(), len(table.sums), min_count)
    need.setflags(write=False)  # kept for the next call, so not to be changed by this one's caller
    table._spans = (min_count, small, need)
    return need


def span_need(small: np.ndarray, sums: np.ndarray, cells: np.ndarray, coefs: np.ndarray, n_sums: int,
              min_count: int) -> np.ndarray:
    """`spans` of any cells given which are small and the sums as triples (sum, cell, coefficient: +1 the total, −1
    a part): for one table, or a whole system of counties at once (privacy's first pass)."""
    upper = np.where(small, float(min_count - 1), np.inf)
    lower = small.astype(float)
    total = coefs > 0
    for _ in range(len(small)):
        part_upper = np.bincount(sums[~total], weights=np.minimum(upper[cells[~total]], 1e9), minlength=n_sums)
        part_lower = np.bincount(sums[~total], weights=lower[cells[~total]], minlength=n_sums)
        before = upper.copy()
        np.minimum.at(upper, cells[total], np.where(part_upper >= 1e9, np.inf, part_upper)[sums[total]])
        total_upper = np.full(n_sums, np.inf)
        total_upper[sums[total]] = upper[cells[total]]
        np.minimum.at(upper, cells[~total],
                      total_upper[sums[~total]] - (part_lower[sums[~total]] - lower[cells[~total]]))
        if np.array_equal(before, upper):
            break
    need = np.full(len(small), min_count - 1)
    bounded = np.isfinite(upper)
    need[bounded] = np.clip(upper[bounded] - 1, 1, min_count - 1).astype(np.int64)
    return need


def audit(table: Table, min_count: int, first_only: bool = False) -> list[tuple[int, int, int]]:
    """The unsafe hidden cells as (cell, lowest, highest value the reader can prove), in cell order.
    first_only: stop at the first (the repair loop re-audits after each change)."""
    hidden = np.flatnonzero(table.status != SHOWN)
    if len(hidden) == 0:
        return []
    local = np.full(len(table.value), -1)
    local[hidden] = np.arange(len(hidden))
    sums, cells, coef = table.terms()
    unknown = local[cells] >= 0
    count = np.bincount(sums[unknown], minlength=len(table.sums))
    known = np.bincount(sums[~unknown], weights=(coef * table.value[cells])[~unknown], minlength=len(table.sums))
    # a sum with one hidden cell gives that cell away: no solver needed
    pinned = set(cells[unknown & (count[sums] == 1)].tolist())
    used = np.flatnonzero(count > 0)
    row_of = np.full(len(table.sums), -1)
    row_of[used] = np.arange(len(used))
    rows, cols, coefs = row_of[sums[unknown]], local[cells[unknown]], coef[unknown]
    rhs = -known[used]
    status = table.status[hidden]
    truth = table.value[hidden].astype(np.int64)
    low, high = table.seen_low[hidden], table.seen_high[hidden]  # copies (fancy indexing)
    span = spans(table, min_count)[hidden]
    # two hidden cells are in the same published sums if they are in the same sums of the table: a sum a hidden cell
    # is in has a hidden cell, so none of its sums is left out of the program
    hidden_groups = table.groups()[hidden]
    present = np.flatnonzero(hidden_groups >= 0)
    low, high = _twins(cols, rows, coefs, status, truth, low, high, min_count, (present, hidden_groups[present]))
    solver = bounds = None  # built when first needed: the witnesses often settle every cell without either

    def reader_bounds():
        """What the reader's arithmetic bounds each cell by: a value seen at that bound is the cell's optimum."""
        nonlocal bounds
        if bounds is None:
            bounds = _outer_bounds(rows, cols, coefs, rhs, status, min_count)
        return bounds

    def solve(objective, attained=None):
        nonlocal solver
        if solver is None:
            solver = _Solver(status, min_count, rows, cols, coefs, rhs)
        return solver.solve(objective, attained)
    if not table.audited:  # a few broad objectives first: their solutions settle most cells without a solve each
        auditable = ((status == SMALL) | (status == WITHHELD)).astype(float)
        alternate = np.where(np.arange(len(hidden)) % 2 == 0, 1.0, -1.0)
        for weights in (auditable * 1.0, -auditable * 1.0, auditable * alternate, -auditable * alternate):
            up, down = _open(status, low, high, min_count, span)
            if not (up | down).any():
                break
            floor, ceiling = reader_bounds()
            if not ((up & (high < ceiling)) | (down & (low > floor))).any():
                break
            x = solve(weights)
            if x is not None:
                low, high = np.minimum(low, x), np.maximum(high, x)
    # Only a cell still open, or pinned, can be unsafe: a solution only widens what was seen, so a cell settled now
    # stays settled (the loop below over these alone, in cell order, is the loop over every hidden cell).
    up, down = _open(status, low, high, min_count, span)
    is_pinned = np.zeros(len(hidden), dtype=bool)
    is_pinned[local[list(pinned)]] = True
    candidate = ((up | down) & (status != FREE)) | is_pinned
    unsafe = []
    for j in np.flatnonzero(candidate).tolist():
        cell = hidden[j]
        if status[j] == FREE:
            continue
        if is_pinned[j]:
            unsafe.append((int(cell), int(truth[j]), int(truth[j])))
            if first_only:
                break
            continue
        for sign in (1.0, -1.0):  # the maximum first: for a withheld cell it usually settles the question
            need_max, need_min = _needs(status[j], low[j], high[j], min_count, span[j])
            if not (need_max if sign > 0 else need_min):
                continue
            floor, ceiling = reader_bounds()
            if (high[j] >= ceiling[j]) if sign > 0 else (low[j] <= floor[j]):
                continue  # the value seen is the bound the reader can prove: the optimum already
            objective = np.zeros(len(hidden))
            objective[j] = -sign
            x = solve(objective, attained=-high[j] if sign > 0 else low[j])
            if x is not None:
                low, high = np.minimum(low, x), np.maximum(high, x)
        if any(_needs(status[j], low[j], high[j], min_count, span[j])):
            unsafe.append((int(cell), int(low[j]), int(high[j])))
            if first_only:
                break
    table.seen_low[hidden], table.seen_high[hidden] = low, high
    table.audited = True
    if solver is not None:
        _give_back(solver.highs)
    return unsafe


def _twins(cols, rows, coefs, status, truth, low, high, min_count, groups=None):
    """Values the hidden cells can take, found without a solver: two hidden cells in exactly the same published
    sums, with the same signs (two schools of one township, 城乡 group, type and boarding), move against each other
    — one up by k, the other down by k — and every sum still holds. Each such move within the cells' own bounds
    ("<5": 1..min_count − 1, else ≥ 0) is a table the reader cannot tell from the true one. Each cell moves with the
    twin that lets it go furthest (the first in cell order among equals). groups: `_same_sums(cols, rows, coefs)`
    when the caller knows it already."""
    low, high = low.copy(), high.copy()
    if len(cols) == 0:
        return low, high
    present, group = _same_sums(cols, rows, coefs) if groups is None else groups
    size = np.bincount(group)
    twinned = size[group] >= 2
    if not twinned.any():
        return low, high
    m, g = present[twinned], group[twinned]  # the cells with a twin (ascending), their groups
    lower = np.where(status[m] == SMALL, 1, 0)
    upper = np.where(status[m] == SMALL, min_count - 1, UNBOUNDED)
    give = truth[m] - lower   # how far each can go down (so a twin goes up)
    take = upper - truth[m]   # how far each can go up (so a twin goes down)
    at = np.arange(len(m))

    def two_best(amount):
        """Per cell, the position of the other cell of its group with the most `amount` (the first among equals)."""
        ranked = np.lexsort((at, -amount, g))
        head = np.flatnonzero(np.concatenate(([True], g[ranked][1:] != g[ranked][:-1])))
        best, second = np.empty(g.max() + 1, np.int64), np.empty(g.max() + 1, np.int64)
        best[g[ranked[head]]], second[g[ranked[head]]] = ranked[head], ranked[head + 1]
        return np.where(at == best[g], second[g], best[g])
    d_up = two_best(give)    # the twin that lets each go highest
    d_down = two_best(take)  # ... and lowest
    k_up = np.minimum(give[d_up], take)
    k_down = np.minimum(take[d_down], give)
    np.maximum.at(high, m, truth[m] + k_up)
    np.minimum.at(low, m[d_up], truth[m[d_up]] - k_up)
    np.minimum.at(low, m, truth[m] - k_down)
    np.maximum.at(high, m[d_down], truth[m[d_down]] + k_down)
    return low, high


def _same_sums(cols, rows, coefs) -> tuple[np.ndarray, np.ndarray]:
    """The cells in any sum (ascending) and a group number for each: cells of a group are in exactly the same sums
    with the same signs."""
    # each cell's sums as one row of a table (1 + 2 × sum + sign, in order; 0 past its last): equal rows, one group
    order = np.lexsort((coefs, rows, cols))
    c_sorted = cols[order]
    first = np.flatnonzero(np.concatenate(([True], c_sorted[1:] != c_sorted[:-1])))
    degree = np.diff(np.append(first, len(c_sorted)))
    width, base = int(degree.max()), 2 * int(rows.max()) + 3
    signature = np.zeros((len(first), width), dtype=np.int64)
    signature[np.repeat(np.arange(len(first)), degree), np.arange(len(c_sorted)) - np.repeat(first, degree)] = \
        rows[order] * 2 + (coefs[order] > 0) + 1
    if base ** width < 2 ** 62:  # each row as one number (digits in base `base`): a 1-d sort, not a row sort
        _, group = np.unique(signature @ (base ** np.arange(width, dtype=np.int64)), return_inverse=True)
        return c_sorted[first], group.ravel()
    # too many sums for that (a whole system's): the rows sorted column by column (np.unique(axis=0) took 5× longer)
    rows_order = np.lexsort(signature.T[::-1])
    ordered = signature[rows_order]
    group = np.empty(len(first), dtype=np.int64)
    group[rows_order] = np.cumsum(np.concatenate(([True], (ordered[1:] != ordered[:-1]).any(axis=1)))) - 1
    return c_sorted[first], group


def _outer_bounds(rows, cols, coefs, rhs, status, min_count, rounds: int = 30) -> tuple[np.ndarray, np.ndarray]:
    """Bounds on every hidden cell that hold in every table the reader cannot tell from the true one: each sum's
    other cells' bounds, repeated (interval arithmetic over whole numbers). Any round's bounds are valid; more
    rounds only tighten them."""
    lo = np.where(status == SMALL, 1.0, 0.0)
    hi = np.where(status == SMALL, float(min_count - 1), float(UNBOUNDED))
    if len(rows) == 0:
        return lo, hi
    positive = coefs > 0
    n_rows = len(rhs)
    for _ in range(rounds):
        t_lo = np.where(positive, lo[cols], -hi[cols])
        t_hi = np.where(positive, hi[cols], -lo[cols])
        s_lo = np.bincount(rows, t_lo, n_rows)[rows] - t_lo  # the other terms of the row
        s_hi = np.bincount(rows, t_hi, n_rows)[rows] - t_hi
        x_lo = np.where(positive, rhs[rows] - s_hi, s_lo - rhs[rows])  # coef · x = rhs − the others
        x_hi = np.where(positive, rhs[rows] - s_lo, s_hi - rhs[rows])
        new_lo, new_hi = lo.copy(), hi.copy()
        np.maximum.at(new_lo, cols, np.ceil(x_lo - 1e-6))
        np.minimum.at(new_hi, cols, np.floor(x_hi + 1e-6))
        if np.array_equal(new_lo, lo) and np.array_equal(new_hi, hi):
            break
        lo, hi = new_lo, new_hi
    return lo, hi


def _open(status, low, high, min_count, span) -> tuple[np.ndarray, np.ndarray]:
    """Per hidden cell: (its maximum must still be solved for, its minimum must), from the values seen so far."""
    small, withheld = status == SMALL, status == WITHHELD
    narrow = withheld & (high - low < span)
    return (small & (high < min_count - 1)) | narrow, (small & (low > 1)) | narrow


class _Solver:
    """The reader's integer program for one table, kept in HiGHS between objectives (building it once per
    table instead of once per solve; scipy.optimize.milp builds it anew each call)."""

    def __init__(self, status, min_count, rows, cols, coefs, rhs):
        n = len(status)
        self.highs = _highs(np.zeros(n), np.where(status == SMALL, 1.0, 0.0),
                            np.where(status == SMALL, float(min_count - 1), float(UNBOUNDED)), rhs, rows, cols, coefs,
                            _AUDIT_OPTIONS)
        self.n = n
        self.indices = np.arange(n, dtype=np.int32)

    def solve(self, objective: np.ndarray, attained: float | None = None) -> np.ndarray | None:
        """A whole-number solution minimising objective · x (a table the reader cannot tell from the true one).
        The linear relaxation first (a warm-started simplex, well under a millisecond): its optimum is very often
        whole, and then it is the integer program's optimum too; otherwise the integer program is solved.
        attained: objective · x of a whole-number solution already seen (objective of whole numbers). When the
        relaxation's optimum, rounded up, reaches it, no whole-number solution does better: that seen value is the
        integer program's optimum, and None is returned instead of solving it. Without attained (a broad
        objective, solved for its witnesses only), a fractional relaxation returns None too: its integer program
        (~1 ms) would only find more witnesses."""
        import highspy
        self.highs.changeColsCost(self.n, self.indices, np.asarray(objective, dtype=float))
        x = self._run()
        whole = np.rint(x)
        if (np.abs(x - whole) > 1e-6).any():
            if attained is None or np.ceil(self.highs.getObjectiveValue() - 1e-6) >= attained:
                return None
            self.highs.changeColsIntegrality(self.n, self.indices, np.full(self.n, highspy.HighsVarType.kInteger))
            self.highs.setOptionValue("presolve", "on")  # an integer program's presolve pays: −26% of its time
            with quiet.stdout_to_stderr():
                whole = np.rint(self._run())
            self.highs.setOptionValue("presolve", "off")
            self.highs.changeColsIntegrality(self.n, self.indices, np.full(self.n, highspy.HighsVarType.kContinuous))
        return whole.astype(np.int64)

    def _run(self) -> np.ndarray:
        import highspy
        self.highs.run()
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            # The program always has a solution (the true counts), but the primal simplex may stop short of an optimum
            # (HiGHS's "Unknown", seen once in a national year): solved again from scratch by the dual simplex.
            _FALLBACKS[self.highs.modelStatusToString(self.highs.getModelStatus())] += 1
            self.highs.setOptionValue("simplex_strategy", 1)
            self.highs.clearSolver()
            self.highs.run()
            self.highs.setOptionValue("simplex_strategy", _AUDIT_OPTIONS["simplex_strategy"])
        if self.highs.getModelStatus() != highspy.HighsModelStatus.kOptimal:  # cannot happen
            raise RuntimeError(f"privacy audit: {self.highs.modelStatusToString(self.highs.getModelStatus())}")
        return np.array(self.highs.getSolution().col_value)


def safe(table: Table, min_count: int) -> bool:
    return not audit(table, min_count, first_only=True)


class Cover:
    """The shown cells to withhold so that a hidden cell can take a value it must, while every published sum still
    holds (the classic complementary-suppression step, as a linear program): each cell changes by d = d⁺ − d⁻;
    hidden cells change for free within what the reader knows of them, shown cells at a cost (one each, a little
    more for a larger count, group totals double), the cell `fixed` (the county total) never. One HiGHS model per
    table, warm-started from one cell to the next."""

    def __init__(self, table: Table, fixed: int, min_count: int):
        self.table, self.fixed, self.min_count = table, fixed, min_count
        n = self.n = len(table.value)
        self.value = table.value.astype(float)
        totals = np.zeros(n, dtype=bool)
        totals[[t for t, _ in table.sums]] = True
        self.price = (1.0 + self.value / (1.0 + self.value.max())) * np.where(totals, 2.0, 1.0)
        sums, cells, coefs = table.terms()
        self.widen = False
        cost, self.up, self.down = self._costs(np.arange(n))
        self.highs = _highs(np.concatenate((cost, cost)), np.zeros(2 * n), np.concatenate((self.up, self.down)),
                            np.zeros(len(table.sums)), np.concatenate((sums, sums)),
                            np.concatenate((cells, cells + n)), np.concatenate((coefs, -coefs)), _COVER_OPTIONS)

    def refresh(self, widen: bool = False) -> None:
        """Costs and bounds from the table's current statuses. widen: a "<5" cell may become withheld too (at three
        times a shown cell's cost), when withholding shown cells alone cannot do it."""
        self.widen = widen
        self.up, self.down = np.zeros(self.n), np.zeros(self.n)
        self._send(np.arange(self.n))

    def withhold(self, cells: list[int]) -> None:
        """Cells just withheld (the table's status already says so): `refresh` for those cells alone, every other
        column's cost and bounds are as they were."""
        self._send(np.asarray(cells, dtype=np.int64))

    def _costs(self, cells: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """These cells' costs and how far each may move up and down, from their statuses."""
        status, value, widen = self.table.status[cells], self.value[cells], self.widen
        small = status == SMALL
        movable = (status == SHOWN) | (small & widen)
        low = np.where(small & ~widen, 1.0, 0.0)
        high = np.where(small & ~widen, float(self.min_count - 1), float(UNBOUNDED))
        up, down = np.where(cells == self.fixed, 0.0, high - value), np.where(cells == self.fixed, 0.0, value - low)
        return np.where(movable, self.price[cells] * np.where(small, 3.0, 1.0), 0.0), up, down

    def _send(self, cells: np.ndarray) -> None:
        """These cells' costs and how far each may move (self.up, self.down), from their statuses, to HiGHS."""
        cost, up, down = self._costs(cells)
        self.up[cells], self.down[cells] = up, down  # how far each cell may move up and down
        both = np.concatenate((cells, cells + self.n)).astype(np.int32)
        self.highs.changeColsCost(len(both), both, np.concatenate((cost, cost)))
        self.highs.changeColsBounds(len(both), both, np.zeros(len(both)), np.concatenate((up, down)))

    def picks(self, cell: int, target: int) -> list[int] | None:
        """The shown cells to withhold so that cell can be target; None when no change reaches it."""
        import highspy
        delta = float(target - self.value[cell])
        column = cell if delta > 0 else cell + self.n
        others = cell + self.n if delta > 0 else cell
        self.highs.changeColBounds(column, abs(delta), abs(delta))
        self.highs.changeColBounds(others, 0.0, 0.0)
        self.highs.run()
        status = self.highs.getModelStatus()
        if status not in (highspy.HighsModelStatus.kOptimal, highspy.HighsModelStatus.kInfeasible):
            # neither solved nor proven out of reach (not seen): again from scratch with HiGHS's own cost perturbation
            _FALLBACKS[self.highs.modelStatusToString(status)] += 1
            self.highs.setOptionValue("dual_simplex_cost_perturbation_multiplier", 1.0)
            self.highs.clearSolver()
            self.highs.run()
            self.highs.setOptionValue("dual_simplex_cost_perturbation_multiplier",
                                      _COVER_OPTIONS["dual_simplex_cost_perturbation_multiplier"])
        ok = self.highs.getModelStatus() == highspy.HighsModelStatus.kOptimal
        x = np.array(self.highs.getSolution().col_value) if ok else None
        self.highs.changeColBounds(cell, 0.0, self.up[cell])
        self.highs.changeColBounds(cell + self.n, 0.0, self.down[cell])
        if x is None:
            return None
        moved = x[:self.n] + x[self.n:] > 1e-7
        status = self.table.status
        after = self.value + x[:self.n] - x[self.n:]  # a "<5" cell that leaves 1..4 becomes withheld
        widened = moved & (status == SMALL) & self.widen & ((after < 1 - 1e-7) | (after > self.min_count - 1 + 1e-7))
        picks = np.flatnonzero((moved & (status == SHOWN)) | widened).tolist()
        whole = np.round(after)
        if np.abs(after - whole).max(initial=0.0) < 1e-7:
            # Once the picks are withheld, this solution is a table the reader cannot tell from the true one: the
            # values it gives the moved cells are values they can take (the next audit need not solve for them;
            # withholding more cells later only adds tables).
            self.table.saw(np.flatnonzero(moved), whole[moved].astype(np.int64))
        return picks


# Every solver here runs with these: one thread, no output, no presolve (a county's program is a few dozen cells:
# HiGHS's presolve costs more than it saves there, and a covering program's solves start from the last one's basis,
# which presolve would discard), an integer program solved to optimality without the feasibility-jump heuristic
# (provinces 41+51: the audit's solver time −25%; neither changes an optimum, and the audit reads optima only).
_OPTIONS = {"output_flag": False, "threads": 1, "presolve": "off", "mip_rel_gap": 0.0,
            "mip_heuristic_run_feasibility_jump": False,
            "simplex_strategy": 1, "dual_simplex_cost_perturbation_multiplier": 1.0}  # HiGHS's defaults, as reset
# The audit changes objectives only, so the last solution stays feasible: the primal simplex goes on from it (provinces
# 41+51: 34,154 → 27,721 iterations, HiGHS's time −17%, every optimum the same). A covering program changes bounds,
# so the last basis stays dual feasible: the dual simplex, without the cost perturbation that it otherwise adds and
# removes again on every run (36,161 → 22,986 iterations, −18%; the same optima, other vertices among equal ones).
_AUDIT_OPTIONS = {"simplex_strategy": 4}
# per model status, the solves of this process that it sent back to HiGHS's defaults (a national year: one)
_FALLBACKS: Counter[str] = Counter()
_COVER_OPTIONS = {"dual_simplex_cost_perturbation_multiplier": 0.0}
_IDLE: list = []  # solvers given back (`_give_back`): making and freeing one costs ~35 µs, ~11,000 a national year


def _highs(cost, lower, upper, rhs, rows, cols, coefs, options=None):
    """A bare HiGHS solver (_OPTIONS, then options) holding min cost · x with A x = rhs, lower ≤ x ≤ upper, A from
    its (row, col, coef) triples (a cell is in a sum at most once). highspy._core._Highs, not highspy.Highs: that adds
    Python callbacks to every run and prints a banner on stdout (which `junheng published --json` must keep clean). The
    model goes in as arrays (HiGHS copies them), not as a HighsLp whose fields pybind11 fills element by element: a
    county's model in 40 µs instead of 150. A solver given back is used again: passModel clears its model, solution,
    basis and solver state, so it solves exactly as a new one."""
    import highspy
    n = len(cost)
    order = np.lexsort((rows, cols))  # column by column, rows ascending
    rhs = np.asarray(rhs, dtype=float)
    highs = _IDLE.pop() if _IDLE else highspy._core._Highs()
    # every option again on reuse: another use may have set one, or an error inside a solve left one changed
    for option, value in {**_OPTIONS, **(options or {})}.items():
        highs.setOptionValue(option, value)
    highs.passModel(n, len(rhs), len(order), int(highspy.MatrixFormat.kColwise), int(highspy.ObjSense.kMinimize),
                    0.0, np.asarray(cost, dtype=float), np.asarray(lower, dtype=float),
                    np.asarray(upper, dtype=float), rhs, rhs,
                    np.searchsorted(np.asarray(cols)[order], np.arange(n + 1)).astype(np.int32),
                    np.asarray(rows)[order].astype(np.int32), np.asarray(coefs, dtype=float)[order],
                    np.zeros(n, dtype=np.int32))
    return highs


def _give_back(highs) -> None:
    """A solver no longer used, for `_highs` to use again (at most a few kept)."""
    if highs is not None and len(_IDLE) < 4:
        _IDLE.append(highs)


REGION_STATUS = {"shown": SHOWN, "primary": SMALL, "complementary": WITHHELD, "estimated": FREE}


def region_audit(county_codes: list[str], county_values: np.ndarray, county_status: list[str],
                 regions: list[tuple[str, int, str]], min_count: int) -> list[tuple[str, int, int]]:
    """The reader's attack on the county and region totals of one measure and year (the overview's numbers): every
    hidden county total minimised and maximised over every published region total that is a sum (a prefecture,
    province or the nation: the county codes starting with its prefix). county_status and a region's status in
    privacy's words (shown, primary, complementary, estimated); an estimated region total is made from published
    numbers only, so it is no sum. county_values: the true totals. Returns the unsafe county totals as (county code,
    lowest, highest value)."""
    n = len(county_codes)
    codes = np.array(county_codes, dtype=object)
    values = [np.asarray(county_values, dtype=np.int64)]
    status = [np.array([REGION_STATUS[s] for s in county_status], dtype=np.int64)]
    sums = []
    inside: dict[tuple[int, str], list[int]] = {}  # (prefix length, prefix) -> the counties in it, in code order
    for length in sorted({len(prefix) for prefix, _, _ in regions}):
        for j, code in enumerate(county_codes):
            inside.setdefault((length, code[:length]), []).append(j)
    for k, (prefix, value, region_status) in enumerate(regions):
        parts = np.array(inside.get((len(prefix), prefix), []), dtype=np.int64)
        values.append(np.array([value], dtype=np.int64))
        status.append(np.array([REGION_STATUS[region_status]], dtype=np.int64))
        if REGION_STATUS[region_status] == SHOWN and len(parts):
            sums.append((n + k, parts))
    table = Table(np.concatenate(values), np.concatenate(status), sums)
    return [(str(codes[cell]) if cell < n else regions[cell - n][0], low, high)
            for cell, low, high in audit(table, min_count)]

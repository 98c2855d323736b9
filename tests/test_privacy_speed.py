"""The fast audit (privacy_audit.audit: one HiGHS model per table, warm re-solves, presolve and feasibility jump off,
the integer program skipped where the relaxation proves a seen value optimal) against a plain reference: every
hidden cell minimised and maximised by its own scipy.optimize.milp, on random small tables (seeded) and on the edge
cases (a sum with one hidden cell, twins, every cell hidden). Issue 23: the speed-up must not change one result."""
import numpy as np
import pytest
from scipy.optimize import Bounds, LinearConstraint, milp
from scipy.sparse import coo_matrix

from junheng.rules import privacy_audit as pa

MIN = 5


def reference(table: pa.Table, min_count: int = MIN) -> list[tuple[int, int, int]]:
    """The unsafe cells as (cell, lowest, highest), each bound from a fresh integer program (scipy's milp)."""
    hidden = np.flatnonzero(table.status != pa.SHOWN)
    index = {int(c): j for j, c in enumerate(hidden)}
    rows, cols, coefs, rhs = [], [], [], []
    for r, (total, parts) in enumerate(table.sums):
        known = 0.0
        for cell, coef in [(total, 1.0)] + [(int(p), -1.0) for p in parts]:
            if cell in index:
                rows.append(r), cols.append(index[cell]), coefs.append(coef)
            else:
                known += coef * table.value[cell]
        rhs.append(-known)
    status = table.status[hidden]
    lower = np.where(status == pa.SMALL, 1.0, 0.0)
    upper = np.where(status == pa.SMALL, float(min_count - 1), float(pa.UNBOUNDED))
    constraints = [LinearConstraint(coo_matrix((coefs, (rows, cols)), shape=(len(rhs), len(hidden))), rhs, rhs)]
    span = pa.spans(table, min_count)
    unsafe = []
    for j, cell in enumerate(hidden):
        if status[j] == pa.FREE:
            continue
        bound = []
        for sign in (1.0, -1.0):
            objective = np.zeros(len(hidden))
            objective[j] = sign
            result = milp(objective, integrality=np.ones(len(hidden)), bounds=Bounds(lower, upper),
                          constraints=constraints, options={"mip_rel_gap": 0})
            assert result.success, result.message
            bound.append(int(round(result.x[j])))
        low, high = bound
        ok = (low <= 1 and high >= min_count - 1) if status[j] == pa.SMALL else high - low >= span[cell]
        if not ok:
            unsafe.append((int(cell), low, high))
    return unsafe


def county(rng: np.random.Generator, schools: int) -> tuple[np.ndarray, list]:
    """A county's cells as the protection publishes them: schools, a county total, group totals of two
    breakdowns (township, 城乡), each group total the sum of its schools and the county total the sum of each
    breakdown's groups."""
    value = rng.choice([0, 1, 2, 3, 4, 6, 9, 15, 40], size=schools).astype(np.int64)
    cells = list(value)
    total = len(cells)
    cells.append(int(value.sum()))
    sums = [(total, np.arange(schools))]
    for groups in (3, 2):
        label = rng.integers(0, groups, size=schools)
        group_cells = []
        for g in range(groups):
            members = np.flatnonzero(label == g)
            if len(members) == 0:
                continue
            group_cells.append(len(cells))
            cells.append(int(value[members].sum()))
            sums.append((len(cells) - 1, members))
        sums.append((total, np.array(group_cells)))
    return np.array(cells, dtype=np.int64), sums


def random_table(seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    value, sums = county(rng, int(rng.integers(3, 9)))
    status = np.full(len(value), pa.SHOWN)
    status[(value >= 1) & (value < MIN)] = pa.SMALL
    extra = rng.random(len(value)) < rng.uniform(0.1, 0.95)
    status[extra & (status == pa.SHOWN)] = pa.WITHHELD
    return pa.Table(value, status, sums)


@pytest.mark.parametrize("seed", range(60))
def test_the_fast_audit_finds_what_one_integer_program_per_cell_finds(seed):
    table = random_table(seed)
    expected = reference(table)
    assert pa.audit(pa.Table(table.value.copy(), table.status.copy(), table.sums), MIN) == expected


def test_random_tables_exercise_both_outcomes():
    # the comparison above is only worth something if some tables are unsafe and some safe
    outcomes = [bool(reference(random_table(seed))) for seed in range(60)]
    assert 5 <= sum(outcomes) <= 55


def test_a_sum_with_one_hidden_cell_gives_it_away():
    # total 20 = 7 + 9 + one withheld cell: the reader subtracts, the cell is 4 exactly
    table = pa.Table(np.array([20, 7, 9, 4]), np.array([pa.SHOWN, pa.SHOWN, pa.SHOWN, pa.WITHHELD]),
                     [(0, np.array([1, 2, 3]))])
    assert reference(table) == [(3, 4, 4)]
    assert pa.audit(table, MIN) == [(3, 4, 4)]


def test_twins_in_the_same_sums_protect_each_other_and_a_third_sum_pins_them():
    # two withheld schools (6 and 9) in the same township and 城乡 sums: they move against each other, 0..15
    value = np.array([30, 6, 9, 15, 15, 30, 30])
    status = np.array([pa.SHOWN, pa.WITHHELD, pa.WITHHELD, pa.SHOWN, pa.SHOWN, pa.SHOWN, pa.SHOWN])
    sums = [(0, np.array([1, 2, 3])), (5, np.array([1, 2, 4])), (6, np.array([1, 2, 3]))]
    table = pa.Table(value, status, sums)
    assert reference(table) == [] == pa.audit(pa.Table(value, status.copy(), sums), MIN)
    # a shown sum of one of them alone (a type total of 6) pins both: 6 and 15 − 6 = 9
    value, status = np.r_[value, 6], np.r_[status, pa.SHOWN]
    sums = sums + [(7, np.array([1]))]
    table = pa.Table(value, status, sums)
    assert reference(table) == [(1, 6, 6), (2, 9, 9)]
    assert pa.audit(table, MIN) == [(1, 6, 6), (2, 9, 9)]


def test_every_cell_hidden():
    # nothing shown: a withheld total over "<5" parts and withheld parts; the marks alone bound it
    value = np.array([12, 3, 1, 8, 4, 8])
    status = np.array([pa.WITHHELD, pa.SMALL, pa.SMALL, pa.WITHHELD, pa.SMALL, pa.WITHHELD])
    sums = [(0, np.array([1, 2, 3])), (0, np.array([4, 5]))]
    table = pa.Table(value, status, sums)
    expected = reference(table)
    assert pa.audit(pa.Table(value, status.copy(), sums), MIN) == expected
    # and a table of "<5" cells only: four "<5" parts in a "<5" total are all 1 (the marks give them away)
    value = np.array([4, 1, 1, 1, 1])
    status = np.full(5, pa.SMALL)
    table = pa.Table(value, status, [(0, np.array([1, 2, 3, 4]))])
    assert reference(table) == [(0, 4, 4), (1, 1, 1), (2, 1, 1), (3, 1, 1), (4, 1, 1)]
    assert pa.audit(table, MIN) == [(0, 4, 4), (1, 1, 1), (2, 1, 1), (3, 1, 1), (4, 1, 1)]


def test_the_cover_model_is_the_one_scipy_builds():
    """Cover builds its matrix column by column itself; the repair's picks depend on HiGHS's path through that
    model, so it must be exactly the matrix scipy's coo_matrix(...).tocsc() gave before."""
    for seed in range(20):
        table = random_table(seed)
        n = len(table.value)
        sums, cells, coefs = table.terms()
        expected = coo_matrix((np.r_[coefs, -coefs], (np.r_[sums, sums], np.r_[cells, cells + n])),
                              shape=(len(table.sums), 2 * n)).tocsc()
        matrix = pa.Cover(table, 0, MIN).highs.getLp().a_matrix_
        assert np.array_equal(matrix.start_, expected.indptr)
        assert np.array_equal(matrix.index_, expected.indices)
        assert np.array_equal(matrix.value_, expected.data)


@pytest.mark.parametrize("counties", [60, 13])  # more counties than shares (24 with 2 processes), and fewer
def test_protection_in_forked_processes_equals_one_process(monkeypatch, counties):
    # privacy.protect protects shares of the counties in forked processes (first pass and repair) once there are
    # PARALLEL_COUNTIES of them; counties are independent, so the cells must be those one process decides
    import polars as pl

    from junheng.rules import privacy
    rng = np.random.default_rng(7)
    n = 3000
    rows = pl.DataFrame({"county_code": [f"37{c:04d}" for c in rng.integers(0, counties, n)],
                         "school_id": [f"s{i:05d}" for i in range(n)],
                         "left_behind_students": rng.choice([0, 1, 2, 3, 4, 6, 9, 20, 40], n),
                         "township": rng.choice(["甲", "乙", "丙", "丁"], n),
                         "school_type": rng.choice(["primary", "junior"], n)})
    monkeypatch.setattr(privacy, "PARALLEL_COUNTIES", 10 ** 9)
    one = privacy.protect(rows, "left_behind_students", ("township", "school_type"), MIN)
    monkeypatch.setattr(privacy, "PARALLEL_COUNTIES", 10)
    monkeypatch.setattr(privacy, "_workers", lambda counties: 2)  # forked even on one core
    forked = privacy.protect(rows, "left_behind_students", ("township", "school_type"), MIN)
    assert (one.schools["status"] != "shown").sum() > 500  # something was protected
    assert one.schools.equals(forked.schools) and one.groups.equals(forked.groups)
    assert one.counties.equals(forked.counties)


def test_two_protections_in_one_pool_equal_each_alone(monkeypatch):
    # db.evaluated protects the left-behind and the migrant counts together (privacy.protect_many: one pool of
    # processes for the counties of both); each must be what protecting it alone decides
    import polars as pl

    from junheng.rules import left_behind, privacy
    rng = np.random.default_rng(11)
    n = 3000
    rows = pl.DataFrame({"county_code": [f"41{c:04d}" for c in rng.integers(0, 40, n)],
                         "school_id": [f"s{i:05d}" for i in range(n)],
                         "left_behind_students": rng.choice([0, 1, 2, 3, 4, 6, 9, 20, 40], n),
                         "migrant_students": rng.choice([0, 1, 2, 3, 5, 8, 30], n),
                         "township": rng.choice(["甲", "乙", "丙"], n),
                         "urban_rural_group": rng.choice(["城区", "镇区", "乡村"], n),
                         "school_type": rng.choice(["primary", "junior"], n),
                         "is_boarding": rng.random(n) < 0.3, "is_public": rng.random(n) < 0.8})
    alone = (left_behind.protection(rows, {"privacy": {"min_count": MIN}}),
             left_behind.migrant_protection(rows, MIN))
    monkeypatch.setattr(privacy, "PARALLEL_COUNTIES", 10)
    monkeypatch.setattr(privacy, "_workers", lambda counties: 2)  # forked even on one core
    together = left_behind.both_protections(rows, MIN)
    for one, both in zip(alone, together):
        assert (one.schools["status"] != "shown").sum() > 100
        assert one.schools.equals(both.schools) and one.groups.equals(both.groups)
        assert one.counties.equals(both.counties)


def _twins_by_loop(cols, rows, coefs, status, truth, low, high, min_count):
    """privacy_audit._twins as first written (a dict of each cell's sums, a loop over the groups): the reference
    the vectorized one must equal."""
    groups: dict[tuple, list[int]] = {}
    for c in sorted(set(cols.tolist())):
        key = tuple(sorted((int(r), float(k)) for r, k, cc in zip(rows, coefs, cols) if cc == c))
        groups.setdefault(key, []).append(c)
    lower = np.where(status == pa.SMALL, 1, 0)
    upper = np.where(status == pa.SMALL, min_count - 1, pa.UNBOUNDED)
    low, high = low.copy(), high.copy()
    for members in groups.values():
        if len(members) < 2:
            continue
        m = np.array(members)
        give, take = truth[m] - lower[m], upper[m] - truth[m]
        for i in range(len(m)):
            others = [k for k in range(len(m)) if k != i]
            up = max(others, key=lambda k: (give[k], -k))   # the twin that lets m[i] go highest (first among equals)
            down = max(others, key=lambda k: (take[k], -k))
            k_up, k_down = min(give[up], take[i]), min(take[down], give[i])
            high[m[i]] = max(high[m[i]], truth[m[i]] + k_up)
            low[m[up]] = min(low[m[up]], truth[m[up]] - k_up)
            low[m[i]] = min(low[m[i]], truth[m[i]] - k_down)
            high[m[down]] = max(high[m[down]], truth[m[down]] + k_down)
    return low, high


def test_twins_vectorized_equal_the_loop():
    rng = np.random.default_rng(11)
    twinned = 0
    for _ in range(400):
        n_cells, n_rows = int(rng.integers(2, 25)), int(rng.integers(1, 7))
        pattern = [sorted(rng.choice(n_rows, size=int(rng.integers(1, min(4, n_rows) + 1)), replace=False).tolist())
                   for _ in range(int(rng.integers(1, 5)))]  # a few sum patterns, shared by many cells: twins
        triples = [(r, c, -1.0 if rng.random() < 0.8 else 1.0) for c in range(n_cells)
                   for r in pattern[int(rng.integers(0, len(pattern)))]]
        rows, cols, coefs = (np.array(x) for x in zip(*[triples[i] for i in rng.permutation(len(triples))]))
        status = rng.choice([pa.SMALL, pa.WITHHELD, pa.FREE], size=n_cells)
        truth = np.where(status == pa.SMALL, rng.integers(1, MIN, n_cells), rng.integers(0, 30, n_cells))
        low, high = truth - rng.integers(0, 3, n_cells) * (status != pa.SMALL), truth + rng.integers(0, 2, n_cells)
        expected = _twins_by_loop(cols, rows, coefs, status, truth, low, high, MIN)
        got = pa._twins(cols, rows, coefs, status, truth, low, high, MIN)
        assert np.array_equal(got[0], expected[0]) and np.array_equal(got[1], expected[1])
        twinned += int((expected[1] > high).any())
    assert twinned > 100  # the cases exercise twin moves, not only cells without a twin


def test_same_sums_of_a_whole_system_equal_those_of_its_tables():
    # privacy.repair works out which cells are in exactly the same sums once for a whole system (sum numbers too
    # large for one integer per cell: the rows are sorted column by column); a table's own sums give one number
    # per cell. Both must group the cells alike.
    rng = np.random.default_rng(5)
    twinned = 0
    for _ in range(30):
        table = random_table(int(rng.integers(0, 10 ** 6)))
        sums, cells, coefs = table.terms()
        small = pa._same_sums(cells, sums, coefs)
        large = pa._same_sums(cells, sums * 10 ** 6 + 7, coefs)  # the same sums, numbered as in a whole system
        assert np.array_equal(small[0], large[0])
        pairs = small[1][:, None] == small[1][None, :]
        assert np.array_equal(pairs, large[1][:, None] == large[1][None, :])
        twinned += int((np.bincount(small[1]) >= 2).any())
    assert twinned >= 5  # twins do occur in these tables


def _one_county_rows(seed: int):
    import polars as pl
    rng = np.random.default_rng(seed)
    n = int(rng.integers(8, 40))
    return pl.DataFrame({"county_code": ["410001"] * n, "school_id": [f"s{i:03d}" for i in range(n)],
                         "left_behind_students": rng.choice([0, 1, 2, 3, 4, 5, 6, 9, 20], n),
                         "township": rng.choice(["甲", "乙", "丙"], n),
                         "school_type": rng.choice(["primary", "junior"], n),
                         "is_boarding": rng.random(n) < 0.3})


def test_every_cell_the_first_pass_finds_too_narrow_is_one_the_audit_finds_unsafe():
    # privacy._System.narrow: the reader's interval arithmetic proves these cells short of what the audit asks, so
    # the protection hides complements for them without a linear program each. That is only right if the audit
    # (every hidden cell minimised and maximised over all sums) finds each of them unsafe too.
    from junheng.rules import privacy
    to_audit = np.array([pa.SHOWN, pa.SMALL, pa.WITHHELD, pa.FREE])
    found = 0
    for seed in range(40):
        system, _ = privacy._built(_one_county_rows(seed), "left_behind_students",
                                   ("township", "school_type", "is_boarding"), True)
        code = np.full(len(system.value), privacy._SHOWN, dtype=np.int8)
        code[(system.value > 0) & (system.value < MIN)] = privacy._PRIMARY
        mine = np.ones(1, dtype=bool)
        system._first_pass(code, MIN, mine)
        narrow = set(np.flatnonzero(system.narrow(code, MIN, mine)).tolist())
        sums = [(int(system.cell[(system.eq == e) & (system.coef > 0)][0]),
                 system.cell[(system.eq == e) & (system.coef < 0)]) for e in range(system.n_eq)]
        unsafe = {cell for cell, _, _ in pa.audit(pa.Table(system.value.astype(np.int64), to_audit[code], sums), MIN)}
        assert narrow <= unsafe, (seed, narrow - unsafe)
        found += len(narrow)
    assert found > 20  # the cases have such cells


class _FirstRunUnsolved:
    """A HiGHS solver whose first run does nothing (its model status stays "not set", as when the simplex stops
    short of an optimum): the audit and the cover must solve again, not fail or take it as "out of reach"."""

    def __init__(self, highs):
        self.highs, self.runs = highs, 0

    def __getattr__(self, name):
        return getattr(self.highs, name)

    def run(self):
        self.runs += 1
        if self.runs > 1:
            return self.highs.run()


def test_a_solve_left_short_of_an_optimum_is_solved_again(monkeypatch):
    monkeypatch.setattr(pa, "_FALLBACKS", pa.Counter())
    table = random_table(3)
    hidden = np.flatnonzero(table.status != pa.SHOWN)
    for seed in range(5):
        objective = np.random.default_rng(seed).normal(size=len(hidden))
        sums, cells, coefs = table.terms()
        local = np.full(len(table.value), -1)
        local[hidden] = np.arange(len(hidden))
        unknown = local[cells] >= 0
        rows = np.unique(sums[unknown], return_inverse=True)[1]
        known = np.bincount(sums[~unknown], weights=(coefs * table.value[cells])[~unknown], minlength=len(table.sums))
        rhs = -known[np.unique(sums[unknown])]
        args = (table.status[hidden], MIN, rows, local[cells[unknown]], coefs[unknown], rhs)
        plain, failing = pa._Solver(*args), pa._Solver(*args)
        failing.highs = _FirstRunUnsolved(failing.highs)
        expected = plain.solve(objective, attained=None)
        got = failing.solve(objective, attained=None)
        assert (got is None) == (expected is None)
        assert expected is None or objective @ got == pytest.approx(objective @ expected)
    assert sum(pa._FALLBACKS.values()) == 5
    # the cover: the same picks as a solver whose first run solves
    table = pa.Table(np.array([20, 7, 9, 4]), np.array([pa.SHOWN, pa.SHOWN, pa.SHOWN, pa.WITHHELD]),
                     [(0, np.array([1, 2, 3]))])
    plain, failing = pa.Cover(table, 0, MIN), pa.Cover(table, 0, MIN)
    failing.highs = _FirstRunUnsolved(failing.highs)
    assert failing.picks(3, 9) == plain.picks(3, 9) == [1]
    assert sum(pa._FALLBACKS.values()) == 6


def test_the_schools_published_cells_worked_out_during_the_protection(monkeypatch):
    # db.evaluated has published_counts.school_cells worked out by the parent process while the forked ones protect
    # (protect_many's meanwhile); the published cells made with it must be those made without, and a school part
    # that is not the shield's schools in order (another year's rows, say) must not be used
    import polars as pl

    from junheng.rules import left_behind, privacy, published_counts
    rng = np.random.default_rng(13)
    n = 2000
    rows = pl.DataFrame({"county_code": [f"52{c:04d}" for c in rng.integers(0, 30, n)],
                         "school_id": [f"s{i:05d}" for i in rng.permutation(n)],
                         "left_behind_students": rng.choice([0, 1, 2, 3, 4, 6, 9, 20, 40], n),
                         "migrant_students": rng.choice([0, 1, 2, 3, 5, 8, 30], n),
                         "township": rng.choice(["甲", "乙", None], n),
                         "urban_rural_group": rng.choice(["城区", "镇区", "乡村"], n),
                         "school_type": rng.choice(["primary", "junior"], n),
                         "is_boarding": rng.random(n) < 0.3, "is_public": rng.random(n) < 0.8})
    monkeypatch.setattr(privacy, "PARALLEL_COUNTIES", 10)
    monkeypatch.setattr(privacy, "_workers", lambda counties: 2)  # forked even on one core
    early = {}
    shields = left_behind.both_protections(rows, MIN, lambda: early.update(schools=published_counts.school_cells(rows)))
    plain = published_counts.cells(rows, *shields)
    assert (plain["status"] != "shown").sum() > 100
    assert published_counts.cells(rows, *shields, early["schools"]).equals(plain)
    other = published_counts.school_cells(rows.filter(pl.col("school_id") != "s00007"))
    assert published_counts.cells(rows, *shields, other).equals(plain)

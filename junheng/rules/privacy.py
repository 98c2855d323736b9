"""Small counts about children that cannot be worked back (留守儿童, 随迁子女).

A count from 1 to min_count − 1 is suppressed and shown as "<5". That alone is not enough: the pages also
publish group totals (township, 城乡, school type, boarding) and the county total, so "total minus the other
schools" would give the count back. Hence complementary suppression: in every published sum that still lets
a suppressed cell be solved for, the next-smallest cell is hidden too (shown as "*", any value), and so on
until interval arithmetic over all the county's published sums (the reader's arithmetic, repeated until it
learns nothing more) pins down no hidden cell. Group totals are cells of those sums as well: a group total
under the threshold is suppressed like a school's count, and a group total is hidden when nothing else can
protect its cells. The county total is hidden only when it is itself a small count.

Everything is decided per county from that county's numbers alone, so every view (one county, a prefecture,
the whole region) publishes the same cells and comparing two views reveals nothing new. Tables above the
county only add up published county figures (see `region_groups`).
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import polars as pl

SHOWN, PRIMARY, COMPLEMENTARY = "shown", "primary", "complementary"
ESTIMATED = "estimated"  # a region total with hidden county totals in it, made from published numbers (region_counts)
HIDDEN_MARK = "*"
BIG = 1e12  # "no upper bound" in the interval arithmetic (finite, so sums stay exact)


def suppressed_text(min_count: int) -> str:
    return f"<{min_count}"


@dataclass(frozen=True)
class Protection:
    """Which published counts are shown, suppressed (primary) or hidden (complementary).

    schools: county_code, school_id, value, status
    groups: county_code, by, group (text), value, status — one row per published group total
    counties: county_code, value, status
    """
    schools: pl.DataFrame
    groups: pl.DataFrame
    counties: pl.DataFrame

    def group_status(self, by: str) -> pl.DataFrame:
        return self.groups.filter(pl.col("by") == by).drop("by")


def protect(schools: pl.DataFrame, column: str, by: tuple[str, ...], min_count: int,
            schools_published: bool = True) -> Protection:
    """Decide the suppression of `column` for school rows published with group totals by each of `by`.

    schools_published: False when only the group totals are published (the school counts then constrain the
    sums but are never shown, so they need no marks).
    """
    return protect_many([(schools, column, by, schools_published)], min_count)[0]


def protect_many(jobs: list[tuple[pl.DataFrame, str, tuple[str, ...], bool]], min_count: int,
                 meanwhile: Callable[[], object] | None = None) -> list[Protection]:
    """`protect` for several (schools, column, by, schools_published) at once: each decided exactly as alone, the
    counties of all of them shared by one pool of processes (one start, and no core idle while the last share of
    the first waits for the second to begin). meanwhile: work of the caller's that needs no protection, done by this
    process while the forked ones protect (else it would wait idle, and the work come after)."""
    built = [_built(schools, column, by, published) for schools, column, by, published in jobs]
    statuses = _System.solve_all([system for system, _ in built], min_count, meanwhile)
    return [finish(status) for (_, finish), status in zip(built, statuses)]


def _built(schools: pl.DataFrame, column: str, by: tuple[str, ...], schools_published: bool):
    """The published sums of `protect` as a _System, and the function that turns its cells' statuses into the
    Protection."""
    rows = schools.select("county_code", "school_id", pl.col(column).fill_null(0).cast(pl.Int64).alias("value"),
                          *[pl.col(b).cast(pl.String).fill_null("—").alias(b) for b in by]).sort(
        "county_code", "school_id")
    n = rows.height
    values = [rows["value"].to_numpy().astype(float)]
    kinds = [np.full(n, "school" if schools_published else "hidden", dtype=object)]
    cell_counties = []
    eq_cells, eq_coefs, eq_ids = [], [], []
    next_eq = 0

    county_index = rows.select(pl.col("county_code").rank("dense") - 1).to_series().to_numpy()
    county_codes = rows["county_code"].unique(maintain_order=True).to_numpy().astype(object)
    county_cell = n + np.arange(len(county_codes))
    cell_counties += [county_index, np.arange(len(county_codes))]
    county_values = np.bincount(county_index, weights=values[0], minlength=len(county_codes))
    values.append(county_values)
    kinds.append(np.full(len(county_codes), "county", dtype=object))
    # the county total is the sum of its schools
    eq_ids.append(np.r_[np.arange(len(county_codes)), county_index])
    eq_cells.append(np.r_[county_cell, np.arange(n)])
    eq_coefs.append(np.r_[np.ones(len(county_codes)), -np.ones(n)])
    next_eq += len(county_codes)
    cell_count = n + len(county_codes)
    group_rows = []
    for b in by:
        # rows are sorted by county, so dense ranks of (county, group) keep the groups in county order
        group_index = rows.select(pl.struct("county_code", b).rank("dense") - 1).to_series().to_numpy()
        keys = rows.select("county_code", b).with_columns(pl.Series("_i", group_index)).unique(
            "_i", keep="first").sort("_i")
        pairs = keys.select("county_code", b).to_numpy().astype(object)
        cells = cell_count + np.arange(len(pairs))
        cell_count += len(pairs)
        group_values = np.bincount(group_index, weights=values[0], minlength=len(pairs))
        pair_county = keys.select(pl.col("county_code").rank("dense") - 1).to_series().to_numpy()
        cell_counties.append(pair_county)
        values.append(group_values)
        kinds.append(np.full(len(pairs), "group", dtype=object))
        group_rows.append(pl.DataFrame({"county_code": pairs[:, 0], "by": b, "group": pairs[:, 1],
                                        "value": group_values.astype(np.int64), "cell": cells}))
        # each group total is the sum of its schools ...
        eq_ids.append(np.r_[next_eq + np.arange(len(pairs)), next_eq + group_index])
        eq_cells.append(np.r_[cells, np.arange(n)])
        eq_coefs.append(np.r_[np.ones(len(pairs)), -np.ones(n)])
        next_eq += len(pairs)
        # ... and the county total the sum of its groups
        eq_ids.append(np.r_[next_eq + np.arange(len(county_codes)), next_eq + pair_county])
        eq_cells.append(np.r_[county_cell, cells])
        eq_coefs.append(np.r_[np.ones(len(county_codes)), -np.ones(len(pairs))])
        next_eq += len(county_codes)

    value = np.concatenate(values)
    kind = np.concatenate(kinds)
    system = _System(np.concatenate(eq_ids).astype(np.int64), np.concatenate(eq_cells).astype(np.int64),
                     np.concatenate(eq_coefs), next_eq, value, kind, np.concatenate(cell_counties))

    def finish(status: np.ndarray) -> Protection:
        groups = (pl.concat(group_rows) if group_rows else pl.DataFrame(
            schema={"county_code": pl.String, "by": pl.String, "group": pl.String, "value": pl.Int64,
                    "cell": pl.Int64}))
        groups = groups.with_columns(
            pl.Series("status", status[groups["cell"].to_numpy()], dtype=pl.String)).drop("cell")
        return Protection(
            schools=rows.select("county_code", "school_id", "value").with_columns(
                pl.Series("status", status[:n], dtype=pl.String)),
            groups=groups,
            counties=pl.DataFrame({"county_code": county_codes, "value": county_values.astype(np.int64),
                                   "status": status[n:n + len(county_codes)]},
                                  schema={"county_code": pl.String, "value": pl.Int64, "status": pl.String}),
        )
    return system, finish


_SHOWN, _PRIMARY, _HIDDEN, _UNPUBLISHED = 0, 1, 2, 3  # cell codes inside the solver
PARALLEL_COUNTIES = 200  # fewer counties than this: one process (forking costs more than it saves)
_FORKED: tuple | None = None  # what a forked process works on (set by _System.solve around its pool)


def _workers(counties: int) -> int:
    """Processes for the protection of this many counties: the cores this process may use (at most 8), on Linux
    (forking is safe there: the forked work is NumPy and HiGHS only, no Polars); else one."""
    import os
    import sys
    if counties < PARALLEL_COUNTIES or not sys.platform.startswith("linux"):
        return 1
    return max(1, min(8, len(os.sched_getaffinity(0))))


def _protect_share(job: tuple[int, int]) -> tuple[int, np.ndarray, np.ndarray]:
    """In a forked process: protect every `shares`-th county from `share` on (the first pass and the repair) of
    system k; k, the cells whose code changed and their codes."""
    import gc
    gc.disable()  # a forked process that ends with its share: the collector only costs time (see repair)
    k, share = job
    systems, codes, min_count, counties, shares = _FORKED
    system, code, counties = systems[k], codes[k], counties[k][share::shares]
    part, cells = system.part(counties)  # the share's own arrays: the first pass's rounds then cost its size only
    mine = code[cells]
    part._protect(mine, min_count, counties)
    changed = np.flatnonzero(mine != code[cells])
    return k, cells[changed], mine[changed]


_NAMES = np.array([SHOWN, PRIMARY, COMPLEMENTARY, SHOWN], dtype=object)


class _System:
    """Published sums as equations Σ coef · cell = 0, one triple (equation, cell, coef) per term."""

    def __init__(self, eq, cell, coef, n_eq, value, kind, cell_county):
        self.eq, self.cell, self.coef, self.n_eq = eq, cell, coef, n_eq
        self.value, self.kind, self.cell_county = value, kind, cell_county
        self.term_county = cell_county[cell]  # every term of a sum is in one county

    @functools.cached_property
    def _by_cell(self) -> tuple[np.ndarray, np.ndarray]:
        """The terms ordered by cell and where each cell's start (the first pass's lookups; a system protected in
        forked shares never needs them, its shares' systems do)."""
        order = np.argsort(self.cell, kind="stable")
        return order, np.searchsorted(self.cell[order], np.arange(len(self.value) + 1))

    @functools.cached_property
    def _by_eq(self) -> tuple[np.ndarray, np.ndarray]:
        order = np.argsort(self.eq, kind="stable")
        return order, np.searchsorted(self.eq[order], np.arange(self.n_eq + 1))

    def part(self, counties: np.ndarray) -> tuple[_System, np.ndarray]:
        """The system of these counties alone and its cells (indices of this system's, ascending). Cells and sums
        keep their order, so every county is protected exactly as in the whole system."""
        keep = np.zeros(self.cell_county.max() + 1, dtype=bool)
        keep[counties] = True
        cells = np.flatnonzero(keep[self.cell_county])
        local = np.full(len(self.value), -1, dtype=np.int64)
        local[cells] = np.arange(len(cells))
        terms = np.flatnonzero(keep[self.term_county])
        sums, eq = np.unique(self.eq[terms], return_inverse=True)
        return _System(eq.astype(np.int64), local[self.cell[terms]], self.coef[terms], len(sums), self.value[cells],
                       self.kind[cells], self.cell_county[cells]), cells

    def cell_terms(self, c: int) -> np.ndarray:
        order, start = self._by_cell
        return order[start[c]:start[c + 1]]

    def eq_terms(self, e: int) -> np.ndarray:
        order, start = self._by_eq
        return order[start[e]:start[e + 1]]

    @staticmethod
    def solve_all(systems: list[_System], min_count: int, meanwhile: Callable[[], object] | None = None
                  ) -> list[np.ndarray]:
        """The status name of every cell of each system: primary suppression, then complementary cells until
        nothing is solved, then the repair until the audit by optimisation finds nothing. Counties are independent
        (every sum lies in one county): with many counties, shares of them are protected in forked processes, each
        returning the codes it changed; the union is what one process would decide, county by county."""
        codes, counties = [], []
        for system in systems:
            code = np.full(len(system.value), _SHOWN, dtype=np.int8)
            code[(system.value > 0) & (system.value < min_count)] = _PRIMARY
            code[system.kind == "hidden"] = _UNPUBLISHED
            codes.append(code)
            counties.append(np.unique(system.cell_county))
        workers = _workers(max((len(c) for c in counties), default=0))
        if workers <= 1:
            for system, code, mine in zip(systems, codes, counties):
                system._protect(code, min_count, mine)
            if meanwhile is not None:
                meanwhile()
            return [_NAMES[code] for code in codes]
        import multiprocessing
        global _FORKED
        # small shares: the last to finish leaves a core idle for less (national: 0.3–0.7 s at 4 per process, 0.2 s
        # at 12); each costs a sub-system (`part`, milliseconds)
        shares = workers * 12
        _FORKED = (systems, codes, min_count, counties, shares)
        try:
            with multiprocessing.get_context("fork").Pool(workers) as pool:
                jobs = [(k, share) for k in range(len(systems))  # the first system first
                        for share in range(min(shares, len(counties[k])))]  # none empty
                results = pool.imap_unordered(_protect_share, jobs)  # the processes start on them now
                if meanwhile is not None:
                    meanwhile()  # forked already: the processes never see what it does (nor its Polars threads)
                for k, changed, code in results:
                    codes[k][changed] = code
        finally:
            _FORKED = None
        return [_NAMES[code] for code in codes]

    def _protect(self, code: np.ndarray, min_count: int, counties: np.ndarray) -> None:
        """The protection of these counties in code: the first pass by interval arithmetic, then the repair."""
        mine = np.zeros(self.cell_county.max() + 1, dtype=bool)
        mine[counties] = True
        self._first_pass(code, min_count, mine)
        self._widen(code, min_count, mine)
        self.repair(code, min_count, counties)

    def _widen(self, code: np.ndarray, min_count: int, mine: np.ndarray) -> None:
        """One round against what the audit asks, for all these counties at once: each `narrow` cell gets a
        complement by the first pass's rule, and a complement that left every cell it was chosen for as narrow as
        before is shown again (the repair's programs do better there). Provinces 41+51: the first audits' unsafe
        cells 4,731 → 975, covering programs 4,517 → 949, CPU about −30%; complementary cells 8,327 → 8,392 (+0.8%),
        their counts' sum −0.8% (without showing the useless ones again: 8,654, +3.9%)."""
        narrow = np.flatnonzero(self.narrow(code, min_count, mine))
        if len(narrow) == 0:
            return
        chosen = {cell: c for cell, c in self._chosen(narrow, code, *self._reader_bounds(code, min_count)).items()
                  if c >= 0}
        before = code.copy()
        added = list(set(chosen.values()))
        code[added] = _HIDDEN
        changed = np.zeros_like(mine)
        changed[self.cell_county[added]] = True  # the counties with a complement: the others are as they were
        still = self.narrow(code, min_count, changed)
        helped = {c: False for c in chosen.values()}
        for cell, c in chosen.items():
            helped[c] = helped[c] or not still[cell]
        useless = [c for c, ok in helped.items() if not ok and before[c] == _SHOWN]
        code[useless] = _SHOWN

    def _first_pass(self, code: np.ndarray, min_count: int, mine: np.ndarray) -> None:
        """Complementary cells until no hidden cell of these counties (mine) is solved by interval arithmetic."""
        active = mine[self.cell_county]  # the cells and terms whose county may still change
        terms = mine[self.term_county]
        for _ in range(len(self.value)):  # each round hides at least one more cell
            lo0, hi0 = self.bounds(code, min_count)
            lo, hi = self.propagate(lo0, hi0, terms)
            solved = np.flatnonzero(active & ((code == _PRIMARY) | (code == _HIDDEN)) & (hi - lo < 0.5))
            if len(solved) == 0:
                break
            added = self._complements(solved, code, lo0, hi0)
            if not added:
                break  # nothing left to hide (cannot happen with a county total above the threshold)
            code[list(added)] = _HIDDEN
            changed = np.unique(self.cell_county[list(added)])
            active = np.isin(self.cell_county, changed)
            terms = np.isin(self.term_county, changed)

    def _reader_bounds(self, code: np.ndarray, min_count: int) -> tuple[np.ndarray, np.ndarray]:
        """What the audit's reader (privacy_audit) knows of each cell before any sum: shown cells exactly, "<5" in
        1..min_count − 1, anything else hidden ≥ 0."""
        small, other = code == _PRIMARY, code >= _HIDDEN
        return (np.where(small, 1.0, np.where(other, 0.0, self.value)),
                np.where(small, float(min_count - 1), np.where(other, BIG, self.value)))

    def narrow(self, code: np.ndarray, min_count: int, mine: np.ndarray) -> np.ndarray:
        """The cells of these counties that the audit's reader bounds too closely by interval arithmetic alone: a
        "<5" proven above 1 or below min_count − 1, a withheld cell to fewer values than the audit's span
        (privacy_audit.spans). The bounds hold in every table the reader cannot tell from the true one, so each is
        a cell the audit finds unsafe (tested), and `_widen` can give it a complement without a linear program."""
        from junheng.rules import privacy_audit
        lo, hi = self.propagate(*self._reader_bounds(code, min_count), mine[self.term_county])
        small = code == _PRIMARY
        span = privacy_audit.span_need(small, self.eq, self.cell, self.coef, self.n_eq, min_count)
        return mine[self.cell_county] & ((small & ((lo > 1) | (hi < min_count - 1))) |
                                         ((code == _HIDDEN) & (hi - lo < span)))

    def repair(self, code: np.ndarray, min_count: int, counties: np.ndarray | None = None) -> None:
        """Withhold more cells, one at a time, until the audit by optimisation (privacy_audit) finds nothing in any
        of these counties (all by default). The interval arithmetic above is a cheap first pass; it misses what
        several sums give together (issue 23: four hidden cells of 颍东区 2025 forced to their true values by three
        sums)."""
        from junheng.rules import privacy_audit
        to_audit = np.zeros(4, dtype=np.int64)  # the solver's cell codes as the audit's
        to_audit[[_SHOWN, _PRIMARY, _HIDDEN, _UNPUBLISHED]] = (privacy_audit.SHOWN, privacy_audit.SMALL,
                                                              privacy_audit.WITHHELD, privacy_audit.FREE)
        hiding = np.unique(self.cell_county[(code == _PRIMARY) | (code == _HIDDEN)])
        counties = hiding if counties is None else np.intersect1d(counties, hiding)
        county_cell = np.zeros(self.cell_county.max() + 1, dtype=np.int64)
        county_cell[self.cell_county[self.kind == "county"]] = np.flatnonzero(self.kind == "county")
        cell_order = np.argsort(self.cell_county, kind="stable")
        cell_start = np.searchsorted(self.cell_county[cell_order], np.arange(self.cell_county.max() + 2))
        # every term by county, then sum, the total first, then the parts in their order (one sort for all
        # counties instead of a Python loop over each county's sums)
        term_order = np.lexsort((np.arange(len(self.eq)), self.coef < 0, self.eq, self.term_county))
        term_start = np.searchsorted(self.term_county[term_order], np.arange(self.cell_county.max() + 2))
        # which cells are in exactly the same sums (the audit's twins), for every county at once
        same_sums = np.full(len(self.value), -1, dtype=np.int64)
        if len(self.cell):
            present, group = privacy_audit._same_sums(self.cell, self.eq, np.sign(self.coef))
            same_sums[present] = group
        context = (to_audit, county_cell, cell_order, cell_start, term_order, term_start, same_sums)
        import gc
        collecting = gc.isenabled()
        gc.disable()  # the repair makes many small containers and no cycles: the collector only costs time
        try:
            for county in counties:
                self._repair_county(int(county), code, min_count, context)
        finally:
            if collecting:
                gc.enable()

    def _repair_county(self, county: int, code: np.ndarray, min_count: int, context: tuple) -> None:
        """`repair` for one county: audit, withhold, audit again until the audit finds nothing."""
        from junheng.rules import privacy_audit
        to_audit, county_cell, cell_order, cell_start, term_order, term_start, same_sums = context
        cells = np.sort(cell_order[cell_start[county]:cell_start[county + 1]])
        terms = term_order[term_start[county]:term_start[county + 1]]
        t_eq, t_cell = self.eq[terms], np.searchsorted(cells, self.cell[terms])  # local cell indices
        first = np.flatnonzero(np.concatenate(([True], t_eq[1:] != t_eq[:-1])))  # each sum's total (sorted first)
        ends = first[1:].tolist() + [len(t_cell)]
        sums = [(int(t_cell[a]), t_cell[a + 1:b]) for a, b in zip(first.tolist(), ends)]
        table = privacy_audit.Table(self.value[cells], to_audit[code[cells]], sums, same_sums=same_sums[cells])
        starts = np.zeros(len(t_cell), dtype=bool)
        starts[first] = True
        table._terms = (np.cumsum(starts) - 1, t_cell, np.where(starts, 1.0, -1.0))  # what table.terms() gives
        by_rule, cover = False, None
        while unsafe := privacy_audit.audit(table, min_count):
            if cover is None:
                cover = privacy_audit.Cover(table, int(np.searchsorted(cells, county_cell[county])), min_count)
            # Each unsafe cell in turn, against the cells withheld for the ones before it (one audit per round,
            # not per cell); a round whose linear programs withhold nothing is redone withholding by rule.
            before = int((table.status == privacy_audit.WITHHELD).sum())
            for cell in unsafe:
                picks = self._repairs(cell, table, cover, min_count, by_rule)
                table.status[picks] = privacy_audit.WITHHELD
                code[cells[picks]] = _HIDDEN
                if picks:
                    cover.withhold(picks)
            changed = int((table.status == privacy_audit.WITHHELD).sum()) > before
            if not changed and by_rule:
                break  # cannot happen: the county total is the last resort
            by_rule = not changed
        if cover is not None:
            privacy_audit._give_back(cover.highs)

    def _repairs(self, unsafe: tuple[int, int, int], table, cover, min_count: int, by_rule: bool) -> list[int]:
        """The cells to withhold (local indices of table) so that the unsafe cell can take the values it must:
        the least costly set a linear program finds (privacy_audit.Cover), else (by_rule) one cell by rule."""
        from junheng.rules import privacy_audit
        bad, low, high = unsafe
        # a covering solution for an earlier cell of this round may have moved it far enough
        low, high = min(low, int(table.seen_low[bad])), max(high, int(table.seen_high[bad]))
        span = int(privacy_audit.spans(table, min_count)[bad])
        if not any(privacy_audit._needs(table.status[bad], low, high, min_count, span)):
            return []
        if table.status[bad] == privacy_audit.SMALL:
            targets = [t for t, short in ((min_count - 1, high < min_count - 1), (1, low > 1)) if short]
        else:  # a span of min_count values (fewer in a "<5" total): up from the lowest seen, else down from the highest
            targets = [low + span] + ([high - span] if high - span >= 0 else [])
        for target in targets:
            picks = cover.picks(bad, target)
            if picks:
                return picks
            if picks is not None and table.status[bad] == privacy_audit.WITHHELD:
                break  # reachable as a linear program's fraction: a rule's cell instead
        if not by_rule:
            return []
        cover.refresh(widen=True)
        try:
            for target in targets:
                picks = cover.picks(bad, target)
                if picks:
                    return picks
        finally:
            cover.refresh()
        pick = self._repair_cell(bad, table, cover.fixed)
        return [] if pick is None else [pick]

    def _repair_cell(self, bad: int, table, county_cell: int) -> int | None:
        """The cell to withhold (a local index of table) so that `bad` can move: the shown cell that shares the
        most published sums with it (a school in the same township, 城乡 group, type and boarding moves against
        it in every sum at once), the smallest first; a zero or a group total only when no such school is left;
        failing all that, a small cell of those sums becomes withheld, and as the very last resort the county
        total."""
        from junheng.rules import privacy_audit
        status, value = table.status, table.value
        holding = [np.r_[total, parts] for total, parts in table.sums if total == bad or bad in parts]
        every = np.concatenate(holding)
        cells, shared = np.unique(every[every != bad], return_counts=True)
        shown = (status[cells] == privacy_audit.SHOWN) & (cells != county_cell)
        for pick in (shown & (value[cells] > 0), shown):
            if pick.any():
                order = np.lexsort((cells[pick], value[cells[pick]], -shared[pick]))
                return int(cells[pick][order[0]])
        for cell in cells:
            if status[cell] == privacy_audit.SMALL:
                return int(cell)
        if status[bad] == privacy_audit.SMALL:
            return int(bad)
        return county_cell if status[county_cell] == privacy_audit.SHOWN else None

    def bounds(self, code: np.ndarray, min_count: int) -> tuple[np.ndarray, np.ndarray]:
        """What a reader may know of each cell: shown exactly, "<5" in 1..4, "*" at least min_count (or the
        count itself if smaller; 0 if it is 0), a count never published anything from 0."""
        lo, hi = self.value.copy(), self.value.copy()
        primary = code == _PRIMARY
        lo[primary], hi[primary] = 1, min_count - 1
        other = code >= _HIDDEN
        lo[other] = np.where(code[other] == _HIDDEN, np.minimum(min_count, self.value[other]), 0)
        hi[other] = BIG
        return lo, hi

    def propagate(self, lo: np.ndarray, hi: np.ndarray, terms: np.ndarray | None = None,
                  rounds: int = 1000) -> tuple[np.ndarray, np.ndarray]:
        """Tighten every cell's interval from every sum, repeatedly, as a reader doing the arithmetic would.

        Each round applies, to every cell at once, the bounds each of its sums gives from the last round's
        intervals. A sum none of whose cells changed in the last round gives the bounds it gave then, which are
        applied already, so a round works out only the sums with a changed cell: the same rounds and the same
        result as working out every sum every round (sums of whole numbers below 2^53 are exact in any order),
        without redoing the 1.4 million terms of a national year each round."""
        eq, cell, coef = (self.eq, self.cell, self.coef) if terms is None else (
            self.eq[terms], self.cell[terms], self.coef[terms])
        positive = coef > 0
        todo = np.arange(len(eq))  # the terms of the sums to work out this round
        for _ in range(rounds):
            t_eq, t_cell, t_pos = eq[todo], cell[todo], positive[todo]
            c_lo, c_hi = lo[t_cell], hi[t_cell]
            t_lo = np.where(t_pos, c_lo, -c_hi)
            t_hi = np.where(t_pos, c_hi, -c_lo)
            s_lo = np.bincount(t_eq, t_lo, self.n_eq)[t_eq] - t_lo
            s_hi = np.bincount(t_eq, t_hi, self.n_eq)[t_eq] - t_hi
            x_lo = np.where(t_pos, -s_hi, s_lo)  # coef · x = −(the other terms)
            x_hi = np.where(t_pos, -s_lo, s_hi)
            new_lo, new_hi = lo.copy(), hi.copy()  # the caller's bounds stay as they were
            np.maximum.at(new_lo, t_cell, np.ceil(x_lo - 1e-6))
            np.minimum.at(new_hi, t_cell, np.floor(x_hi + 1e-6))
            moved = (new_lo != lo) | (new_hi != hi)
            lo, hi = new_lo, new_hi
            if not moved.any():
                break
            again = np.zeros(self.n_eq, dtype=bool)  # the sums with a cell that moved
            again[eq[moved[cell]]] = True
            todo = np.flatnonzero(again[eq])
        return lo, hi

    def _complements(self, solved: np.ndarray, code: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> set[int]:
        """The cells to hide so that none of the solved ones can be solved for (`_chosen`)."""
        return {v for v in self._chosen(solved, code, lo, hi).values() if v >= 0}

    def _chosen(self, solved: np.ndarray, code: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> dict[int, int]:
        """`_complement` for many solved cells at once (the common case vectorized, the rest one by one): per solved
        cell, the cell to hide (−1: none left)."""
        pairs = np.concatenate([self.cell_terms(c) for c in solved])  # (solved cell, sum) terms
        sums = np.unique(self.eq[pairs])
        terms = np.concatenate([self.eq_terms(e) for e in sums])
        t_eq, t_cell = self.eq[terms], self.cell[terms]
        width = np.minimum(hi - lo, BIG)
        slack = np.zeros(self.n_eq)
        np.add.at(slack, t_eq, width[t_cell])
        best = np.full(self.n_eq, -1)
        part = (self.coef[terms] < 0) & (code[t_cell] == _SHOWN)
        for pick in (part & (self.value[t_cell] > 0), part & (self.value[t_cell] == 0)):
            t = np.flatnonzero(pick & (best[t_eq] < 0))
            order = t[np.lexsort((t_cell[t], self.value[t_cell[t]], t_eq[t]))]
            first = order[np.r_[True, t_eq[order][1:] != t_eq[order][:-1]]] if len(order) else order
            best[t_eq[first]] = t_cell[first]
        c, e = self.cell[pairs], self.eq[pairs]
        key = np.lexsort((e, slack[e] - width[c], c))  # per solved cell, the sum that pins it most
        c, e = c[key], e[key]
        first = np.r_[True, c[1:] != c[:-1]]
        chosen = dict(zip(c[first].tolist(), best[e[first]].tolist()))
        for cell in [k for k, v in chosen.items() if v < 0]:  # that sum has no part left to hide
            extra = self._complement(cell, code, lo, hi)
            chosen[cell] = -1 if extra is None else extra
        return chosen

    def _complement(self, solved: int, code: np.ndarray, lo: np.ndarray, hi: np.ndarray) -> int | None:
        """The next-smallest cell to hide so that `solved` cannot be solved for, taken from the published sum
        that pins it down most (the one whose other terms are known most closely): its smallest shown non-zero
        part, else a shown zero, else the sum's own total (a group total, never the county total), else a "<5"
        that becomes "*"."""
        sums = []
        for term in self.cell_terms(solved):
            members = self.eq_terms(self.eq[term])
            others = members[self.cell[members] != solved]
            slack = float(np.minimum(hi[self.cell[others]] - lo[self.cell[others]], BIG).sum())
            sums.append((slack, int(self.eq[term]), members))
        sums.sort(key=lambda x: x[:2])
        for _, _, members in sums:
            cells, coefs = self.cell[members], self.coef[members]
            parts = cells[(coefs < 0) & (code[cells] == _SHOWN)]
            for pick in (parts[self.value[parts] > 0], parts[self.value[parts] == 0]):
                if len(pick):
                    return int(pick[np.lexsort((pick, self.value[pick]))[0]])
            for c in cells[coefs > 0]:
                if code[c] == _SHOWN and self.kind[c] == "group":
                    return int(c)
        # Nothing left to hide: the "<5" marks themselves give it away (four "<5" schools in a "<5" total are
        # all 1s). Mark a small count "*" instead, the total first: it then tells nothing about its size.
        for _, _, members in sums:
            cells, coefs = self.cell[members], self.coef[members]
            for c in (*cells[coefs > 0], *cells[coefs < 0]):
                if code[c] == _PRIMARY:
                    return int(c)
        return None


def region_counts(county_totals: pl.DataFrame, by: str | list[str], counts: dict[str, str],
                  min_count: int) -> pl.DataFrame:
    """Region totals of protected counts as published, from the published county totals alone (issue 23).

    county_totals: one row per county (and `by`), each count of `counts` (count -> status column) null where its
    status is not SHOWN. Per group of `by`: the exact sum where every county total in it is shown; a region of one
    county keeps that county's status (its total is that county's); otherwise the shown totals plus half the
    threshold for each hidden one, rounded to 10, status ESTIMATED. Every region total is then a function of
    published numbers, so no region minus its other counties gives a hidden county total back (a prefecture total
    less its shown counties did, on every page that summed exact county totals)."""
    keys = [by] if isinstance(by, str) else list(by)
    grouped = county_totals.group_by(keys).agg(
        pl.len().alias("_counties"),
        *[pl.col(c).filter(pl.col(s) == SHOWN).sum().alias(c) for c, s in counts.items()],
        *[(pl.col(s) != SHOWN).sum().alias(f"_hidden_{c}") for c, s in counts.items()],
        *[pl.col(s).first().alias(f"_only_{c}") for c, s in counts.items()],
    )
    out = []
    for count, status in counts.items():
        hidden, single = pl.col(f"_hidden_{count}"), pl.col("_counties") == 1
        out += [
            pl.when(hidden == 0).then(pl.col(count))
            .when(single).then(None)
            .otherwise(((pl.col(count) + hidden * (min_count / 2)) / 10).round(0) * 10).alias(count),
            pl.when(hidden == 0).then(pl.lit(SHOWN)).when(single).then(pl.col(f"_only_{count}"))
            .otherwise(pl.lit(ESTIMATED)).alias(status),
        ]
    return grouped.select(*keys, *out)


def school_marks(frame: pl.DataFrame, protection: Protection, column: str, min_count: int,
                 derived: tuple[str, ...] = ()) -> pl.DataFrame:
    """School rows for display or export: the count as text (number, "<5" or "*"), derived columns hidden for
    every suppressed or hidden count, and a `_hidden` flag for sorting."""
    status = protection.schools.select("school_id", pl.col("status").alias("_status"))
    out = frame.join(status, on="school_id", how="left").with_columns(pl.col("_status").fill_null(SHOWN))
    hidden = pl.col("_status") != SHOWN
    return out.with_columns(
        *[pl.when(hidden).then(None).otherwise(pl.col(c)).alias(c) for c in derived if c in out.columns],
        status_marks(column, min_count).alias(column),
        hidden.alias("_hidden"),
    ).drop("_status")


def status_marks(column: str, min_count: int, status: str = "_status") -> pl.Expr:
    """A count column as published text, by the status in column `status`: the number, "<5" or "*"."""
    return (pl.when(pl.col(status) == PRIMARY).then(pl.lit(suppressed_text(min_count)))
            .when(pl.col(status) == COMPLEMENTARY).then(pl.lit(HIDDEN_MARK))
            .otherwise(pl.col(column).cast(pl.Int64).cast(pl.String)))


def sort_hidden_last(frame: pl.DataFrame, by: list[str], descending: bool, name: str) -> pl.DataFrame:
    """Shown rows in the table's order, then every suppressed or hidden row by name: a hidden count's
    position in the list tells nothing about its size."""
    shown = frame.filter(~pl.col("_hidden")).sort(by, descending=descending, nulls_last=True)
    hidden = frame.filter(pl.col("_hidden")).sort(name)
    return pl.concat([shown, hidden]).drop("_hidden")

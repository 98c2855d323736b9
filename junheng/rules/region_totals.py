"""Exact region totals of the protected counts where no hidden county total can be worked back (issue 23).

A region's left-behind or migrant total with a hidden county total in it was always an estimate (shown totals
plus half the threshold per hidden county, rounded to 10: `privacy.region_counts`), however many hidden counties
it held: the national 2025 total of the national demo data, 6 hidden county totals of 36 to 389 children each
counted as 2.5, was off by hundreds. Here every region (the nation, a province, a prefecture) that holds a hidden
county total is published exactly unless the reader's integer program over every county total and every exact
region total at once (privacy_audit.region_audit, the same attack as the county cells') then narrows a hidden
county total beyond its mark; the regions it would are turned into estimates, deepest first, until the audit
finds nothing. A region with one hidden county can never be exact (it less its shown counties is that county's
total); a region with two or more often can.

The decision is taken over every county of the data and every region at once, so it holds whichever of them a
reader sees. A region whose counties a reader sees only in part (a guest beside a bureau's real data) keeps the
estimate: the caller compares the region's county count with its own.
"""
from __future__ import annotations

import numpy as np
import polars as pl

from junheng.rules import privacy, privacy_audit

DEPTHS = (4, 2, 0)  # a prefecture, a province, the nation: the regions above a county, deepest first
SCHEMA = {"region": pl.String, "year": pl.Int32, "measure": pl.String, "value": pl.Int64, "counties": pl.Int64,
          "exact": pl.Boolean}


def decide(counties: pl.DataFrame, measures: dict[str, str], min_count: int) -> pl.DataFrame:
    """Per year, measure and region holding a hidden county total: region, year, measure, value (the exact total),
    counties (how many counties it holds), exact (whether the exact total may be published).

    counties: one row per county and year with each measure's true total and, in its status column (measures:
    count column -> status column), the county total's published status (privacy.SHOWN, PRIMARY, COMPLEMENTARY).
    """
    rows = []
    for (year,), part in counties.sort("county_code").group_by(["year"], maintain_order=True):
        codes = part["county_code"].to_list()
        for measure, status_column in measures.items():
            statuses = part[status_column].to_list()
            values = part[measure].fill_null(0).cast(pl.Int64).to_numpy()
            hidden = [c for c, s in zip(codes, statuses) if s != privacy.SHOWN]
            if not hidden:
                continue
            # the regions holding a hidden county: the only ones whose total tells anything of a hidden cell
            prefixes = sorted({c[:d] for c in hidden for d in DEPTHS})
            inside = {p: np.flatnonzero([c.startswith(p) for c in codes]) for p in prefixes}
            totals = {p: int(values[idx].sum()) for p, idx in inside.items()}
            estimated: set[str] = set()
            while True:
                regions = [(p, totals[p], privacy.ESTIMATED if p in estimated else privacy.SHOWN) for p in prefixes]
                unsafe = privacy_audit.region_audit(codes, values, statuses, regions, min_count)
                if not unsafe:
                    break
                before = len(estimated)
                for code, _, _ in unsafe:
                    deepest = next((code[:d] for d in DEPTHS if code[:d] in totals and code[:d] not in estimated),
                                   None)
                    if deepest is not None:
                        estimated.add(deepest)
                if len(estimated) == before:  # nothing left to turn into an estimate: publish none exactly
                    estimated = set(prefixes)
                    break
            rows += [(p, int(year), measure, totals[p], len(inside[p]), p not in estimated) for p in prefixes]
    return pl.DataFrame(rows, schema=SCHEMA, orient="row")


def apply(totals: pl.DataFrame, decided: pl.DataFrame | None, region: str, counties: dict[int, int],
          measures: dict[str, str]) -> pl.DataFrame:
    """Region totals (one row per year, as overview.region_totals makes them) with each estimated protected count
    replaced by the exact one where `decide` allows it for this region and the caller sees every county of it
    (counties: year -> how many counties the caller's rows hold)."""
    if decided is None or decided.is_empty() or len(region) >= 6:
        return totals
    mine = decided.filter((pl.col("region") == region) & pl.col("exact"))
    out = totals
    for measure, status_column in measures.items():
        rows = mine.filter(pl.col("measure") == measure)
        exact = {y: v for y, v, n in rows.select("year", "value", "counties").iter_rows() if counties.get(y) == n}
        if not exact or measure not in out.columns:
            continue
        use = pl.col("year").is_in(list(exact)) & (pl.col(status_column) == privacy.ESTIMATED)
        value = pl.col("year").replace_strict(exact, default=None, return_dtype=pl.Int64)
        out = out.with_columns(
            pl.when(use).then(value.cast(out.schema[measure])).otherwise(pl.col(measure)).alias(measure),
            pl.when(use).then(pl.lit(privacy.SHOWN)).otherwise(pl.col(status_column)).alias(status_column))
    return out

"""The exact region totals of protected counts that may be published (issue 23; rules/region_totals.py).

A system read: the decision is taken over every county of the data at once (what one reader sees depends on what
every other reader may see), so the county totals are read in the EVERYTHING scope here. What leaves this module
is only, per region holding a hidden county total, whether its exact total may be shown and that total; a page
uses a region's row only for the region it shows and only when it sees every county of it
(rules/region_totals.apply), so no reader gets a number from outside its scope.
"""
from __future__ import annotations

import polars as pl

from junheng.data import db
from junheng.data.scope import EVERYTHING
from junheng.rules import region_totals

# the protected counts and the columns of their published status (as rules.overview.PROTECTED)
MEASURES = {"left_behind_students": "left_behind_status", "migrant_students": "migrant_status"}


def decisions(con, years: list[int] | tuple[int, ...], min_count: int) -> pl.DataFrame:
    """region_totals.decide over the county totals of years as published at min_count (empty at 0: nothing hidden)."""
    if min_count <= 0:
        return pl.DataFrame(schema=region_totals.SCHEMA)
    years = [int(y) for y in years]
    published = db.run(con, "county_published_totals", EVERYTHING, years=years, region="", min_count=min_count)
    exact = db.run(con, "county_published_totals", EVERYTHING, years=years, region="", min_count=0)
    counties = exact.select("county_code", "year", *MEASURES).join(
        published.select("county_code", "year", *MEASURES.values()), on=["county_code", "year"], how="inner")
    return region_totals.decide(counties, MEASURES, min_count)

"""What the left-behind page shows, read the cheapest way that gives the same tables.

One county: its school rows (a few hundred), with the suppression decided from them. Above a county: the
breakdowns and migrant groups a version stored per county (`left_behind_groups`, `migrant_groups`) and the
first rows of the care-gap list (`care_gap_top`): no region's 250,000 school rows fetched or kept, no suppression
decided on a year's first visit. The stored statuses are the ones decided per county from all of the county's
schools, which is what the school rows give too (tests/test_left_behind_stored.py).
"""
from __future__ import annotations

from collections.abc import Callable

import polars as pl

from junheng.rules import left_behind
from junheng.views import cache

GAP_ROWS = 100   # care-gap rows on the page (the download has them all; 500 were 72 KB of a first load)
GAP_MARGIN = 100  # more shown rows fetched than displayed, so the order is decided here, by school_care


class FromSchools:
    """A county's page (or a threshold the versions did not store): from the school rows."""

    def __init__(self, year: int, region: str, rules: dict):
        self.rules = rules
        self.schools = cache.query("school_rows", year=year, region=region)
        self.care = left_behind.school_care(self.schools, rules)
        # What may be published, decided per county: once per data version, year, region and rules.
        self.shield = cache.memo(("left_behind_protection", year, region, cache.scope().key, repr(rules)),
                              lambda: left_behind.protection(self.care, rules))

    def empty(self) -> bool:
        return self.schools.is_empty()

    def breakdown(self, by: str) -> pl.DataFrame:
        return left_behind.published_breakdown(self.care, by, self.shield, self.rules)

    def gap_list(self, lang: str) -> tuple[pl.DataFrame, pl.DataFrame | Callable[[], pl.DataFrame]]:
        """(the rows shown, the whole list or a function that makes it)."""
        full = left_behind.care_gap_table(self.care, self.shield, self.rules, lang)
        return full.head(GAP_ROWS), full

    def migrants(self) -> pl.DataFrame:
        return left_behind.migrant_where(self.schools, self.rules)


class FromAggregates:
    """A region's page from the aggregates stored with each version."""

    def __init__(self, year: int, region: str, rules: dict):
        self.year, self.region, self.rules = year, region, rules
        self.min_count = rules["privacy"]["min_count"]
        self.groups = {"urban_rural_group": cache.query("left_behind_groups", year=year, region=region,
                                                     by="urban_rural_group", min_count=self.min_count)}

    def empty(self) -> bool:
        return self.groups["urban_rural_group"].is_empty()

    def breakdown(self, by: str) -> pl.DataFrame:
        if by not in self.groups:
            self.groups[by] = cache.query("left_behind_groups", year=self.year, region=self.region, by=by,
                                       min_count=self.min_count)
        return left_behind.stored_breakdown(self.groups[by], self.rules)

    def gap_list(self, lang: str) -> tuple[pl.DataFrame, Callable[[], pl.DataFrame]]:
        top = cache.query("care_gap_top", year=self.year, region=self.region, min_count=self.min_count,
                       classes_per_psych_teacher=self.rules["targets"]["psych_classes_per_teacher"],
                       limit=GAP_ROWS + GAP_MARGIN)
        shown = left_behind.stored_care_gap_table(top, self.rules, lang).head(GAP_ROWS)
        rows = cache.query_later("school_rows", year=self.year, region=self.region)
        statuses = cache.query_later("school_count_status", region=self.region, year_from=self.year,
                                  year_to=self.year, min_count=self.min_count)
        return shown, lambda: left_behind.stored_care_gap_table(rows().join(
            statuses().select("school_id", "left_behind_status"), on="school_id", how="left"), self.rules, lang)

    def migrants(self) -> pl.DataFrame:
        return left_behind.stored_migrant_where(cache.query("migrant_groups", year=self.year, region=self.region,
                                                         min_count=self.min_count), self.rules)


def page_data(year: int, region: str, county: str | None, rules: dict, has_schools: bool):
    """FromAggregates above a county when the versions stored this threshold's aggregates, else FromSchools.
    has_schools: the region has schools this year (then stored aggregates that are empty mean another
    threshold, never no data)."""
    if county is None and has_schools:
        stored = FromAggregates(year, region, rules)
        if not stored.empty():
            return stored
    return FromSchools(year, region, rules)

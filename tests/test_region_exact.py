"""Region totals published exactly where no hidden county total can be worked back (issue 23, rules/region_totals.py).

The attack is tests/test_privacy_audit.py's (scipy's HiGHS over everything published at once), written from what
the overview publishes: every county total (shown, "<5" or withheld) and every region total (exact, or an estimate
made of published numbers, which is no sum).
"""
import numpy as np
import polars as pl

from junheng.rules import overview, privacy, region_totals
from tests.test_privacy_audit import MIN, attack

MEASURES = {"n": "n_status"}
MARK = {privacy.SHOWN: "shown", privacy.PRIMARY: "small", privacy.COMPLEMENTARY: "withheld"}


def counties(values: dict[str, tuple[int, str]], year: int = 2025) -> pl.DataFrame:
    return pl.DataFrame({"county_code": list(values), "year": [year] * len(values),
                         "n": [v for v, _ in values.values()], "n_status": [s for _, s in values.values()]},
                        schema_overrides={"year": pl.Int32})


def published(frame: pl.DataFrame, decided: pl.DataFrame, exact_everywhere: bool = False) -> dict:
    """What a reader of every region sees, in the contract's shape: the county totals, and each region's total as a
    sum where it is published exactly (regions without a hidden county are exact sums of shown totals anyway)."""
    codes = frame["county_code"].to_list()
    cells = [{"id": c, "kind": "county", "status": MARK[s], "value": int(v) if s == privacy.SHOWN else None}
             for c, v, s in frame.select("county_code", "n", "n_status").iter_rows()]
    exact = {r: v for r, v, e in decided.select("region", "value", "exact").iter_rows() if e or exact_everywhere}
    sums = []
    for region in sorted({c[:d] for c in codes for d in (0, 2, 4)}):
        parts = [c for c in codes if c.startswith(region)]
        hidden = frame.filter(pl.col("county_code").is_in(parts) & (pl.col("n_status") != privacy.SHOWN)).height
        if hidden and region not in exact:
            continue  # an estimate: a number made of published ones
        value = exact.get(region, int(frame.filter(pl.col("county_code").is_in(parts))["n"].sum()))
        cells.append({"id": f"region:{region}", "kind": "group", "status": "shown", "value": value})
        sums.append({"total": f"region:{region}", "parts": parts})
    return {"county_code": "", "year": 2025, "measure": "n", "cells": cells, "sums": sums}


def learned(item: dict) -> list:
    return [x for x in attack(item, MIN) if not x["id"].startswith("region:")]


W, P, S = privacy.COMPLEMENTARY, privacy.PRIMARY, privacy.SHOWN


def test_two_withheld_counties_make_their_province_and_the_nation_exact_not_their_prefectures():
    # province 99: prefecture 9901 holds withheld 990101 (120), prefecture 9902 holds withheld 990201 (80)
    frame = counties({"990101": (120, W), "990102": (40, S), "990103": (35, S),
                      "990201": (80, W), "990202": (50, S), "990203": (61, S)})
    decided = region_totals.decide(frame, MEASURES, MIN)
    got = {r: (v, n, e) for r, v, n, e in decided.select("region", "value", "counties", "exact").iter_rows()}
    # a prefecture with one hidden county less its shown counties is that county: never exact
    assert got["9901"] == (195, 3, False) and got["9902"] == (191, 3, False)
    # the province (and the nation, the same counties) less its shown ones is 120 + 80: each 0..200, no narrower
    assert got["99"] == (386, 6, True) and got[""] == (386, 6, True)
    assert learned(published(frame, decided)) == []
    # publishing every region exactly (what `decide` refuses) gives both counties back: the test can fail
    assert {x["id"] for x in learned(published(frame, decided, exact_everywhere=True))} == {"990101", "990201"}


def test_two_small_counties_of_a_prefecture_are_exact_only_when_their_sum_keeps_both_in_1_to_4():
    for (a, b), exact in (((1, 1), False), ((2, 3), True), ((4, 4), False), ((1, 4), True)):
        frame = counties({"990101": (a, P), "990102": (b, P), "990103": (60, S)})
        decided = region_totals.decide(frame, MEASURES, MIN)
        got = dict(decided.select("region", "exact").iter_rows())
        # a + b = 2 (or 8) forces both to 1 (or 4); a + b = 5 leaves each anywhere in 1..4
        assert got["9901"] is exact, (a, b)
        assert learned(published(frame, decided)) == []


def test_random_regions_leak_nothing_and_some_become_exact():
    rng = np.random.default_rng(7)
    exact_regions = 0
    for _ in range(25):
        values = {}
        for p in range(2):
            for f in range(3):
                for c in range(int(rng.integers(1, 5))):
                    code = f"9{p}{f:02d}{c + 1:02d}"
                    kind = rng.choice(["shown", "small", "withheld"], p=[0.6, 0.2, 0.2])
                    value = int(rng.integers(1, 5)) if kind == "small" else int(rng.integers(5, 300))
                    values[code] = (value, {"shown": S, "small": P, "withheld": W}[kind])
        frame = counties(values)
        decided = region_totals.decide(frame, MEASURES, MIN)
        exact_regions += int(decided["exact"].sum())
        assert learned(published(frame, decided)) == [], values
    assert exact_regions > 0  # else the feature does nothing


def test_a_page_takes_the_exact_total_only_for_its_region_and_only_seeing_every_county():
    frame = counties({"990101": (120, W), "990102": (40, S), "990201": (80, W), "990202": (50, S)})
    decided = region_totals.decide(frame, MEASURES, MIN)
    shown = frame.with_columns(pl.when(pl.col("n_status") == S).then(pl.col("n")).alias("n"))  # as published
    rows = shown.rename({"n": "left_behind_students", "n_status": "left_behind_status"}).with_columns(
        *[pl.lit(1).alias(c) for c in overview.SUM_COLUMNS if c not in ("left_behind_students", "migrant_students")],
        pl.lit(10).alias("migrant_students"), pl.lit(S).alias("migrant_status"))
    decided = decided.with_columns(pl.lit("left_behind_students").alias("measure"))
    province = overview.region_totals(rows, MIN, decided, "99").row(0, named=True)
    assert (province["left_behind_students"], province["left_behind_status"]) == (290, S)
    # without the decision, or seeing only part of the province (a guest beside real data): the estimate
    estimate = overview.region_totals(rows, MIN).row(0, named=True)
    # 40 + 50 shown, two hidden × 2.5: 95 → 100 (rounded to 10)
    assert estimate["left_behind_status"] == privacy.ESTIMATED and estimate["left_behind_students"] == 100
    part = overview.region_totals(rows.filter(pl.col("county_code") != "990202"), MIN, decided, "99").row(0, named=True)
    assert part["left_behind_status"] == privacy.ESTIMATED
    prefecture = overview.region_totals(rows.filter(pl.col("county_code").str.starts_with("9901")), MIN, decided,
                                        "9901").row(0, named=True)
    assert prefecture["left_behind_status"] == privacy.ESTIMATED

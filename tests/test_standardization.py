"""Standardization and large classes: pace projections, milestones and the roadmap, by hand."""
import polars as pl
import pytest

from junheng import settings
from junheng.rules import standardization as std

RULES = settings.load_thresholds()


@pytest.mark.parametrize("remaining, pace, expected", [
    (0, None, 2025), (6, 2.0, 2028), (7, 2.0, 2029), (5, 0.0, None), (5, None, None), (1, 3.0, 2026)])
def test_projected_year(remaining, pace, expected):
    assert std.projected_year(2025, remaining, pace) == expected


def totals(rows):
    base = {"schools": 10, "standardized_schools": 0, "public_schools": 10, "public_standardized_schools": 0,
            "classes": 100, "classes_56_65": 0, "classes_66_plus": 0}
    return pl.DataFrame([{**base, **r} for r in rows])


def test_roadmap_pace_and_lateness():
    # County A: 4 → 7 standardized of 10 public schools in 3 years: pace 1 a year, 3 left → 2028, late
    # (deadline 2020). Large classes 40 → 10 of 100 in 3 years: pace 10; goal ≤ 5 → 5 to go → 2026, late.
    # County B: all standardized, 3 large classes of 100 (≤ 5%): nothing late.
    frame = std.progress(totals([
        {"county_code": "A", "year": 2022, "public_standardized_schools": 4, "classes_56_65": 40},
        {"county_code": "A", "year": 2025, "public_standardized_schools": 7, "classes_56_65": 8, "classes_66_plus": 2},
        {"county_code": "B", "year": 2022, "public_standardized_schools": 10, "classes_56_65": 5},
        {"county_code": "B", "year": 2025, "public_standardized_schools": 10, "classes_56_65": 3}]))
    plan = {r["county_code"]: r for r in std.roadmap(frame, 2025, RULES).iter_rows(named=True)}
    a, b = plan["A"], plan["B"]
    assert (a["remaining_public"], a["standardization_pace"], a["standardization_year"]) == (3, 1.0, 2028)
    assert a["standardization_late"] is True
    assert (a["large_class_pace"], a["large_class_year"], a["large_class_late"]) == (10.0, 2026, True)
    assert (b["remaining_public"], b["standardization_late"], b["large_class_late"]) == (0, False, False)


def test_region_shares_come_from_summed_counts():
    frame = totals([{"county_code": "A", "year": 2020, "schools": 10, "standardized_schools": 10},
                    {"county_code": "B", "year": 2020, "schools": 90, "standardized_schools": 0}])
    assert std.region_progress(frame)["standardized_share"][0] == pytest.approx(0.1)  # not the mean 0.5


def test_milestones_by_hand():
    # 66+: 40 → 20 classes in 2017 (cut 50%: met); 2018: 1 of 100 (1% ≤ 2%: met).
    # 56+: 2017 → 2018 from 60 to 46 (cut 23%: not met); 2020: 6 of 100 (6% > 5%: not met).
    region = std.region_progress(totals([
        {"county_code": "A", "year": 2016, "classes_66_plus": 40, "classes_56_65": 40},
        {"county_code": "A", "year": 2017, "classes_66_plus": 20, "classes_56_65": 40},
        {"county_code": "A", "year": 2018, "classes_66_plus": 1, "classes_56_65": 45},
        {"county_code": "A", "year": 2019, "classes_56_65": 20},
        {"county_code": "A", "year": 2020, "classes_56_65": 6, "public_standardized_schools": 10}]))
    checks = {r["milestone"]: r for r in std.milestone_checks(region, RULES).iter_rows(named=True)}
    assert checks["cut_66_2017"]["value"] == pytest.approx(0.5) and checks["cut_66_2017"]["met"]
    assert checks["basic_66"]["met"] and checks["all_public"]["met"]
    assert checks["cut_56_2018"]["value"] == pytest.approx(1 - 46 / 60) and not checks["cut_56_2018"]["met"]
    assert checks["basic_56"]["value"] == pytest.approx(0.06) and not checks["basic_56"]["met"]

"""Panels (issue 26 point 3): per-school spans and exits, the wide layout, the county × year table; by hand."""
import polars as pl
import pytest

from junheng.rules import cohort_panel

ROWS = pl.DataFrame({
    "county_code": ["370724"] * 5 + ["370725"],
    "school_id": ["a", "a", "a", "b", "c", "d"],
    "school_name": ["甲", "甲", "甲新", "乙", "丙", "丁"],
    "year": [2020, 2021, 2022, 2020, 2021, 2022],
    "students": [100, 110, 120, 50, 200, 80],
    "students_per_teacher": [10.0, 11.0, 12.0, 20.0, 5.0, None],
})
SPANS = pl.DataFrame({
    "school_id": ["a", "b", "c", "d"], "first_year": [2018, 2020, 2019, 2022], "last_year": [2025, 2020, 2021, 2025],
    "years_present": [8, 1, 3, 4], "last_parent_school_id": [None, None, "a", None],
})


def test_each_row_names_its_schools_span_presence_and_exit():
    out = cohort_panel.with_panel(ROWS, SPANS, (2020, 2022), 2025)
    by_school = {r["school_id"]: (r["first_year"], r["last_year"], r["in_every_year"], r["exit"])
                 for r in out.unique("school_id").iter_rows(named=True)}
    assert by_school == {"a": (2018, 2025, True, None),     # every year of 2020–2022, still open in 2025
                         "b": (2020, 2020, False, "closed"),  # gone after 2020, belonging to no school
                         "c": (2019, 2021, False, "merged"),  # its last row names the school it joined
                         "d": (2022, 2025, False, None)}
    assert out.height == ROWS.height


def test_the_wide_layout_is_one_row_per_school_and_a_column_per_measure_and_year():
    out = cohort_panel.wide(ROWS, ["students", "students_per_teacher"])
    assert out["school_id"].to_list() == ["a", "b", "c", "d"]
    assert out.columns[:3] == ["county_code", "school_id", "school_name"]
    a = out.row(0, named=True)
    assert (a["school_name"], a["students_2020"], a["students_2021"], a["students_2022"]) == ("甲新", 100, 110, 120)
    assert out.row(1, named=True)["students_2021"] is None
    assert {c for c in out.columns if c.startswith("students_per_teacher_")} == {
        "students_per_teacher_2020", "students_per_teacher_2021", "students_per_teacher_2022"}


def test_the_county_year_table_weights_each_measure_by_enrolment():
    out = cohort_panel.county_year(ROWS, ["students", "students_per_teacher"])
    got = {(r["county_code"], r["year"]): (r["schools"], r["students"], r["students_per_teacher"])
           for r in out.iter_rows(named=True)}
    assert got[("370724", 2020)] == (2, 150, pytest.approx((100 * 10 + 50 * 20) / 150))
    assert got[("370724", 2021)] == (2, 310, pytest.approx((110 * 11 + 200 * 5) / 310))
    assert got[("370724", 2022)] == (1, 120, pytest.approx(12.0))
    assert got[("370725", 2022)][:2] == (1, 80) and got[("370725", 2022)][2] is None  # no value, no mean

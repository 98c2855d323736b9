"""Fixed membership (issue 26 point 4): "follow the cohort of year Y" keeps the schools that met the conditions in Y
and follows them through the range, beside today's per-year membership. Checked against a hand computation."""
import shutil

import polars as pl
import pytest

from junheng.data import cohort as cohort_query
from junheng.data import db, demo
from junheng.data.scope import EVERYTHING
from junheng.rules import cohort as grammar
from tests.conftest import frame, school

# Three 临朐 schools over two years; urban_rural_code 111 is urban, 210 and 220 rural.
#   A: rural in 2023, urban in 2024;  B: urban in 2023, rural in 2024;  C: rural in both.
ROWS = [
    school(year=2023, school_id="3707240001", urban_rural_code="220", primary_students=100, left_behind_students=30),
    school(year=2023, school_id="3707240002", urban_rural_code="111", primary_students=200, left_behind_students=20),
    school(year=2023, school_id="3707240003", urban_rural_code="210", primary_students=300, left_behind_students=90),
    school(year=2024, school_id="3707240001", urban_rural_code="111", primary_students=120, left_behind_students=24),
    school(year=2024, school_id="3707240002", urban_rural_code="220", primary_students=180, left_behind_students=54),
    school(year=2024, school_id="3707240003", urban_rural_code="210", primary_students=280, left_behind_students=70),
]
RURAL = (grammar.parse("urban_rural = 乡村"),)


@pytest.fixture()
def con(tmp_path, boundary_dir):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    rows = frame(ROWS)
    for year in (2023, 2024):
        demo.write_snapshot(tmp_path, year, rows.filter(pl.col("year") == year), source="tests", synthetic=True)
    return db.connect(tmp_path)


def trend(con, spec) -> dict:
    out = cohort_query.trends(con, EVERYTHING, {"a": spec}, (2023, 2024), 0, "left_behind_share")["a"]
    return {y: (n, round(m, 6)) for y, n, m in out.select("year", "school_count", "mean").iter_rows()}


def test_the_followed_cohorts_trend_equals_the_hand_computation(con):
    followed = grammar.Cohort("370724", 2023, 2024, RURAL, follow_year=2023)
    # 2023: A and C, (30 + 90) / (100 + 300) = 0.30; 2024: the same A and C, (24 + 70) / (120 + 280) = 0.235
    assert trend(con, followed) == {2023: (2, 0.3), 2024: (2, 0.235)}


def test_per_year_membership_is_unchanged_beside_it(con):
    per_year = grammar.Cohort("370724", 2023, 2024, RURAL)
    # 2024's rural schools are B and C: (54 + 70) / (180 + 280)
    assert trend(con, per_year) == {2023: (2, 0.3), 2024: (2, round(124 / 460, 6))}


def test_following_the_later_year_keeps_that_years_schools_back_in_time(con):
    followed = grammar.Cohort("370724", 2023, 2024, RURAL, follow_year=2024)
    # B and C: 2023 (20 + 90) / (200 + 300) = 0.22; 2024 (54 + 70) / (180 + 280)
    assert trend(con, followed) == {2023: (2, 0.22), 2024: (2, round(124 / 460, 6))}


def test_the_export_rows_and_the_statistics_agree_on_the_followed_schools(con):
    followed = grammar.Cohort("370724", 2023, 2024, RURAL, follow_year=2023)
    rows = cohort_query.run(con, followed, EVERYTHING, (2023, 2024), 0).rows
    assert rows.select("school_id", "year").sort("school_id", "year").rows() == [
        ("3707240001", 2023), ("3707240001", 2024), ("3707240003", 2023), ("3707240003", 2024)]
    size = cohort_query.size(con, EVERYTHING, followed, (2023, 2024), 0)
    assert (size["schools"], size["school_years"]) == (2, 4)
    # the SQL the file names gives the same rows
    result = cohort_query.published_plan(followed, (2023, 2024), 0)
    again = db.run_text(con, result.sql.split("\n", 2)[2], EVERYTHING, result.params)
    assert sorted(again.select("school_id", "year").rows()) == sorted(rows.select("school_id", "year").rows())


def test_the_rest_of_a_followed_cohort_is_the_other_schools_of_that_year_followed(con):
    followed = grammar.Cohort("370724", 2023, 2024, RURAL, follow_year=2023)
    rest = cohort_query.trends(con, EVERYTHING, {"a": cohort_query.Rest(followed)}, (2023, 2024), 0,
                               "left_behind_share")["a"]
    # B alone, both years: 20 / 200 and 54 / 180
    assert [round(m, 6) for m in rest.sort("year")["mean"]] == [0.1, 0.3]


def test_the_cohort_page_follows_the_year_in_its_link(monkeypatch, demo_data, demo_frame):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    root = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    monkeypatch.chdir(root)

    def schools(follow: str | None) -> int:
        at = AppTest.from_file(str(root / "pages" / "cohort.py"), default_timeout=180)
        at.query_params.update({"county": "370724", "from": "2016", "where": "urban_rural = rural"})
        if follow:
            at.query_params["follow"] = follow
        at.run()
        assert not at.exception, [e.value for e in at.exception]
        if follow:
            assert at.selectbox(key="follow").value == int(follow)
        return int(at.metric[0].value.replace(",", ""))

    rural = demo_frame.filter((pl.col("county_code") == "370724") & pl.col("urban_rural_code").is_in(["210", "220"]))
    # followed: 2016's rural schools; per year: every school that was rural in some year of 2016–2025
    assert schools("2016") == rural.filter(pl.col("year") == 2016)["school_id"].n_unique()
    assert schools(None) == rural.filter(pl.col("year") >= 2016)["school_id"].n_unique()

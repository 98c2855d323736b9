"""The cohort's statistics computed in DuckDB (junheng/data/cohort.py) equal the Polars ones (junheng/rules/
cohort_stats.py) on the cohort's published rows: size, facets, summary, trend, histogram, county values, with
enrolment weights, missing values and suppressed left-behind and migrant counts; and a few numbers by hand."""
import polars as pl
import pytest
from polars.testing import assert_frame_equal

from junheng.data import cohort as dc
from junheng.data import db, demo
from junheng.data.scope import EVERYTHING, Scope
from junheng.rules import cohort as g
from junheng.rules import cohort_stats as stats
from junheng.rules import privacy
from tests.conftest import frame, school

MEASURES = ["left_behind_share", "migrant_share", "primary_class_size", "students_per_teacher", "students"]
FACETS = ["urban_rural", "school_type", "is_boarding", "is_public", "township"]
COLUMNS = ["school_name", "students", "lon", "lat", *FACETS, *MEASURES]


def _rows(n: int, year: int) -> list[dict]:
    """One county's schools: different sizes (weights), small left-behind and migrant counts (suppressed), a
    school without classes (no class size), one without teachers, one with no compulsory students."""
    out = []
    for i in range(n):
        out.append(school(year=year, school_id=f"3707240{i:03d}", township=("城关街道", "五井镇")[i % 2],
                          urban_rural_code=("111", "121", "220")[i % 3],
                          school_type=("primary", "teaching_point", "junior")[i % 3],
                          is_boarding=i % 4 == 0, is_public=i % 5 != 0,
                          primary_students=0 if i == 7 else 40 + 37 * i + year % 7,
                          junior_students=(60 + 11 * i) if i % 3 == 2 else 0,
                          primary_classes=None if i == 3 else 2 + i % 6,
                          teachers=None if i == 5 else 5 + i,
                          left_behind_students=(1 + i) if i % 4 == 1 else 10 + 3 * i,
                          migrant_students=(2 + i % 3) if i % 3 == 0 else 20 + i))
    return out


@pytest.fixture(scope="module")
def small_con(tmp_path_factory, boundary_dir):
    import shutil
    out = tmp_path_factory.mktemp("cohort_sql")
    shutil.copytree(boundary_dir, out / "boundaries")
    for year in (2023, 2024, 2025):
        demo.write_snapshot(out, year, frame(_rows(14 + year % 3, year)), source="tests", synthetic=True)
    return db.connect(out)


def _check(con, scope, spec, years, min_count, other=None):
    """Every statistic from DuckDB against cohort_stats on the rows `run` fetches (the page's old way)."""
    rows = dc.run(con, spec, scope, years, min_count, COLUMNS).rows
    size = dc.size(con, scope, spec, years, min_count)
    assert {k: size[k] for k in ("schools", "school_years", "students", "year")} == stats.size(rows)
    assert size["last_year_rows"] == rows.filter(pl.col("year") == size["year"]).height
    facets = dc.facet_counts(con, scope, spec, years, min_count, FACETS)
    assert facets == {c: stats.facet_counts(rows, c) for c in FACETS}
    if other is None:
        region = dc.run(con, spec.with_conditions(()), scope, years, min_count, COLUMNS).rows
        other, other_rows = dc.Rest(spec), stats.rest(region, rows)
    else:
        other_rows = dc.run(con, other, scope, years, min_count, COLUMNS).rows
    both = {"a": spec, "b": other}
    summaries = dc.summaries(con, scope, both, years, min_count, MEASURES)
    for name, polars_rows in (("a", rows), ("b", other_rows)):
        assert_frame_equal(summaries[name], stats.summary(polars_rows, MEASURES).cast(dc.SUMMARY_SCHEMA), rel_tol=1e-12)
    for measure in MEASURES:
        trends = dc.trends(con, scope, both, years, min_count, measure)
        assert_frame_equal(trends["a"], stats.trend(rows, measure).cast(dc.TREND_SCHEMA), rel_tol=1e-12)
        assert_frame_equal(trends["b"], stats.trend(other_rows, measure).cast(dc.TREND_SCHEMA), rel_tol=1e-12)
        if size["year"] is None:
            continue
        last = {"a": rows.filter(pl.col("year") == size["year"]),
                "b": other_rows.filter(pl.col("year") == size["year"])}
        for bins in (30, 7):  # the same bins, exactly: edges from the same nearest quantiles
            assert_frame_equal(dc.histogram(con, scope, both, years, min_count, measure, size["year"], bins),
                               stats.histogram(last, measure, bins).cast(dc.HISTOGRAM_SCHEMA))
    shared = MEASURES[:-1]  # not `students`: cohort_stats.county_values names its own total so
    values = dc.county_values(con, scope, spec, years, min_count, shared)
    assert_frame_equal(values, stats.county_values(rows, shared).cast(values.schema), rel_tol=1e-12)
    page = dc.rows_page(con, scope, spec, years, min_count, limit=7)
    assert page.select("school_id", "year").rows() == rows.head(7).select("school_id", "year").rows()
    every = dc.run(con, spec, scope, years, min_count).rows
    assert_frame_equal(page, every.head(7))
    return rows


@pytest.mark.parametrize("min_count", [5, 3, 0])  # 5: decisions stored with the data; 3: decided in Polars; 0: exact
@pytest.mark.parametrize("where", [[], ["school_type in (小学, 教学点)"],
                                   ["students >= 100", "left_behind_share > 0.1"], ["migrant_students != 25"]])
def test_duckdb_statistics_equal_the_polars_ones_with_weights_nulls_and_suppression(small_con, min_count, where):
    spec = g.Cohort("3707", 2023, 2025, tuple(g.parse(w) for w in where))
    rows = _check(small_con, EVERYTHING, spec, (2023, 2025), min_count)
    assert rows.height > 0 or (min_count and "migrant" in where[0])  # all migrant counts of the county hidden
    hidden = rows.filter(pl.col("left_behind_status") != privacy.SHOWN) if min_count else rows.head(0)
    if min_count == 5 and not where:
        assert hidden.height > 0 and hidden["left_behind_share"].null_count() == hidden.height  # suppressed


def test_on_the_demo_data_with_a_second_cohort_and_a_county_account(demo_data):
    con = db.connect(demo_data)
    spec = g.Cohort("3707", 2016, 2025, (g.parse("urban_rural = 乡村"), g.parse("left_behind_share > 0.05")))
    b = spec.with_conditions((g.parse("urban_rural != rural"),))
    _check(con, EVERYTHING, spec, (2016, 2025), 5, other=b)
    _check(con, EVERYTHING, spec, (2016, 2025), 5)
    county = _check(con, Scope("370724"), spec, (2016, 2025), 5)
    assert set(county["county_code"]) == {"370724"}


def test_summary_and_size_by_hand(small_con):
    """2025 (2025 % 7 = 2), exact counts, schools 0, 3 and 5 of _rows: primary students 40 + 37 i + 2 = 42, 153,
    227; school 5 has 115 junior students too (students 342) and 7 primary classes, school 3 no classes, school 5
    no teachers."""
    spec = g.Cohort("370724", 2025, 2025, (g.parse("school_id in (3707240000, 3707240003, 3707240005)"),))
    size = dc.size(small_con, EVERYTHING, spec, (2025, 2025), 0)
    assert (size["schools"], size["school_years"], size["students"], size["year"]) == (3, 3, 42 + 153 + 342, 2025)
    out = dc.summaries(small_con, EVERYTHING, {"a": spec}, (2025, 2025), 0, ["primary_class_size",
                                                                             "students_per_teacher"])["a"]
    by = {r["measure"]: r for r in out.iter_rows(named=True)}
    # class sizes 42 / 2 = 21 (weight 42) and 227 / 7 (weight 342); school 3 has none
    assert by["primary_class_size"]["schools"] == 2
    assert by["primary_class_size"]["mean"] == pytest.approx((21 * 42 + 227 / 7 * 342) / (42 + 342))
    assert by["primary_class_size"]["median"] == pytest.approx((21 + 227 / 7) / 2)
    assert by["primary_class_size"]["p10"] == pytest.approx(21 + 0.1 * (227 / 7 - 21))
    # students per teacher 42 / 5 and 153 / 8 (weights 42 and 153); school 5 has no teachers
    assert by["students_per_teacher"]["schools"] == 2
    assert by["students_per_teacher"]["mean"] == pytest.approx((42 / 5 * 42 + 153 / 8 * 153) / (42 + 153))


def test_a_statistic_takes_only_allow_listed_names(small_con):
    spec = g.Cohort("3707", 2025, 2025)
    with pytest.raises(KeyError):
        dc.summaries(small_con, EVERYTHING, {"a": spec}, (2025, 2025), 5, ["students); drop table schools; --"])
    with pytest.raises(KeyError):
        dc.summaries(small_con, EVERYTHING, {"x'": spec}, (2025, 2025), 5, ["students"])

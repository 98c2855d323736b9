"""The cohort base (junheng/data/cohort.py write_base): a narrow copy of the published rows that the cohort page's
statistics read when it holds what they need. Every statistic from it equals the one from the snapshots; it keeps
the region scope and the guests' synthetic-only rule; a cohort it cannot answer reads the snapshots; an import
writes a new one; without one (deleted, another threshold) nothing changes but the speed."""
import re
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from junheng.data import cohort as dc
from junheng.data import db, demo, store
from junheng.data.scope import EVERYTHING, GUEST, Scope
from junheng.rules import cohort as g

MEASURES = ["primary_class_size", "students_per_teacher", "left_behind_share", "migrant_share", "students"]
FACETS = ["urban_rural", "school_type", "is_boarding", "is_public", "township"]
BASE = re.compile(r"from cohort_base\b").search   # a statistic that read the base
SNAPSHOTS = {("base", 5): False}   # a memo that says "no base": the statistics read the snapshots


def statistics(con, scope, spec, years, memo):
    """Every statistic the page shows that may read the base, for spec and against the rest of its region."""
    both = {"a": spec, "b": dc.Rest(spec)}
    size = dc.overview(con, scope, spec, years, 5, FACETS, dict(memo))
    out = {"overview": size, "summaries": dc.summaries(con, scope, both, years, 5, MEASURES, dict(memo)),
           "values": dc.county_values(con, scope, spec, years, 5, MEASURES[:-1], dict(memo))}
    for measure in MEASURES:
        out[f"trend {measure}"] = dc.trends(con, scope, both, years, 5, measure, dict(memo))
        if size["year"] is not None:
            out[f"bins {measure}"] = dc.histogram(con, scope, both, years, 5, measure, size["year"], 30, dict(memo))
            out["counts"] = dc.county_counts(con, scope, spec, years, 5, size["year"], dict(memo))
    return out


def same(got, expected):
    assert got.keys() == expected.keys()
    for key, value in expected.items():
        if isinstance(value, pl.DataFrame):
            assert_frame_equal(got[key], value, rel_tol=1e-12, check_exact=False), key
        elif isinstance(value, dict) and value and isinstance(next(iter(value.values())), pl.DataFrame):
            same(got[key], value)
        else:
            assert got[key] == value, key


@pytest.fixture()
def texts(monkeypatch):
    """The SQL texts the statistics ran."""
    ran = []
    real = db.run_text

    def spy(con, text, scope, params):
        ran.append(text)
        return real(con, text, scope, params)
    monkeypatch.setattr(db, "run_text", spy)
    return ran


@pytest.mark.parametrize("scope", [EVERYTHING, Scope("37"), Scope("370724"), GUEST])
@pytest.mark.parametrize("where", [[], ["urban_rural in (乡村, 镇区)"], ["school_type = 小学", "students >= 200"],
                                   ["primary_class_size > 40", "is_boarding = true", "county_code != 370724"]])
def test_the_base_gives_what_the_snapshots_give(demo_data, scope, where, texts):
    con = db.connect(demo_data)
    assert dc.has_base(con, 5)
    spec = g.Cohort("37", 2016, 2025, tuple(g.parse(w) for w in where))
    from_base = statistics(con, scope, spec, (2016, 2025), {})
    assert texts and all(BASE(t) for t in texts if "cohort_rows" in t)
    texts.clear()
    from_snapshots = statistics(con, scope, spec, (2016, 2025), SNAPSHOTS)
    assert texts and not any(BASE(t) for t in texts)
    assert from_base["overview"]["school_years"] > 0 or (scope.region == "370724" and "county_code" in where[-1])
    same(from_base, from_snapshots)
    if scope.region and "counts" in from_base:
        assert set(from_base["counts"]["county_code"].str.slice(0, len(scope.region))) == {scope.region}


def test_a_cohort_the_base_cannot_answer_reads_the_snapshots(demo_data, texts):
    con = db.connect(demo_data)
    for where in (["teachers > 10"],                 # a raw column the base does not hold
                  ["left_behind_share > 0.2"],       # a protected count: applied to published values afterwards
                  ["school_id in (3707240001)"]):    # the base numbers its schools its own way
        texts.clear()
        spec = g.Cohort("3707", 2016, 2025, tuple(g.parse(w) for w in where))
        dc.overview(con, EVERYTHING, spec, (2016, 2025), 5, FACETS, {})
        first = next(t for t in texts if "cohort_rows" in t)  # (a later one counts the rows before the protected one)
        assert not BASE(first), where
    texts.clear()  # another privacy threshold than the base's
    dc.summaries(con, EVERYTHING, {"a": g.Cohort("3707", 2016, 2025)}, (2016, 2025), 3, MEASURES, {})
    assert texts and not any(BASE(t) for t in texts)
    texts.clear()  # the measures the page asks for beyond the base: a dictionary count
    dc.summaries(con, EVERYTHING, {"a": g.Cohort("3707", 2016, 2025)}, (2016, 2025), 5, ["teachers"], {})
    assert texts and not any(BASE(t) for t in texts)


def test_an_import_writes_a_new_base_and_a_missing_one_changes_nothing_but_speed(tiny_data):
    min_count = 5
    before = dc.base_path(tiny_data, db._manifest(tiny_data), min_count)
    assert before.exists()
    spec = g.Cohort("", 2023, 2024)
    old = dc.overview(db.connect(tiny_data), EVERYTHING, spec, (2023, 2024), min_count, FACETS, {})
    rows = pl.read_parquet(store.current_path(tiny_data, 2024))
    store.write_version(tiny_data, 2024, rows.filter(pl.col("school_id") != rows["school_id"][0]), source="x.csv",
                        synthetic=False)
    after = dc.base_path(tiny_data, db._manifest(tiny_data), min_count)
    assert after != before and after.exists() and before.exists()   # the older one kept for open connections
    con = db.connect(tiny_data)
    new = dc.overview(con, EVERYTHING, spec, (2023, 2024), min_count, FACETS, {})
    assert new["school_years"] == old["school_years"] - 1
    assert dc.overview(con, GUEST, spec, (2023, 2024), min_count, FACETS, {})["year"] == 2023  # 2024 now a bureau's
    shutil.rmtree(tiny_data / "aggregates" / "cohort_base")
    con = db.connect(tiny_data)
    assert not dc.has_base(con, min_count)
    assert dc.overview(con, EVERYTHING, spec, (2023, 2024), min_count, FACETS, {}) == new
    assert dc.write_base(tiny_data, min_count) == after and after.exists()
    assert not list((tiny_data / "aggregates" / "cohort_base").glob(".*"))


def test_a_failed_write_leaves_no_file(tiny_data, monkeypatch):
    shutil.rmtree(tiny_data / "aggregates" / "cohort_base")

    def broken(*args, **kwargs):
        raise db.duckdb.IOException("disk full")
    monkeypatch.setattr(db, "copy_text", broken)
    store.write_layout(tiny_data)   # best effort: logged, nothing half-written
    folder = tiny_data / "aggregates" / "cohort_base"
    assert not folder.exists() or not list(folder.iterdir())
    assert not dc.has_base(db.connect(tiny_data), 5)


def test_older_bases_are_deleted_beyond_the_kept_number(tiny_data):
    rows = pl.read_parquet(store.current_path(tiny_data, 2024))
    for n in range(dc.BASE_KEPT + 2):
        demo.write_snapshot(tiny_data, 2024, rows.with_columns(pl.col("teachers") + n + 1), source="tests",
                            synthetic=True)
    assert len(list((tiny_data / "aggregates" / "cohort_base").glob("*.parquet"))) == dc.BASE_KEPT

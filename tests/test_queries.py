"""Contract tests: every query file runs against the fixture snapshot with the declared grain."""
import re

import polars as pl
import pytest

from junheng.data import db
from junheng.data.scope import EVERYTHING, GUEST, Scope

PARAMS = {  # realistic parameters for each declared $name
    "years": [2023, 2024], "year": 2024, "region": "", "county": "370724",
    "junior_weight": 1.1, "senior_weight": 1.32, "large_school_max": 2000, "small_school_min": 100,
    "combined_school_max": 2500, "primary_max": 45, "junior_max": 50, "year_from": 2023, "year_to": 2024,
    "min_count": 5, "by": "urban_rural_group", "classes_per_psych_teacher": 10, "limit": 500, "bins": 30,
}
GRAIN_KEYS = {"county × year": ["county_code", "year"], "county": ["county_code"], "year": ["year"],
              "county × level": ["county_code", "level"], "county × item": ["county_code", "item"],
              "school × year": ["school_id", "year"], "school": ["school_id"],
              "county × group": ["county_code", "group"],
              "year × urban-rural code": ["year", "urban_rural_code"],
              "year × level × urban-rural code": ["year", "level", "urban_rural_code"],
              "county × year × level × urban-rural code": ["county_code", "year", "level", "urban_rural_code"],
              # the cohort's statistics (queries/cohort_*.sql) and the stored privacy thresholds
              "cohort": ["cohort"], "cohort × facet × value": ["cohort", "facet", "value"],
              "cohort × measure": ["cohort", "measure"], "cohort × year": ["cohort", "year"],
              "cohort × bin": ["cohort", "bin"], "county × measure": ["county_code", "measure"],
              "threshold": ["min_count"],
              # the published view of left-behind and migrant counts (issue 23)
              "county × measure × cell": ["county_code", "measure", "cell_id"]}


def header(name: str) -> tuple[str, list[str]]:
    lines = db.query_text(name).splitlines()
    assert lines[0].startswith("-- grain: "), f"{name}: first line must be '-- grain: …'"
    assert lines[1].startswith("-- params: "), f"{name}: second line must be '-- params: …'"
    return lines[0].removeprefix("-- grain: ").strip(), re.findall(r"\$(\w+)", lines[1])


@pytest.mark.parametrize("name", db.query_names())
def test_query_header_matches_its_parameters(name):
    _, declared = header(name)
    used = set(re.findall(r"\$(\w+)", db.query_text(name).split("\n", 2)[2]))
    assert used == set(declared)


@pytest.mark.parametrize("name", db.query_names())
def test_queries_read_only_the_scoped_names(name):
    # the raw data sit behind names starting with _ (junheng/data/db.py); a query that named them would escape the scope
    assert not re.search(r"\b(from|join)\s+_", db.query_body(name), flags=re.I)


@pytest.mark.parametrize("name", db.query_names())
def test_query_runs_and_respects_its_grain(name, tiny_con):
    grain, declared = header(name)
    result = db.run(tiny_con, name, EVERYTHING, **{k: PARAMS[k] for k in declared})
    assert isinstance(result, pl.DataFrame) and result.height > 0
    keys = GRAIN_KEYS[grain]  # every grain a query declares is checked
    assert set(keys) <= set(result.columns)
    assert result.select(keys).is_duplicated().sum() == 0


SELF_ASSESSMENT = ["county_code,item,value", "341202,social_recognition_rate,0.80",
                   "370305,social_recognition_rate,0.90", "370724,social_recognition_rate,0.85",
                   "370724,veto_key_classes,否"]


def import_self_assessment(data_dir, folder, lines: list[str]) -> None:
    from junheng.data import county_table
    path = folder / "self_assessment.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert county_table.import_file(path, 2024, data_dir)[1]


@pytest.fixture()
def tiny_con(tiny_data, tmp_path_factory):
    """The fixture data with a county self-assessment of 2024 too (queries/county_items.sql has rows to give)."""
    return _with_items(tiny_data, tmp_path_factory)


def _with_items(tiny_data, tmp_path_factory):
    import_self_assessment(tiny_data, tmp_path_factory.mktemp("items"), SELF_ASSESSMENT)
    return db.connect(tiny_data)


@pytest.fixture()
def county_only_con(tiny_data, tmp_path):
    """The same fixture data holding only 临朐县's rows: what a county-scoped account must see, no more."""
    return _county_only(tiny_data, tmp_path)


@pytest.fixture(scope="module")
def both_cons(boundary_dir, tmp_path_factory):
    """tiny_con and county_only_con, built once for the read-only test below (128 cases; built for each, they were
    3 of its 3.3 minutes)."""
    from tests.conftest import write_tiny_data
    data = write_tiny_data(tmp_path_factory.mktemp("tiny"), boundary_dir)
    return _with_items(data, tmp_path_factory), _county_only(data, tmp_path_factory.mktemp("county_only"))


def _county_only(tiny_data, tmp_path):
    import shutil

    from junheng.data import demo, store
    only = tmp_path / "only"
    shutil.copytree(tiny_data / "boundaries", only / "boundaries")
    for year in (2023, 2024):
        rows = pl.read_parquet(store.current_path(tiny_data, year)).filter(pl.col("county_code") == "370724")
        demo.write_snapshot(only, year, rows, source="tests", synthetic=True)
    import_self_assessment(only, only.parent, [line for line in SELF_ASSESSMENT if not line[:1].isdigit()
                                            or line.startswith("370724")])
    return db.connect(only)


@pytest.mark.parametrize("name", db.query_names())
@pytest.mark.parametrize("asked", ["", "37", "3412", "341202"])  # whatever region a page or link asks for
def test_a_county_account_never_gets_rows_outside_its_county(name, asked, both_cons):
    tiny_con, county_only_con = both_cons
    _, declared = header(name)
    params = {k: PARAMS[k] for k in declared} | ({"region": asked} if "region" in declared else {})
    result = db.run(tiny_con, name, Scope("370724"), **params)
    if "county_code" in result.columns:
        assert set(result["county_code"]) <= {"370724"}
    # every row, aggregates included, equals what the query gives on data that hold only that county
    expected = db.run(county_only_con, name, EVERYTHING, **params)
    assert result.sort(result.columns).equals(expected.sort(expected.columns)), name


def test_without_a_scope_a_cursor_reads_nothing(tiny_con):
    cursor = tiny_con.cursor()
    for name in ("schools", *db.MATERIALIZED):
        assert cursor.execute(f"select count(*) from {name}").fetchall() == [(0,)]


def test_a_guest_reads_synthetic_years_only(tiny_data):
    from junheng.data import demo, store
    rows = pl.read_parquet(store.current_path(tiny_data, 2024))
    demo.write_snapshot(tiny_data, 2024, rows, source="bureau.xlsx", synthetic=False)
    con = db.connect(tiny_data)
    assert db.run(con, "snapshot_years", GUEST)["year"].to_list() == [2023]
    assert db.run(con, "snapshot_years", EVERYTHING)["year"].to_list() == [2023, 2024]
    assert db.run(con, "school_rows", GUEST, year=2024, region="").is_empty()


def test_county_totals_sums_by_hand(tiny_con):
    out = db.run(tiny_con, "county_totals", EVERYTHING, years=[2023, 2024], region="37")
    assert out["county_code"].to_list() == ["370305", "370724", "370724"]
    linqu_2023 = out.filter((pl.col("county_code") == "370724") & (pl.col("year") == 2023)).row(0, named=True)
    assert linqu_2023["schools"] == 2
    assert linqu_2023["students"] == 400
    assert linqu_2023["classes_56_65"] == 1
    assert linqu_2023["left_behind_students"] == 70
    assert linqu_2023["standardized_schools"] == 1


def test_user_values_are_bound_not_pasted(tiny_con):
    # A region string that would break pasted SQL is just a prefix that matches nothing.
    out = db.run(tiny_con, "county_totals", EVERYTHING, years=[2024], region="37' or '1'='1")
    assert out.is_empty()


def test_missing_snapshots_are_named(tmp_path):
    with pytest.raises(db.DataError, match="no snapshots"):
        db.connect(tmp_path)


def test_fingerprint_changes_when_a_snapshot_is_replaced(tiny_data):
    from junheng.data import demo
    from tests.conftest import FIXTURE_ROWS, frame
    before = db.fingerprint(tiny_data)
    demo.write_snapshot(tiny_data, 2024, frame(FIXTURE_ROWS[:3]), source="tests", synthetic=True)
    assert db.fingerprint(tiny_data) != before


def test_stored_aggregates_are_used_and_agree_with_building_them(tiny_data):
    import copy
    import shutil

    from junheng import settings
    rules = settings.load_thresholds()
    assert all(db.aggregate_path(tiny_data, year, name, params).exists()  # written with the snapshots
               for year in (2023, 2024) for name, params in db.materialized_params(rules).items())
    stored = db.connect(tiny_data, rules)
    shutil.rmtree(tiny_data / "aggregates")
    built = db.connect(tiny_data, rules)
    for name in db.MATERIALIZED:
        order = "select * from _{} order by all"
        assert stored.sql(order.format(name)).pl().equals(built.sql(order.format(name)).pl())
    heavier = copy.deepcopy(rules)
    heavier["rules"]["junior_weight"] = 1.5  # other rules: stored aggregates do not match, so they are rebuilt
    other = db.connect(tiny_data, heavier)
    assert not other.sql(order.format("county_level_group_totals")).pl().equals(
        stored.sql(order.format("county_level_group_totals")).pl())


def test_a_guest_never_reads_an_imported_county_of_a_synthetic_year(tiny_data):
    from junheng.data import store
    rows = pl.read_parquet(store.current_path(tiny_data, 2024))
    store.write_version(tiny_data, 2024, rows.filter(pl.col("county_code") == "370724"), source="bureau.xlsx",
                        synthetic=False, counties=True)
    con = db.connect(tiny_data)
    guest = db.run(con, "school_rows", GUEST, year=2024, region="")
    assert set(guest["county_code"]) == {"370305", "341202"}  # the imported county is gone, the demo stays
    assert set(db.run(con, "school_rows", EVERYTHING, year=2024, region="")["county_code"]) == {
        "370724", "370305", "341202"}
    assert db.run(con, "snapshot_years", GUEST)["year"].to_list() == [2023, 2024]


def test_a_guest_reads_nothing_when_the_manifest_cannot_say_what_is_synthetic(tiny_data):
    (tiny_data / "manifest.json").write_text("{ not json", encoding="utf-8")
    con = db.connect(tiny_data)
    assert db.run(con, "school_rows", GUEST, year=2024, region="").is_empty()
    assert db.run(con, "snapshot_years", GUEST).is_empty()
    assert db.run(con, "school_rows", EVERYTHING, year=2024, region="").height > 0

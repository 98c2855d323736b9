"""The demo data and the shipped sample county table: no county reaches an evaluation on school rows alone; with
the sample imported a county fails for a named reason, in the JSON and on the page."""
import json
import shutil

import polars as pl
import pytest

from junheng import settings
from junheng.data import county_table, store
from junheng.rules import verdicts
from junheng.tools import cli

YEAR = 2025


def sample_counties() -> tuple[str, str]:
    """(the county the sample makes pass, the one it makes fail): the fail county's social recognition is 81%."""
    rows = pl.read_csv(county_table.SAMPLE, schema_overrides={"county_code": pl.String, "value": pl.String})
    social = rows.filter(pl.col("item") == "social_recognition_rate")
    return (social.filter(pl.col("value") != "81%")["county_code"].item(),
            social.filter(pl.col("value") == "81%")["county_code"].item())


@pytest.fixture(scope="module")
def data(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("sample") / "data"
    shutil.copytree(demo_data, out)
    return out


def evaluate(data, county: str, capsys) -> dict:
    assert cli.main(["evaluate", "--data-dir", str(data), "--county", county, "--year", str(YEAR), "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def test_no_county_reaches_either_evaluation_on_school_rows_alone(data):
    schools = pl.read_parquet(store.current_path(data, YEAR))
    out = verdicts.region_verdicts(schools, settings.load_thresholds())
    assert set(out["basic_verdict"]) <= {"fail", "incomplete"}
    assert set(out["quality_verdict"]) <= {"fail", "incomplete"}
    # Where no computed item fails, 优质均衡 is to be assessed: never pass, never fail.
    clean = out.filter(pl.col("quality_failing").list.len() == 0)
    assert set(clean["quality_verdict"]) <= {"incomplete"}


def test_with_the_sample_a_county_fails_for_the_named_reason_and_both_values_are_shown(data, capsys):
    passing, failing = sample_counties()
    assert evaluate(data, failing, capsys)["verdicts"]["basic"] == "incomplete"
    assert cli.main(["import", str(county_table.SAMPLE), "--table", "county", "--year", str(YEAR),
                     "--data-dir", str(data), "--lang", "en"]) == 0
    capsys.readouterr()
    other = evaluate(data, failing, capsys)
    assert other["verdicts"] == {"basic": "pass", "quality": "fail"}
    assert "social_recognition_rate" in verdicts.failing(other["parts"]["quality"])
    assert other["parts"]["quality"]["social"]["items"]["social_recognition_rate"]["value"] == 0.81
    candidate = evaluate(data, passing, capsys)  # a county that finished its 优质均衡 push (see demo.py)
    assert candidate["verdicts"] == {"basic": "pass", "quality": "pass"}
    assert verdicts.failing(candidate["parts"]["quality"]) == []
    size = candidate["parts"]["quality"]["government"]["items"]["school_size_cap"]
    # both shown; the rows' count is only a lower bound (it proves a fail, never a pass), so the county's decides
    assert size["source"] == "self-assessed" and size["computed"] == 0 and size["self_assessed"] == 0


def test_the_page_says_why(data, monkeypatch):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from tests.conftest import sign_in
    _, failing = sample_counties()
    if county_table.versions(data).is_empty():
        county_table.import_file(county_table.SAMPLE, YEAR, data)
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(data))
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "evaluation.py"),
                           default_timeout=120)
    at.query_params["county"] = failing
    at.query_params["year"] = str(YEAR)
    at.run()
    assert not at.exception
    # a guest's verdict never rests on a bureau's imported items
    assert "社会认可度（81%" not in "\n".join(m.value for m in at.markdown)
    sign_in(at)
    at.run()
    assert not at.exception
    text = "\n".join(m.value for m in at.markdown)
    assert "**基本均衡：达到基本均衡**" in text
    assert "**优质均衡：未达到** — 未达标：" in text and "社会认可度（81%，标准 ≥ 85%）" in text
    assert "达到优质均衡" not in text


def test_stored_evaluation_aggregates_give_the_verdicts_of_the_school_rows(data):
    """The evaluation page's region view reads what each version stored (db.EVALUATED), not 250,000 school rows:
    the same verdicts, parts and failing items as evaluating the rows, with the sample county table too."""
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    rules = settings.load_thresholds()
    con = db.connect(data, rules)  # written with the version, or here once if the data are older
    assert all(db.aggregate_path(data, YEAR, name, db.evaluated_params(name, rules)).exists() for name in db.EVALUATED)
    table = county_table.read(con, EVERYTHING, YEAR)
    for region in ("", "37", "370724"):
        from_rows = verdicts.region_verdicts(db.run(con, "school_rows", EVERYTHING, year=YEAR, region=region), rules,
                                             table)
        stored = verdicts.region_verdicts_from(
            db.run(con, "county_level_results", EVERYTHING, year=YEAR, region=region),
            db.run(con, "county_row_items", EVERYTHING, year=YEAR, region=region), rules, table, YEAR)
        assert stored.height == from_rows.height > 0
        assert stored.equals(from_rows), region


def test_stored_count_statuses_are_the_ones_computed_from_the_rows(data):
    """The cohort page reads which left-behind and migrant counts may be published from what each version stored;
    they equal the statuses decided from the rows (per county, so any region's rows give the same)."""
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    from junheng.rules import published_counts
    rules = settings.load_thresholds()
    con = db.connect(data, rules)
    for region in ("37", "3707"):
        rows = db.run(con, "cohort_count_rows", EVERYTHING, region=region, year_from=YEAR, year_to=YEAR)
        computed = published_counts.status(rows, rules["privacy"]["min_count"]).sort("school_id")
        stored = db.run(con, "school_count_status", EVERYTHING, region=region, year_from=YEAR, year_to=YEAR,
                        min_count=rules["privacy"]["min_count"]).select(list(published_counts.SCHEMA)).cast(
            published_counts.SCHEMA).sort("school_id")
        assert stored.height == computed.height > 0
        assert stored.equals(computed), region
        assert (computed["left_behind_status"] != "shown").any()  # something is suppressed: the check can fail
    assert db.run(con, "school_count_status", EVERYTHING, region="37", year_from=YEAR, year_to=YEAR,
                  min_count=3).is_empty()  # another threshold: computed by the cohort engine, never stored ones

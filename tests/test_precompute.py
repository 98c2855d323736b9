"""The evaluation pages' county-year results computed when data are written and stored with the data (issue 25
item 3): named by what they depend on, read back equal to what the pages compute, relabelled per language."""
import json

import polars as pl
import pytest

from junheng import settings
from junheng.data import db, precompute
from junheng.rules import plan as plans


@pytest.fixture()
def rules():
    return settings.load_thresholds()


def test_run_stores_every_county_year_once_and_reads_back_what_the_pages_compute(tiny_data, rules):
    # the tiny data: 2024 has 370724, 370305 and 341202; 2023 has 370724 only → 4 county-years, latest year first
    first = precompute.run(tiny_data)
    assert (first["county_years"], first["computed"], first["failed"]) == (4, 4, 0)
    files = sorted((tiny_data / precompute.FOLDER).glob("*.json"))
    assert len(files) == 4
    assert all(json.loads(f.read_text(encoding="utf-8"))["plan"]["status"] for f in files)  # JSON, not pickle
    again = precompute.run(tiny_data)
    assert (again["county_years"], again["computed"]) == (4, 0)
    con = db.connect(tiny_data, rules)
    schools, table = precompute.county_rows(con, "370724", 2024)
    assert sorted(schools["school_id"]) == ["3707240001", "3707240002"]
    stored = precompute.load(tiny_data, precompute.key("370724", 2024, schools, table, rules))
    direct = plans.minimum_cost_plan(schools, rules)
    assert stored["plan"].status == direct.status and stored["plan"].cost == pytest.approx(direct.cost)
    assert stored["plan"].changes.equals(direct.changes)
    target, budget = plans.defaults(rules, 2024)
    assert stored["schedule"] == plans.schedule(schools, rules, 2024, target, budget, table, "zh", best=direct)
    assert precompute.defaults_match(stored, target, budget) and not precompute.defaults_match(stored, target + 1,
                                                                                               budget)


def test_the_name_changes_with_the_rows_the_table_the_rules_and_the_privacy_threshold(tiny_data, rules):
    con = db.connect(tiny_data, rules)
    schools, table = precompute.county_rows(con, "370724", 2024)
    name = precompute.key("370724", 2024, schools, table, rules)
    assert name == precompute.key("370724", 2024, schools.clone(), table, rules)
    nudged = schools.with_columns(pl.when(pl.col("school_id") == "3707240001").then(pl.col("books") + 1)
                                  .otherwise(pl.col("books")).alias("books"))
    assert precompute.key("370724", 2024, nudged, table, rules) != name
    assert precompute.key("370724", 2023, schools, table, rules) != name
    other = {**rules, "privacy": {**rules["privacy"], "min_count": 0}}
    # an analyst's exact counts: the verdicts show a migrant share the threshold withholds from others
    # (verdicts.migrant_share_bounds), so they are stored apart; another privacy setting changes nothing
    assert precompute.key("370724", 2024, schools, table, other) != name
    assert precompute.key("370724", 2024, schools, table, {**rules, "privacy": {**rules["privacy"], "x": 1}}) == name
    cheaper = {**rules, "costs": {k: v / 2 for k, v in rules["costs"].items()}}
    assert precompute.key("370724", 2024, schools, table, cheaper) != name
    with_table = pl.DataFrame({"county_code": ["370724"], "item": ["x"], "value": [1.0]})
    assert precompute.key("370724", 2024, schools, with_table, rules) != name


def test_the_english_schedule_is_the_stored_one_relabelled(tiny_data, rules):
    con = db.connect(tiny_data, rules)
    schools, table = precompute.county_rows(con, "341202", 2024)
    result = precompute.ensure(tiny_data, "341202", 2024, schools, table, rules)
    zh = result["schedule"]
    assert zh.remains  # the tiny county has no self-assessment: items remain, each with its reason
    english = plans.schedule(schools, rules, 2024, result["target"], result["budget"], table, "en",
                             best=result["plan"])
    assert precompute.relabel_schedule(zh, "en") == english
    assert precompute.relabel_schedule(zh, "zh") is zh
    odd = plans.Schedule(**{**precompute._schedule_out(zh), "remains": [{"item": "x", "why": "不是方案写的话"}]})
    assert precompute.relabel_schedule(odd, "en") is None  # a text the plan never writes: computed anew instead


def test_after_write_computes_the_touched_county_years_in_a_thread(tiny_data, rules):
    thread = precompute.after_write(tiny_data, 2024, ["370305", "37"])  # a province code is no county: skipped
    assert thread is not None
    precompute.wait()
    con = db.connect(tiny_data, rules)
    schools, table = precompute.county_rows(con, "370305", 2024)
    assert precompute.path_of(tiny_data, precompute.key("370305", 2024, schools, table, rules)).exists()
    assert len(list((tiny_data / precompute.FOLDER).glob("*.json"))) == 1
    assert precompute.after_write(tiny_data, 2024, []) is None


def test_stored_results_are_bounded_and_an_unreadable_file_is_computed_again(tiny_data, rules):
    precompute.run(tiny_data)
    files = sorted((tiny_data / precompute.FOLDER).glob("*.json"), key=lambda p: p.stat().st_mtime)
    assert precompute.prune(tiny_data, kept=3) == 1 and not files[0].exists()
    broken = files[-1]
    broken.write_text("{not json", encoding="utf-8")
    assert precompute.load(tiny_data, broken.stem) is None

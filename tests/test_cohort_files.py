"""Cohort files for Stata and SPSS, and what every cohort file says of itself (issue 26 points 2 and 5)."""
import io
import json

import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from junheng.access import database
from junheng.access.accounts import SYSTEM
from junheng.commands import exports as export_commands
from junheng.reports import exports
from junheng.rules import cohort as grammar

SPEC = grammar.Cohort("", 2023, 2024, ())


@pytest.fixture()
def files(tiny_data, monkeypatch):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")
    out = {}
    try:
        for kind in ("parquet", "dta", "sav", "csv"):
            out[kind] = export_commands.cohort(tiny_data, SYSTEM, SPEC, kind, "zh")
    finally:
        database.dispose()
    return out


def test_a_dta_file_opens_in_pandas_with_the_parquet_files_rows_and_the_dictionarys_labels(files, tmp_path):
    path = tmp_path / "c.dta"
    path.write_bytes(files["dta"][0])
    parquet = pl.read_parquet(io.BytesIO(files["parquet"][0]))
    plain = pd.read_stata(path, convert_categoricals=False)
    assert len(plain) == parquet.height == 6  # the fixture's six school-years
    assert plain["school_id"].tolist() == parquet["school_id"].to_list()
    assert plain["primary_students"].tolist() == parquet["primary_students"].to_list()
    with pd.io.stata.StataReader(path) as reader:
        reader.read()
        variables, values = reader.variable_labels(), reader.value_labels()
    assert variables["school_type"] == "办学类型" and variables["is_public"] == "是否公办"
    assert values["school_type"][1] == "小学" and values["is_public"] == {0: "否", 1: "是"}
    assert values["urban_rural_code"][220] == "村庄"
    labelled = pd.read_stata(path)  # the coded columns come back as their labels
    assert sorted(labelled["school_type"].astype(str)) == ["九年一贯制学校"] + ["小学"] * 5
    assert set(plain["urban_rural_code"]) == {111, 220}


def test_an_english_dta_carries_english_labels(tiny_data, tmp_path):
    try:
        data = export_commands.cohort(tiny_data, SYSTEM, SPEC, "dta", "en")[0]
    finally:
        database.dispose()
    path = tmp_path / "c.dta"
    path.write_bytes(data)
    with pd.io.stata.StataReader(path) as reader:
        reader.read()
        assert reader.value_labels()["school_type"][1] == "Primary school"
        assert reader.variable_labels()["school_name"] == "School name"


def test_pyreadstat_reads_the_sav_file_back_with_its_labels(files, tmp_path):
    import pyreadstat
    path = tmp_path / "c.sav"
    path.write_bytes(files["sav"][0])
    frame, meta = pyreadstat.read_sav(str(path))
    assert len(frame) == 6
    assert meta.column_names_to_labels["is_boarding"] == "是否寄宿制学校"
    assert meta.variable_value_labels["school_type"][3] == "九年一贯制学校"
    assert "CITATION.cff" in "".join(meta.notes)  # the citation, cut into SPSS's 80-byte document lines


def test_every_file_names_its_data_version_time_query_and_citation_as_json(files, tiny_data):
    meta = {k.decode(): v.decode() for k, v in pq.read_schema(io.BytesIO(files["parquet"][0])).metadata.items()
            if k.startswith(b"junheng.")}
    for key in ("junheng.params", "junheng.request", "junheng.data_version", "junheng.data_checksum",
                "junheng.generated_at", "junheng.citation", "junheng.about"):
        json.loads(meta[key])  # every value is JSON
    about = files["parquet"][2].about
    assert json.loads(meta["junheng.about"]) == about
    assert about["generated_at"] == "2026-01-01T00:00:00+00:00"
    manifest = json.loads((tiny_data / "manifest.json").read_text(encoding="utf-8"))
    assert about["data_version"] == {y: manifest["years"][y]["current"] for y in ("2023", "2024")}
    assert about["query"] == {"region": "", "year_from": 2023, "year_to": 2024, "where": [], "format": "parquet",
                              "lang": "zh"}
    assert about["data_checksum"][:12] in about["citation"]
    # the same data and SOURCE_DATE_EPOCH: the same bytes
    assert files["csv"][2].about["data_checksum"] == about["data_checksum"]


def test_the_data_checksum_changes_when_a_years_version_changes(tiny_data):
    from junheng.data import cohort as cohort_query
    from junheng.data import demo
    before = cohort_query.data_version(tiny_data, (2023, 2024))
    rows = pl.read_parquet(str(tiny_data / "snapshots" / "year=2024" / "*.parquet"))
    demo.write_snapshot(tiny_data, 2024, rows.with_columns(pl.col("teachers") + 1), source="tests", synthetic=True)
    after = cohort_query.data_version(tiny_data, (2023, 2024))
    assert before[0]["2023"] == after[0]["2023"] and before[0]["2024"] != after[0]["2024"]
    assert before[1] != after[1]
    assert cohort_query.data_version(tiny_data, (2023, 2023)) == cohort_query.data_version(tiny_data, (2023, 2023))


def test_long_names_are_cut_to_stata_s_32_characters_and_the_label_keeps_the_full_name(tmp_path):
    frame = pl.DataFrame({"above_degree_teachers_per_student": [0.5], "senior_title_teachers_per_student": [0.2]})
    path = tmp_path / "c.dta"
    path.write_bytes(exports.dta_bytes(frame, "zh"))
    with pd.io.stata.StataReader(path) as reader:
        reader.read()
        labels = reader.variable_labels()
    assert all(len(n) <= 32 for n in labels)
    assert any(label.endswith("[above_degree_teachers_per_student]") for label in labels.values())


@pytest.mark.parametrize("layout, rows", [("long", 6), ("wide", 4), ("county", 4)])
def test_a_panel_layout_goes_through_the_export_command_into_a_labelled_dta(tiny_data, tmp_path, layout, rows):
    try:
        data, frame, result, _ = export_commands.cohort(tiny_data, SYSTEM, SPEC, "dta", "zh", panel=layout)
    finally:
        database.dispose()
    path = tmp_path / "p.dta"
    path.write_bytes(data)
    # long: the six school-years; wide: the four schools; county: 临朐 2023, 2024, 临淄 2024, 颍州 2024
    assert len(pd.read_stata(path)) == frame.height == rows
    assert result.about["query"]["panel"] == layout
    with pd.io.stata.StataReader(path) as reader:
        reader.read()
        labels = reader.variable_labels()
    if layout == "long":
        assert labels["in_every_year"] == "范围内每年均有数据"
        present = frame.filter(pl.col("school_id") == "3707240001")["in_every_year"].to_list()
        assert present == [True, True]
    if layout == "wide":
        assert labels["students_2024"] == "义务教育在校生数 2024 (人)"

"""The county self-assessment table (issue 12 point 2): import, validation named in zh/en, versions, template."""
import io
import json
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from junheng.data import county_table, db, store
from junheng.data.scope import EVERYTHING
from junheng.reports import templates
from junheng.rules import verdicts
from junheng.tools import cli
from tests.conftest import add_account, sign_in


def items(data_dir, year: int) -> pl.DataFrame:
    """What an unrestricted reader sees of year's self-assessment (through the scoped query layer)."""
    return county_table.read(db.connect(data_dir), EVERYTHING, year)


def write(tmp_path, text: str, name: str = "county.csv", encoding: str = "utf-8") -> str:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


GOOD = ("县级行政区划代码,评估项目,值\n"
        "370724,social_recognition_rate,85%\n"
        "370724,teacher_pay_not_below_civil_servants,是\n"
        "370724,veto_key_classes,否\n"
        "370724,teacher_rotation_rate,0.12\n"
        "370724,初中三年巩固率,96 %\n"       # the Chinese item name is accepted too
        "370724,special_ed_funding_cny,\"6,500\"\n")


def test_a_valid_file_is_stored_as_numbers(tiny_data, tmp_path):
    report, version = county_table.import_file(write(tmp_path, GOOD), 2024, tiny_data)
    assert not report.errors and version
    stored = items(tiny_data, 2024)
    assert dict(zip(stored["item"], stored["value"])) == {
        "social_recognition_rate": 0.85, "teacher_pay_not_below_civil_servants": 1.0, "veto_key_classes": 0.0,
        "teacher_rotation_rate": 0.12, "junior_retention_rate": 0.96, "special_ed_funding_cny": 6500.0}
    assert items(tiny_data, 2023).is_empty()  # another year: nothing


BAD = ("county_code,item,value\n"
       "370724,social_recognition_rate,120%\n"        # row 2: share over 1
       "999999,junior_retention_rate,0.96\n"          # row 3: unknown county
       "370724,no_such_item,1\n"                      # row 4: unknown item
       "370724,composite_cv_primary,0.3\n"            # row 5: computed, not self-assessed
       "370724,layout_planned,可能\n"                 # row 6: not yes/no
       "370724,teacher_rotation_rate,0.1\n"
       "370724,teacher_rotation_rate,0.2\n"           # row 8: repeated
       "370724,school_size_cap,1.5\n"                 # row 9: a count
       "370724,monitoring_school_gap,-0.1\n")         # row 10: negative


@pytest.mark.parametrize("lang, reasons", [
    ("zh", {2: "比例应为 0 到 1", 3: "未知的县级行政区划代码", 4: "未知的评估项目", 5: "由学校数据计算",
            6: "应为 是/否", 8: "重复填报（第 7 行已有）", 9: "应为整数", 10: "不能为负数"}),
    ("en", {2: "A share is a number from 0 to 1", 3: "Unknown county code", 4: "Unknown item",
            5: "computed from the school rows", 6: "Must be yes/no", 8: "first in row 7", 9: "whole number",
            10: "Cannot be negative"}),
])
def test_every_bad_value_is_named_by_row_column_and_value_and_nothing_is_written(tiny_data, tmp_path, lang,
                                                                                  reasons):
    report, version = county_table.import_file(write(tmp_path, BAD), 2024, tiny_data, lang)
    assert version is None
    assert not (tiny_data / county_table.FOLDER).exists()
    found = {p["row"]: p for p in report.errors}
    assert set(found) == set(reasons)
    for row, reason in reasons.items():
        assert reason in found[row]["reason"], (row, found[row])
    assert (found[3]["column"], found[3]["value"]) == ("county_code", "999999")
    assert (found[2]["column"], found[2]["value"]) == ("value", "120%")


def test_missing_column_empty_values_and_an_empty_file(tiny_data, tmp_path):
    report, _ = county_table.import_file(write(tmp_path, "county_code,item\n370724,layout_planned\n"), 2024,
                                         tiny_data, "en")
    assert [(p["row"], p["column"]) for p in report.errors] == [(1, "值 / value")]
    report, version = county_table.import_file(write(tmp_path, "county_code,item,value\n"), 2024, tiny_data, "en")
    assert version is None and "no data rows" in report.errors[0]["reason"]
    report, version = county_table.import_file(
        write(tmp_path, "county_code,item,value\n370724,layout_planned,\n"), 2024, tiny_data, "en")
    assert version is None and "No value" in report.errors[0]["reason"]
    assert "left unassessed" in report.warnings[0]["reason"]


def test_gbk_file_with_chinese_headers(tiny_data, tmp_path):
    report, version = county_table.import_file(write(tmp_path, GOOD, encoding="gbk"), 2024, tiny_data)
    assert not report.errors and version


def test_each_import_is_a_version_other_counties_are_kept_and_rollback_works(tiny_data, tmp_path):
    first = county_table.import_file(write(tmp_path, GOOD), 2024, tiny_data)[1]
    other = "county_code,item,value\n370305,social_recognition_rate,0.9\n"
    county_table.import_file(write(tmp_path, other, "other.csv"), 2024, tiny_data)
    assert sorted(set(items(tiny_data, 2024)["county_code"])) == ["370305", "370724"]
    again = "county_code,item,value\n370724,social_recognition_rate,0.80\n"
    report, third = county_table.import_file(write(tmp_path, again, "again.csv"), 2024, tiny_data, "en")
    assert [p["value"] for p in report.warnings] == ["370724"]  # says what it replaces
    assert "(6 items)" in report.warnings[0]["reason"]
    rows = items(tiny_data, 2024)
    assert rows.filter(pl.col("county_code") == "370724").select("item", "value").rows() == [
        ("social_recognition_rate", 0.80)]
    versions = county_table.versions(tiny_data)
    assert versions.height == 3 and versions.filter(pl.col("is_current"))["id"].item() == third
    county_table.rollback(tiny_data, 2024, first)
    assert set(items(tiny_data, 2024)["county_code"]) == {"370724"}
    with pytest.raises(store.StoreError, match="no version nope"):
        county_table.rollback(tiny_data, 2024, "nope")


def test_a_damaged_manifest_stops_the_import_before_anything_is_written(tiny_data, tmp_path):
    (tiny_data / county_table.FOLDER).mkdir()
    (tiny_data / county_table.FOLDER / "manifest.json").write_text("{broken")
    with pytest.raises(store.StoreError, match="damaged"):
        county_table.import_file(write(tmp_path, GOOD), 2024, tiny_data)
    assert not county_table.current_path(tiny_data, 2024).exists()


@pytest.mark.parametrize("lang, header", [("zh", ["县级行政区划代码", "评估项目", "值", "项目名称"]),
                                          ("en", ["county_code", "item", "value", "item_name"])])
def test_template_lists_every_self_assessable_item_and_reads_back(tiny_data, tmp_path, lang, header):
    book = openpyxl.load_workbook(io.BytesIO(templates.county_template(lang, county_code="370724")))
    data, guide = book.worksheets
    rows = list(data.iter_rows(values_only=True))
    assert list(rows[0]) == header
    keys = [r[1] for r in rows[1:]]
    assert keys == [i.key for i in verdicts.items() if i.self_assessable]
    assert {"social_recognition_rate", "gov2012_17", "veto_key_classes", "class_size_cap"} <= set(keys)
    assert "composite_cv_primary" not in keys
    assert guide.max_row == len(keys) + 1
    # Filled in (every item 是 or its share), the template imports as it is.
    for row in data.iter_rows(min_row=2):
        it = verdicts.item(row[1].value)
        row[2].value = "是" if it.kind == "yes_no" else "0"
    path = tmp_path / "filled.xlsx"
    book.save(path)
    report, version = county_table.import_file(path, 2024, tiny_data, lang)
    assert not report.errors and version
    assert items(tiny_data, 2024).height == len(keys)


def test_cli_import_template_versions_and_evaluate_with_the_county_table(tiny_data, tmp_path, capsys):
    template = tmp_path / "t.xlsx"
    assert cli.main(["template", "--table", "county", "--out", str(template), "--lang", "en"]) == 0
    assert template.exists()
    bad = write(tmp_path, BAD, "bad.csv")
    assert cli.main(["import", str(bad), "--table", "county", "--year", "2024", "--data-dir", str(tiny_data),
                     "--lang", "en"]) == 1
    assert "Row 3 · county_code · 「999999」 · Unknown county code" in capsys.readouterr().out
    veto = write(tmp_path, "county_code,item,value\n341202,veto_exam_admission,是\n370724,social_recognition_rate,"
                           "0.9\n", "veto.csv")
    assert cli.main(["import", str(veto), "--table", "county", "--year", "2024", "--data-dir", str(tiny_data),
                     "--lang", "en"]) == 0
    capsys.readouterr()
    assert cli.main(["versions", "--table", "county", "--data-dir", str(tiny_data)]) == 0
    assert "2 counties" in capsys.readouterr().out
    assert cli.main(["evaluate", "--data-dir", str(tiny_data), "--county", "341202", "--year", "2024",
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    veto_item = out["parts"]["quality"]["veto"]["items"]["veto_exam_admission"]
    assert veto_item == {"value": True, "rule": "== false", "met": False, "source": "self-assessed"}
    assert out["parts"]["quality"]["veto"]["status"] == "fail"


def test_the_sample_table_imports_cleanly(tiny_data):
    report, version = county_table.import_file(county_table.SAMPLE, 2025, tiny_data, "en")
    assert report.error_count == 0 and version
    rows = items(tiny_data, 2025)
    assert rows["county_code"].n_unique() == 2
    assert rows.height == 2 * sum(i.self_assessable for i in verdicts.items())


@pytest.fixture()
def app_data(monkeypatch, demo_data, tmp_path):
    import shutil
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(data))
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    return data


def test_data_page_offers_the_county_table(app_data):
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(Path(__file__).resolve().parent.parent / "pages" / "data.py"), default_timeout=120)
    at.session_state["import_table"] = "county"
    add_account(app_data, "test-admin", "admin")  # the command layer re-reads the signed-in account
    sign_in(at)
    at.run()
    assert not at.exception
    assert any("县级自评表版本" in m.value for m in at.markdown)
    county_table.import_file(county_table.SAMPLE, 2025, app_data)
    at.run()
    assert at.dataframe[0].value.shape[0] == 1  # the one version, with its counties


# Issue 24, point 7: the template carries the account's own county, never another county's code.
@pytest.mark.parametrize("region, code", [("370724", "370724"), ("370303", "370303"), ("", None), ("3707", None),
                                          ("37", None)])
def test_the_template_is_filled_with_the_accounts_own_county_or_left_blank(region, code):
    book = openpyxl.load_workbook(io.BytesIO(templates.county_template("zh", county_code=region)))
    data, guide = book.worksheets
    assert {r[0] for r in data.iter_rows(min_row=2, values_only=True)} == {code}
    assert {r[0] for r in openpyxl.load_workbook(io.BytesIO(templates.county_template("zh"))).worksheets[0]
            .iter_rows(min_row=2, values_only=True)} == {None}


def test_the_template_guide_names_where_each_refusal_ground_is_written():
    guide = openpyxl.load_workbook(io.BytesIO(templates.county_template("zh"))).worksheets[1]
    rows = list(guide.iter_rows(values_only=True))
    cites = rows[0].index("出处")
    by_key = {r[0]: r for r in rows[1:]}
    for key in ("veto_unfilled_posts", "veto_major_incident", "veto_falsification", "basic_recognized_year"):
        assert "教督〔2017〕6号" in by_key[key][cites]

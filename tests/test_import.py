"""Importing a bureau's file: encodings, headers, every validation rule, all-or-nothing storage, versions, lock."""
import hashlib
import shutil
import threading
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from junheng.access import audit
from junheng.data import db, dictionary, importer, store
from junheng.data.scope import Scope
from junheng.tools import cli

ZH = {c.name: c.zh for c in dictionary.columns()}


@pytest.fixture()
def data(tmp_path, demo_data) -> Path:
    """A private copy of the demo data directory (imports change it)."""
    out = tmp_path / "data"
    shutil.copytree(demo_data, out)
    return out


def rows_2025(data: Path, county: str = "370724") -> pl.DataFrame:
    return pl.read_parquet(store.current_path(data, 2025)).filter(pl.col("county_code") == county)


def as_text(schools: pl.DataFrame, headers: str = "zh") -> pl.DataFrame:
    """The table as a bureau's export: text cells, Chinese (or English) headers, 是/否 booleans, no year."""
    out = schools.drop("year").with_columns(
        pl.col(pl.Boolean).replace_strict({True: "是", False: "否"}, return_dtype=pl.String)).cast(pl.String)
    return out.rename(ZH, strict=False) if headers == "zh" else out


def write_csv(table: pl.DataFrame, path: Path, encoding: str) -> Path:
    text = table.write_csv()
    path.write_bytes(text.encode(encoding))
    return path


def write_xlsx(table: pl.DataFrame, path: Path) -> Path:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(table.columns)
    for row in table.iter_rows():
        sheet.append(list(row))
    book.save(path)
    return path


def tree_digest(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.parametrize("kind", ["gbk", "gb18030", "utf-8-sig", "utf-8", "xlsx"])
def test_encodings_and_formats_round_trip(data, tmp_path, kind):
    original = rows_2025(data)
    table = as_text(original, "zh" if kind != "utf-8" else "en")
    path = (write_xlsx(table, tmp_path / "schools.xlsx") if kind == "xlsx"
            else write_csv(table, tmp_path / "schools.csv", kind))
    clean, report = importer.validate(path, 2025, data)
    assert report.errors == []
    assert clean.drop("_row").sort("school_id").equals(original.sort("school_id"))


def test_full_width_headers_digits_and_spaces_are_normalised(data, tmp_path):
    table = as_text(rows_2025(data).head(3)).rename({"学校标识码": "　学校标识码 "})  # ideographic space
    fw = str.maketrans("0123456789", "０１２３４５６７８９")
    table = table.with_columns(pl.col("县级行政区划代码").str.replace_all("370724", "370724".translate(fw)))
    clean, report = importer.validate(write_csv(table, tmp_path / "fw.csv", "utf-8"), 2025, data)
    assert report.errors == []
    assert set(clean["county_code"]) == {"370724"}


@pytest.mark.parametrize("written, expected", [("小学", "primary"), ("九年一贯制学校", "nine_year"),
                                               ("教学点", "teaching_point"), ("初级中学", "junior")])
def test_chinese_school_types(data, tmp_path, written, expected):
    table = as_text(rows_2025(data).head(1)).with_columns(pl.lit(written).alias("办学类型"))
    clean, report = importer.validate(write_csv(table, tmp_path / "t.csv", "utf-8"), 2025, data)
    assert report.errors == [] and clean["school_type"][0] == expected


@pytest.mark.parametrize("yes, no", [("是", "否"), ("1", "0"), ("true", "false"), ("TRUE", "False")])
def test_yes_no_spellings(data, tmp_path, yes, no):
    table = as_text(rows_2025(data).head(2)).with_columns(pl.Series("是否公办", [yes, no]))
    clean, report = importer.validate(write_csv(table, tmp_path / "b.csv", "utf-8"), 2025, data)
    assert report.errors == [] and clean["is_public"].to_list() == [True, False]


BAD = [  # (column, value written in data row 2 of the sheet, reason fragment)
    ("学校标识码", "37072401", "10 位数字"),
    ("县级行政区划代码", "999999", "未知的县级行政区划代码"),
    ("城乡分类代码", "130", "未知的城乡分类代码"),
    ("办学类型", "高中", "未知的办学类型"),
    ("专任教师数", "-3", "不能为负数"),
    ("专任教师数", "abc", "不是数字"),
    ("专任教师数", "12.5", "应为整数"),
    ("是否公办", "也许", "是/否"),
    (ZH["standardized_year"], "2030", "晚于导入年度"),
]


@pytest.mark.parametrize("column, value, reason", BAD, ids=[b[2] for b in BAD])
def test_each_error_names_row_column_value_and_reason(data, tmp_path, column, value, reason):
    table = as_text(rows_2025(data).head(3))
    assert column in table.columns, column
    table = table.with_columns(pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(value)).otherwise(pl.col(column))
                               .alias(column))
    clean, report = importer.validate(write_csv(table, tmp_path / "e.csv", "gbk"), 2025, data)
    assert clean is None
    hit = [p for p in report.errors if p["column"] == column and reason in p["reason"]]
    assert hit and hit[0]["row"] == 3 and hit[0]["value"] == value  # header row 1, second data row is row 3


@pytest.mark.parametrize("change, column, reason", [
    ({"classes_56_65": 50}, ZH["classes_56_65"], "多于班级总数"),
    ({"backbone_teachers": 999}, ZH["backbone_teachers"], "多于专任教师总数"),
    ({"left_behind_students": 15000}, ZH["left_behind_students"], "多于在校生总数"),
    ({"boarding_students": 15000}, ZH["boarding_students"], "多于在校生总数"),
])
def test_cross_column_rules(data, tmp_path, change, column, reason):
    one = rows_2025(data).head(1).with_columns(**{k: pl.lit(v, dtype=pl.Int32) for k, v in change.items()})
    clean, report = importer.validate(write_csv(as_text(one), tmp_path / "x.csv", "utf-8"), 2025, data)
    assert clean is None
    assert any(reason in p["reason"] and p["row"] == 2 for p in report.errors), report.errors


def test_repeated_school_id_and_missing_column(data, tmp_path):
    two = as_text(rows_2025(data).head(2))
    repeated = two.with_columns(pl.col("学校标识码").first())
    _, report = importer.validate(write_csv(repeated, tmp_path / "r.csv", "utf-8"), 2025, data)
    assert sorted(p["row"] for p in report.errors if "重复" in p["reason"]) == [2, 3]
    _, report = importer.validate(write_csv(two.drop("专任教师数"), tmp_path / "m.csv", "utf-8"), 2025, data)
    assert [p["reason"] for p in report.errors] == ["缺少必填列"]
    assert "专任教师数" in report.errors[0]["column"]


def test_warnings_do_not_block(data, tmp_path):
    schools = rows_2025(data).head(5).with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(80.0)).otherwise(pl.col("lon")).alias("lon"),
        # over 100 m² per student, yet within the column's range (≤ 1,000,000 m²): a warning, not an error
        pl.when(pl.int_range(pl.len()) == 1).then(pl.lit(900_000.0)).otherwise(
            pl.col("building_area_m2")).alias("building_area_m2"))
    clean, report = importer.validate(write_csv(as_text(schools), tmp_path / "w.csv", "utf-8"), 2025, data)
    assert clean is not None and report.errors == []
    reasons = {(p["row"], p["reason"].split("（")[0]) for p in report.warnings}
    assert (2, "坐标不在县（区）370724 范围内".split("（")[0]) in reasons
    assert any(r == 3 and "异常偏大" in why for r, why in reasons)
    missing = [p for p in report.warnings if "本次导入中没有" in p["reason"]]
    assert len(missing) == len(_ids_2024(data) - set(schools["school_id"]))


def _ids_2024(data: Path) -> set[str]:
    """Schools of 临朐县 in 2024 (schools open and close from year to year, 撤点并校)."""
    return set(pl.read_parquet(store.current_path(data, 2024)).filter(pl.col("county_code") == "370724")["school_id"])


def test_english_report(data, tmp_path):
    table = as_text(rows_2025(data).head(1), "en").with_columns(pl.lit("x").alias("teachers"))
    _, report = importer.validate(write_csv(table, tmp_path / "en.csv", "utf-8"), 2025, data, lang="en")
    assert report.errors[0]["reason"] == "Not a number" and report.errors[0]["column"] == "teachers"


def test_invalid_file_leaves_every_byte_of_the_data_directory(data, tmp_path):
    before = tree_digest(data)
    table = as_text(rows_2025(data)).with_columns(pl.lit("-1").alias("专任教师数"))
    code = cli.main(["import", str(write_csv(table, tmp_path / "bad.csv", "gbk")), "--year", "2025",
                     "--data-dir", str(data)])
    assert code == 1
    assert tree_digest(data) == before


def test_a_county_file_replaces_its_county_only_and_undo_restores_it(data, tmp_path, capsys):
    original = pl.read_parquet(store.current_path(data, 2025))
    others = original.filter(pl.col("county_code") != "370724").sort("school_id")
    mine = rows_2025(data).head(10)
    path = write_xlsx(as_text(mine), tmp_path / "临朐县2025.xlsx")
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data), "--dry-run"]) == 0
    assert pl.read_parquet(store.current_path(data, 2025)).equals(original)  # dry run wrote nothing
    # ten schools for a county of many: most of that county would go, so it is allowed only when asked for
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data)]) == 1
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data), "--allow-removal"]) == 0
    now = pl.read_parquet(store.current_path(data, 2025))
    # every other county as it was
    assert now.filter(pl.col("county_code") != "370724").sort("school_id").equals(others)
    assert set(now.filter(pl.col("county_code") == "370724")["school_id"]) == set(mine["school_id"])
    entry = store.read_manifest(data)["years"]["2025"]
    first = entry["versions"][0]["id"]
    assert (entry["source"], entry["rows"], entry["synthetic"]) == ("临朐县2025.xlsx", others.height + 10, False)
    assert entry["checksum"] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert entry["provenance"]["370724"] == entry["current"] and entry["provenance"]["341221"] == first
    assert store.synthetic_counties(data)[2025] == set(others["county_code"])  # the notice is per county
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data)]) == 0  # again: 3 versions
    versions = store.versions(data).filter(pl.col("year") == 2025)
    assert versions.height == 3 and versions["is_current"].sum() == 1
    second, third = store.read_manifest(data)["years"]["2025"]["versions"][1:3]
    assert cli.main(["rollback", "--data-dir", str(data), "--year", "2025", "--version", second["id"]]) == 1
    assert "撤销" in capsys.readouterr().err  # a later import changed that county: undo that one first
    assert cli.main(["rollback", "--data-dir", str(data), "--year", "2025", "--version", third["id"]]) == 0
    assert cli.main(["rollback", "--data-dir", str(data), "--year", "2025", "--version", second["id"]]) == 0
    back = pl.read_parquet(store.current_path(data, 2025))
    assert back.sort("school_id").equals(original.sort("school_id"))  # the county is restored, all as before
    assert store.read_manifest(data)["years"]["2025"]["synthetic"] is True
    assert store.synthetic_counties(data)[2025] == set(original["county_code"])
    assert cli.main(["rollback", "--data-dir", str(data), "--year", "2025", "--version", second["id"]]) == 1
    assert cli.main(["rollback", "--data-dir", str(data), "--year", "2025", "--version", "nope"]) == 1
    # nothing before it
    assert cli.main(["rollback", "--data-dir", str(data), "--year", "2025", "--version", first]) == 1
    log = audit.entries(data)
    assert log["action"].to_list()[:4] == ["rollback", "rollback", "import", "import"]
    # the writes are the CLI's; the shared demo directory also logs other tests' sign-ins,
    # which are not asked about here
    assert set(log.filter(pl.col("action").is_in(["import", "rollback"]))["account"]) == {"system"}


def test_replace_year_replaces_the_whole_year(data, tmp_path):
    mine = rows_2025(data).head(10)
    path = write_xlsx(as_text(mine), tmp_path / "year.xlsx")
    args = ["import", str(path), "--year", "2025", "--data-dir", str(data), "--replace-year"]
    assert cli.main(args) == 1  # it would remove every other county: asked for explicitly
    assert cli.main([*args, "--allow-removal"]) == 0
    assert pl.read_parquet(store.current_path(data, 2025)).height == 10


def test_an_account_imports_only_its_region(data, tmp_path):
    both = pl.concat([rows_2025(data).head(3), pl.read_parquet(store.current_path(data, 2025)).filter(
        pl.col("county_code") == "341221").head(2)])
    path = write_xlsx(as_text(both), tmp_path / "two.xlsx")
    report, version = importer.import_file(path, 2025, data, "zh", region="370724", allow_removal=True)
    assert version is None
    outside = [p for p in report.problems if "不在您的权限范围" in p["reason"]]
    assert len(outside) == 2 and {p["value"] for p in outside} == {"341221"}  # the rows are named


def test_usage_errors_exit_2(data, tmp_path):
    assert cli.main(["import", str(tmp_path / "missing.csv"), "--year", "2025", "--data-dir", str(data)]) == 2
    with pytest.raises(SystemExit) as e:
        cli.main(["import", "x.csv", "--data-dir", str(data)])  # no --year
    assert e.value.code == 2


def test_unreadable_files_are_refused_clearly(data, tmp_path):
    fake = tmp_path / "fake.xlsx"
    fake.write_bytes(b"this is not a workbook")
    with pytest.raises(importer.UnreadableFile, match="无法读取 Excel 文件 fake.xlsx"):
        importer.validate(fake, 2025, data)
    with pytest.raises(importer.UnreadableFile, match="不支持的文件类型"):
        importer.validate(tmp_path / "x.pdf", 2025, data)


def test_a_second_import_waits_for_the_lock_or_says_why(data, tmp_path):
    path = write_csv(as_text(rows_2025(data).head(3)), tmp_path / "a.csv", "utf-8")
    with store.lock(data):
        with pytest.raises(store.StoreError, match="另一个导入正在进行"):
            importer.import_file(path, 2025, data, lock_timeout=0.2)
    results = []
    threads = [threading.Thread(target=lambda: results.append(
        importer.import_file(path, 2025, data, allow_removal=True)[1])) for _ in range(3)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert len(set(results)) == 3  # three whole versions, one after the other
    assert len(store.read_manifest(data)["years"]["2025"]["versions"]) == 4
    now = pl.read_parquet(store.current_path(data, 2025))
    assert now.filter(pl.col("county_code") == "370724").height == 3  # the county's file, the others untouched
    assert now.filter(pl.col("county_code") != "370724")["county_code"].n_unique() == 34


def test_damaged_snapshot_is_reported_and_other_years_work(data):
    store.current_path(data, 2020).write_bytes(b"PAR1 garbage")
    good, problems = db.snapshot_health(data)
    assert list(problems) == [2020] and "快照文件损坏" in problems[2020]
    con = db.connect(data)
    years = db.run(con, "snapshot_years", Scope("370724"))["year"].to_list()
    assert 2020 not in years and 2021 in years


def test_template_is_valid_and_documents_every_column(tmp_path, data):
    out = tmp_path / "template.xlsx"
    assert cli.main(["template", "--out", str(out)]) == 0
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["学校数据", "数据字典"]
    guide = [row[1] for row in book["数据字典"].iter_rows(min_row=2, values_only=True)]
    assert set(guide) == {c.name for c in dictionary.columns()} - {"year"}
    clean, report = importer.validate(out, 2026, data)
    assert report.errors == [] and clean.height == len(importer.EXAMPLE_ROWS)

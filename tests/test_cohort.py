"""The cohort workbench: the filter grammar, the query against hand-written DuckDB, privacy, statistics by hand,
similar counties, exports and `junheng cohort`."""
import io
import json
import math
import os

import duckdb
import polars as pl
import pyarrow.parquet as pq
import pytest

from junheng.data import cohort as dc
from junheng.data import db
from junheng.data.scope import EVERYTHING, Scope
from junheng.i18n import t
from junheng.reports import exports
from junheng.rules import cohort as g
from junheng.rules import cohort_stats as stats
from junheng.rules import left_behind, privacy
from junheng.tools import cli


@pytest.mark.parametrize("text, canonical", [
    ("left_behind_share > 30%", "left_behind_share > 0.3"),
    ("left_behind_share>0.3", "left_behind_share > 0.3"),
    ("school_type in (小学, 初中)", "school_type in (primary, junior)"),
    ("school_type IN 小学，教学点", "school_type in (primary, teaching_point)"),
    ("办学类型 = 小学", "school_type = primary"),
    ("urban_rural = 乡村", "urban_rural = rural"),
    ("urban_rural = town", "urban_rural = town"),
    ("urban_rural_code in (主城区, 220)", "urban_rural_code in (111, 220)"),
    ("is_boarding = 是", "is_boarding = true"),
    ("is_public != false", "is_public != false"),
    ("students >= 100", "students >= 100"),
    ("primary_class_size ≥ 45.5", "primary_class_size >= 45.5"),
    ('township = "城关 街道"', 'township = "城关 街道"'),
    ("school_name = '=1+1'", 'school_name = "=1+1"'),
    ("county_code in (370724, 370305)", "county_code in (370724, 370305)"),
    ("left_behind_students in (1,2,3,4)", "left_behind_students in (1, 2, 3, 4)"),
    ("year <= 2020", "year <= 2020"),
])
def test_a_condition_reads_into_its_canonical_form_and_back(text, canonical):
    condition = g.parse(text)
    assert condition.text == canonical
    assert g.parse(condition.text) == condition  # links and the command line carry the canonical form


@pytest.mark.parametrize("text, key", [
    ("foo > 1", "cohort_err_column"),
    ("school_type > 3", "cohort_err_operator"),
    ("is_boarding in (是, 否)", "cohort_err_operator"),
    ("students > abc", "cohort_err_number"),
    ("students > 30%", "cohort_err_percent"),
    ("students > nan", "cohort_err_number"),
    ("students > 1e400", "cohort_err_number"),
    ("is_boarding = maybe", "cohort_err_bool"),
    ("school_type = 大学", "cohort_err_code"),
    ("urban_rural = suburb", "cohort_err_code"),
    ("county_code = 3707", "cohort_err_county"),
    ("left_behind_share >", "cohort_err_value_missing"),
    ("school_type in ()", "cohort_err_value_missing"),
    ("school_type in (小学,,初中)", "cohort_err_value_missing"),
    ("township in (\"open", "cohort_err_syntax"),
    ("just words", "cohort_err_syntax"),
    ("= 3", "cohort_err_syntax"),
    ("", "cohort_err_syntax"),
    ("students ~ 3", "cohort_err_syntax"),
    ("school_type in (" + ",".join(["小学"] * 101) + ")", "cohort_err_list"),
    ("township = " + "x" * 150, "cohort_err_text"),
    ("township = " + "x" * 20_000, "cohort_err_too_long"),
])
def test_a_bad_condition_gets_a_message_naming_it_in_both_languages(text, key):
    with pytest.raises(g.ConditionError) as caught:
        g.parse(text)
    assert caught.value.key == key
    zh, en = caught.value.message("zh"), caught.value.message("en")
    assert zh != en and "{" not in zh + en
    shown = text[:20]
    if key != "cohort_err_too_many":
        assert shown[:10] in zh and shown[:10] in en  # the condition is named


def test_a_huge_condition_is_refused_at_once():
    """Refused by its length before any parsing (no timing here: the refusal itself is what is checked)."""
    conditions, errors = g.parse_all(["school_type in (" + "a," * 10_000 + ")"] * 50)
    assert conditions == [] and [e.key for e in errors] == ["cohort_err_too_long"] * 20 + ["cohort_err_too_many"]


def test_facets_replace_their_own_condition_only():
    conditions = [g.parse("urban_rural = 乡村"), g.parse("urban_rural != 城区"), g.parse("students > 10")]
    out = g.with_facet(conditions, "urban_rural", ["rural", "town"])
    assert [c.text for c in out] == ["urban_rural != urban", "students > 10", "urban_rural in (rural, town)"]
    assert g.facet_values(out, "urban_rural") == ("rural", "town")
    assert [c.text for c in g.with_facet(out, "urban_rural", [])] == ["urban_rural != urban", "students > 10"]


def test_every_measure_is_computed_by_the_query_as_documented(tiny_con):
    """cohort_rows.sql's derived columns against the registry's definitions, computed here in Polars."""
    rows = dc.run(tiny_con, g.Cohort(), EVERYTHING, (2023, 2024), 0).rows
    assert {m.name for m in g.measures()} <= set(rows.columns)
    students = pl.col("primary_students") + pl.col("junior_students")
    everyone = students + pl.col("senior_students").fill_null(0)
    expected = rows.select(
        (pl.col("left_behind_students") / students).alias("left_behind_share"),
        (pl.col("primary_students") / pl.col("primary_classes")).alias("primary_class_size"),
        (everyone / pl.col("teachers")).alias("students_per_teacher"),
        *[(pl.col(i.numerator) / everyone * i.scale).alias(i.key) for i in g.indicators.registry()])
    for column in expected.columns:
        assert rows[column].to_list() == pytest.approx(expected[column].to_list()), column
    assert rows.filter(pl.col("school_id") == "3707240002")["urban_rural"].unique().to_list() == ["rural"]
    # 颍州区's nine-year school: 900 compulsory students, 60 teachers; 临淄区's: 500 students, 30 teachers
    assert rows.filter(pl.col("county_code") == "341202")["students_per_teacher"].to_list() == [15.0]


HAND_WRITTEN = """
select school_id, year
from read_parquet($files, union_by_name = true)
where county_code like '3707%'
  and year between 2016 and 2024
  and urban_rural_code in ('210', '220')
  and school_type in ('primary', 'teaching_point')
  and primary_students + junior_students >= 50
  and not is_boarding
  and books / (primary_students + junior_students + coalesce(senior_students, 0)) > 20
order by county_code, school_id, year
"""
WHERE = ["urban_rural = 乡村", "school_type in (小学, 教学点)", "students >= 50", "is_boarding = 否",
         "books_per_student > 20"]


def _hand_written(data_dir) -> pl.DataFrame:
    files = [str(p) for p in db.snapshot_files(data_dir)]
    return duckdb.sql(HAND_WRITTEN, params={"files": files}).pl()


def test_the_cohort_query_gives_the_rows_of_a_hand_written_query(demo_data):
    con = db.connect(demo_data)
    spec = g.Cohort("3707", 2016, 2024, tuple(g.parse(w) for w in WHERE))
    result = dc.run(con, spec, EVERYTHING, (2016, 2024), 5)
    expected = _hand_written(demo_data)
    assert expected.height > 20  # a real cohort, not an empty one
    assert result.rows.select("school_id", "year").rows() == expected.rows()
    assert result.params["c1"] == ["primary", "teaching_point"] and result.params["c2"] == 50.0


def test_values_are_bound_and_only_templates_are_added_to_the_query_file(tiny_con):
    import re
    hostile = "x'); drop table schools; --"
    spec = g.Cohort("37", None, None, (g.parse(f'township = "{hostile}"'), g.parse("school_type in (小学, 初中)"),
                                       g.parse("students > 3")))
    text, params = dc.sql(spec, (2023, 2024), ["school_name", "students"])
    assert hostile not in text and params["c0"] == hostile
    added = [line for line in text.splitlines() if line not in db.query_text("cohort_rows").splitlines()]
    pattern = r"      and [a-z_]+ (=|!=|>|>=|<|<=) \$c\d+|      and [a-z_]+ in \(select unnest\(\$c\d+\)\)"
    clauses = [line for line in added if not line.startswith("select ")]
    assert len(clauses) == 3 and all(re.fullmatch(pattern, line) for line in clauses)
    assert [line for line in added if line.startswith("select ")] == [
        "select year, county_code, school_id, school_name, students"]
    assert db.run_text(tiny_con, text, EVERYTHING, params).is_empty()
    with pytest.raises(KeyError):
        dc.sql(spec, (2023, 2024), ["school_name; drop table schools"])


def test_junheng_cohort_writes_the_same_rows_and_prints_the_count(demo_data, tmp_path, capsys):
    out = tmp_path / "cohort.parquet"
    argv = ["cohort", "--data-dir", str(demo_data), "--region", "3707", "--year-from", "2016", "--year-to", "2024",
            "--out", str(out), "--lang", "en"]
    for w in WHERE:
        argv += ["--where", w]
    assert cli.main(argv) == 0
    expected = _hand_written(demo_data)
    assert f"{expected.height} school-years" in capsys.readouterr().out
    written = pl.read_parquet(out)
    assert written.select("school_id", pl.col("year").cast(pl.Int64)).rows() == \
        expected.with_columns(pl.col("year").cast(pl.Int64)).rows()
    meta = pq.read_schema(out).metadata
    dictionary = json.loads(meta[b"junheng.dictionary"])
    assert {d["column"] for d in dictionary} == set(written.columns)
    assert next(d for d in dictionary if d["column"] == "left_behind_share")["zh"] == "留守儿童占比"
    assert b"cohort_rows" not in meta[b"junheng.query"] and b"$c0" in meta[b"junheng.query"]


@pytest.mark.parametrize("argv, message", [
    (["--where", "foo > 3"], 'The condition "foo > 3": there is no column "foo"'),
    (["--where", "school_type > 3"], 'the operator ">" does not apply'),
    (["--region", "37x"], "A region code has 2, 4 or 6 digits"),
    (["--year-from", "1990"], "There are no data for 1990"),
])
def test_junheng_cohort_exits_1_with_the_message_on_a_bad_condition(demo_data, tmp_path, capsys, argv, message):
    out = tmp_path / "x.csv"
    code = cli.main(["cohort", "--data-dir", str(demo_data), "--out", str(out), "--lang", "en", *argv])
    err = capsys.readouterr().err
    assert code == 1 and message in err and "Traceback" not in err and not out.exists()


def test_the_method_panel_script_reruns_in_duckdb_on_the_snapshots(demo_data):
    con = db.connect(demo_data)
    spec = g.Cohort("3707", 2016, 2024, tuple(g.parse(w) for w in WHERE + ["township != \"it's\""]))
    result = dc.run(con, spec, EVERYTHING, (2016, 2024), 0)
    script = dc.rerun_script(result, set(pl.read_parquet_schema(db.snapshot_files(demo_data)[-1])))
    here = os.getcwd()
    try:
        os.chdir(demo_data)
        fresh = duckdb.connect()
        statements = [s for s in script.split(";\n") if s.strip() and not s.strip().startswith("-- then")]
        for statement in statements[:-1]:
            fresh.execute(statement)
        rerun = fresh.sql(statements[-1]).pl()
    finally:
        os.chdir(here)
    assert rerun.select("school_id", "year").rows() == result.rows.select("school_id", "year").rows()


def test_a_county_account_gets_only_its_county(demo_data):
    con = db.connect(demo_data)
    rows = dc.run(con, g.Cohort(), Scope("370724"), (2025, 2025), 5).rows
    assert set(rows["county_code"]) == {"370724"}
    assert dc.run(con, g.Cohort("3412"), Scope("370724"), (2025, 2025), 5).rows.is_empty()


@pytest.fixture(scope="module")
def demo_2025(demo_data):
    con = db.connect(demo_data)
    return con, db.run(con, "school_rows", EVERYTHING, year=2025, region="")


def test_left_behind_counts_are_suppressed_exactly_as_on_the_left_behind_page(demo_2025):
    con, schools = demo_2025
    page = left_behind.protection(left_behind.school_care(schools, {"targets": {"psych_classes_per_teacher": 10}}),
                                  {"privacy": {"min_count": 5}}).schools
    ours = dc.count_status(con, EVERYTHING, "", (2025, 2025), 5, {})
    both = page.join(ours, on="school_id")
    assert both.height == schools.height
    assert (both["status"] == both["left_behind_status"]).all()
    assert set(both["status"]) == {privacy.SHOWN, privacy.PRIMARY, privacy.COMPLEMENTARY}


def test_migrant_counts_are_suppressed_exactly_as_on_the_left_behind_page(demo_2025):
    """One migrant protection (issue 23): the page's 城乡 group totals and public shares and the cohort's school
    counts are decided together (the published sums are audited in tests/test_privacy_audit.py)."""
    con, schools = demo_2025
    shield = left_behind.migrant_protection(schools.with_columns(
        g.indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group")), 5)
    ours = dc.count_status(con, EVERYTHING, "", (2025, 2025), 5, {})
    both = shield.schools.join(ours, on="school_id")
    assert both.height == schools.height and (both["status"] == both["migrant_status"]).all()
    page = db.run(con, "migrant_groups", EVERYTHING, year=2025, region="", min_count=5)
    groups = shield.group_status("urban_rural_group").join(page, on=["county_code", "group"], suffix="_page")
    assert groups.height == page.height and (groups["status"] == groups["status_page"]).all()
    small = ours.join(schools.select("school_id", "migrant_students"), on="school_id").filter(
        (pl.col("migrant_students") > 0) & (pl.col("migrant_students") < 5))
    assert small.height > 0 and (small["migrant_status"] != privacy.SHOWN).all()  # every small count suppressed


def test_a_condition_on_a_suppressed_count_never_finds_its_school(demo_data):
    con = db.connect(demo_data)
    for value in (1, 2, 3, 4):
        spec = g.Cohort("3707", 2025, 2025, (g.parse(f"left_behind_students = {value}"),))
        assert dc.run(con, spec, EVERYTHING, (2025, 2025), 5).rows.is_empty()
        # with exact counts allowed (analysts, when the setting says so), the same condition finds them
    small = (g.parse("left_behind_students < 5"), g.parse("left_behind_students > 0"))
    exact = dc.run(con, g.Cohort("3707", 2025, 2025, small), EVERYTHING, (2025, 2025), 0)
    assert exact.rows.height > 0
    shares = dc.run(con, g.Cohort("3707", 2025, 2025), EVERYTHING, (2025, 2025), 5).rows
    hidden = shares.filter(pl.col("left_behind_status") != privacy.SHOWN)
    assert hidden.height > 0 and hidden["left_behind_students"].null_count() == hidden.height
    assert hidden["left_behind_share"].null_count() == hidden.height
    published = dc.export_frame(dc.run(con, g.Cohort("3707", 2025, 2025), EVERYTHING, (2025, 2025), 5))
    assert set(published["left_behind_students"].to_list()) >= {"<5", "*"}
    assert "left_behind_status" not in published.columns


def test_summary_by_hand():
    # the domain brief's example: (students, computers per 100) = (100, 10), (300, 4), (600, 5)
    rows = pl.DataFrame({"school_id": ["a", "b", "c", "d"], "year": [2024] * 4, "students": [100, 300, 600, 50],
                         "x": [10.0, 4.0, 5.0, None]})
    out = stats.summary(rows, ["x"]).row(0, named=True)
    assert out["schools"] == 3
    assert out["mean"] == pytest.approx(5.2)          # 5,200 / 1,000
    assert out["median"] == 5.0
    assert out["p10"] == pytest.approx(4.2)           # 4 + 0.2 × (5 − 4)
    assert out["p90"] == pytest.approx(9.0)           # 5 + 0.8 × (10 − 5)
    assert stats.size(rows) == {"schools": 4, "school_years": 4, "students": 1050, "year": 2024}


def test_compare_and_the_rest_of_the_region():
    region = pl.DataFrame({"school_id": ["a", "b", "c"], "year": [2024] * 3, "students": [100, 100, 200],
                           "x": [2.0, 4.0, 1.0]})
    a = region.filter(pl.col("school_id") != "c")
    b = stats.rest(region, a)
    assert b["school_id"].to_list() == ["c"]
    table = stats.compare(stats.summary(a, ["x"]), stats.summary(b, ["x"])).row(0, named=True)
    assert table["a_mean"] == 3.0 and table["b_mean"] == 1.0
    assert table["difference"] == 2.0 and table["ratio"] == 3.0


def test_histograms_of_two_cohorts_share_their_bins():
    a = pl.DataFrame({"x": [float(i) for i in range(100)]})
    b = pl.DataFrame({"x": [10.0, 10.5, 80.0, None]})
    h = stats.histogram({"A": a, "B": b}, "x", bins=10)
    assert h.filter(pl.col("cohort") == "A")["bin_start"].to_list() == h.filter(pl.col("cohort") == "B")[
        "bin_start"].to_list()
    assert h.filter(pl.col("cohort") == "A")["count"].sum() == 100
    assert h.filter(pl.col("cohort") == "B")["share"].sum() == pytest.approx(1.0)


def test_similar_counties_by_hand():
    counties = pl.DataFrame({"county_code": ["A", "B", "C", "D", "E"], "x": [1.0, 2.0, 3.0, 10.0, None],
                             "y": [10.0, 10.0, 40.0, 10.0, 1.0]})
    out = stats.similar(counties, "A", ["x", "y"], k=3)
    # x: mean 4, sd √12.5; y: mean 17.5, sd √168.75 (E has no x: left out)
    assert out["county_code"].to_list() == ["A", "B", "C", "D"]
    assert out["distance"].to_list() == pytest.approx([0.0, 0.2, math.sqrt((4 / 12.5 + 900 / 168.75) / 2), 1.8])
    assert out["rank"].to_list() == [0, 1, 2, 3]
    assert stats.similar(counties, "E", ["x", "y"]).is_empty()


def test_excel_export_has_the_rows_and_the_dictionary_and_no_formulas(tmp_path):
    frame = pl.DataFrame({"school_name": ['=HYPERLINK("http://x")', "a<b>&c\x01"], "students": [1, None],
                          "left_behind_share": [0.5, float("inf")], "is_boarding": [True, None]})
    data = exports.cohort_bytes(frame, "xlsx", "zh")
    path = tmp_path / "c.xlsx"
    path.write_bytes(data)
    back = pl.read_excel(path, sheet_id=1)
    assert back["school_name"].to_list() == ['=HYPERLINK("http://x")', "a<b>&c"]
    assert back["students"].to_list() == [1, None]
    import zipfile
    sheet = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet and "HYPERLINK" in sheet  # text, never a formula
    dictionary = pl.read_excel(path, sheet_name="数据字典")
    assert dictionary["column"].to_list() == ["school_name", "students", "left_behind_share", "is_boarding"]
    assert dictionary.filter(pl.col("column") == "left_behind_share")["zh"].item() == "留守儿童占比"


def test_the_three_export_formats_hold_the_same_rows(demo_data):
    """CSV (UTF-8 with BOM), Excel (first sheet) and Parquet of one frame read back to the same rows and columns."""
    frame = pl.read_parquet(db.snapshot_files(demo_data)[-1]).head(300).select(
        "county_code", "school_id", "school_name", "primary_students", "is_boarding")
    csv = exports.cohort_bytes(frame, "csv", "zh")
    assert csv.startswith("\ufeff".encode())
    back = {"csv": pl.read_csv(io.BytesIO(csv[3:]), schema=frame.schema),
            "xlsx": pl.read_excel(io.BytesIO(exports.cohort_bytes(frame, "xlsx", "zh")), sheet_id=1,
                                  schema_overrides=dict(frame.schema)),
            "parquet": pl.read_parquet(io.BytesIO(exports.cohort_bytes(frame, "parquet", "zh")))}
    for kind, read in back.items():
        assert read.columns == frame.columns, kind
        assert read.cast(frame.schema).rows() == frame.rows(), kind

@pytest.mark.parametrize("text, kept", [
    ("left_behind_students in (1,2,3,4)", [1, 4]),     # integers stored, floats parsed: compared as numbers
    ("left_behind_students in (4.5)", []),
    ("left_behind_students = 4", [4]),
    ("school_type in (小学, 初中)", ["primary", "junior"]),
    ("is_boarding = 否", [False]),
])
def test_a_condition_applied_to_published_values_compares_like_types(text, kept):
    """The conditions on protected counts are applied in Polars after suppression: `in` on an integer column with
    the grammar's float values raised InvalidOperationError (a traceback from `junheng cohort`)."""
    condition = g.parse(text)
    rows = pl.DataFrame({"left_behind_students": [1, None, 5, 4], "school_type": ["primary", "junior", None, "x"],
                         "is_boarding": [True, False, None, True]},
                        schema={"left_behind_students": pl.Int32, "school_type": pl.String, "is_boarding": pl.Boolean})
    assert rows.filter(dc.condition_expr(condition))[condition.column].to_list() == kept


def test_junheng_cohort_takes_an_in_list_of_counts_without_a_traceback(tiny_data, tmp_path, capsys):
    # 2024 in the fixture: 临朐's schools have 8 and 50 left-behind pupils, the two others 10 (none below 5: shown)
    out = tmp_path / "x.csv"
    code = cli.main(["cohort", "--data-dir", str(tiny_data), "--out", str(out), "--lang", "en",
                     "--where", "left_behind_students in (1,2,3,4,8,50)"])
    captured = capsys.readouterr()
    assert code == 0 and "Traceback" not in captured.err
    assert "2 school-years (2 schools)" in captured.out
    written = pl.read_csv(out, infer_schema_length=0)
    assert sorted(written["left_behind_students"].to_list()) == ["50", "8"]


def _damage(data_dir, year: int) -> None:
    """Truncate a year's snapshot as a half-finished copy leaves it."""
    from junheng.data import store
    path = store.current_path(data_dir, year)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])


def test_junheng_evaluate_names_a_damaged_year_instead_of_saying_it_has_no_data(tiny_data, capsys):
    _damage(tiny_data, 2023)
    assert cli.main(["evaluate", "--data-dir", str(tiny_data), "--county", "370724", "--year", "2023"]) == 1
    err = capsys.readouterr().err
    assert "2023 年的数据文件已损坏" in err and "snapshots/year=2023" in err and "没有 2023 年" not in err
    assert cli.main(["evaluate", "--data-dir", str(tiny_data), "--county", "370724", "--year", "2023",
                     "--lang", "en"]) == 1
    assert "The data file of 2023 is damaged" in capsys.readouterr().err
    assert cli.main(["evaluate", "--data-dir", str(tiny_data), "--county", "370724", "--year", "2024"]) == 0


@pytest.mark.parametrize("kind", ["csv", "xlsx", "parquet"])
def test_a_cohort_export_names_the_damaged_years_it_leaves_out(tiny_data, tmp_path, capsys, kind):
    import openpyxl
    _damage(tiny_data, 2023)
    out = tmp_path / f"cohort.{kind}"
    assert cli.main(["cohort", "--data-dir", str(tiny_data), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "2023 年的数据文件已损坏，这些年度的学校未包含在导出中" in captured.err
    assert "4 个学校·年度" in captured.out  # the four schools of 2024, none of 2023
    if kind == "parquet":
        assert json.loads(pq.read_schema(out).metadata[b"junheng.damaged_years"]) == [2023]
    elif kind == "xlsx":
        book = openpyxl.load_workbook(out)
        notes = [c.value for c in book["说明"]["A"]]
        assert notes == ["说明", "2023 年的数据文件已损坏，这些年度的学校未包含在导出中。"]
    # a range that does not reach the damaged year says nothing of it
    assert cli.main(["cohort", "--data-dir", str(tiny_data), "--out", str(out), "--year-from", "2024"]) == 0
    assert "2023" not in capsys.readouterr().err
    if kind == "parquet":
        assert b"junheng.damaged_years" not in pq.read_schema(out).metadata
    elif kind == "xlsx":
        assert "说明" not in openpyxl.load_workbook(out).sheetnames


def test_the_cohort_export_command_names_the_damaged_years_too(tiny_data):
    from junheng.access.accounts import SYSTEM
    from junheng.commands import exports as export_commands
    _damage(tiny_data, 2023)
    data, frame, _, _ = export_commands.cohort(tiny_data, SYSTEM, g.Cohort("37"), "parquet", "en")
    assert json.loads(pq.read_schema(io.BytesIO(data)).metadata[b"junheng.damaged_years"]) == [2023]
    assert set(frame["year"].to_list()) == {2024}


def test_a_condition_the_data_cannot_apply_is_named_in_one_line_not_a_traceback(tiny_data, tmp_path, capsys,
                                                                               monkeypatch):
    def refuse(*args, **kwargs):
        raise pl.exceptions.InvalidOperationError("'is_in' cannot check for Int32 values in List(Float64) data")
    monkeypatch.setattr(dc, "run", refuse)
    out = tmp_path / "x.csv"
    code = cli.main(["cohort", "--data-dir", str(tiny_data), "--out", str(out), "--lang", "en",
                     "--where", "left_behind_students in (1,2)"])
    err = capsys.readouterr().err
    assert code == 1 and not out.exists() and "Traceback" not in err
    assert err.strip() == t("cohort_err_apply", "en", condition="left_behind_students in (1, 2)",
                            detail="InvalidOperationError")

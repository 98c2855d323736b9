"""`junheng report`: the county deck (PPTX, PDF, xlsx) and the prefecture bulletin, against the evaluation itself.

The deck's numbers are compared with `junheng evaluate --json` for the same county-year; the PDF's text is
read back with pdftotext; the workbook's 整改清单 with openpyxl; hostile school names must come out as text.
"""
from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path

import openpyxl
import polars as pl
import pytest
from pptx import Presentation

from junheng import escape, settings
from junheng.data import db, demo
from junheng.data.scope import EVERYTHING, Scope
from junheng.i18n import t
from junheng.reports import content, deck, pdf
from junheng.reports import report as report_module
from junheng.rules import indicators, rectification
from junheng.tools import cli
from tests.hostile import NAMES, hostile_rows

COUNTY, PREFECTURE, YEAR = "370724", "3707", 2025


def _run(capsys, *argv) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def _slides(data: bytes) -> list[tuple[str, list[str], list[list[list[str]]]]]:
    """(title, other texts, tables as rows of cell texts) per slide."""
    out = []
    for slide in Presentation(io.BytesIO(data)).slides:
        texts = [s.text_frame.text for s in slide.shapes if s.has_text_frame and s.text_frame.text]
        found = [[[c.text for c in row.cells] for row in s.table.rows] for s in slide.shapes if s.has_table]
        out.append((texts[0] if texts else "", texts[1:], found))
    return out


def _evaluate_json(capsys, demo_data) -> dict:
    code, out, _ = _run(capsys, "evaluate", "--data-dir", str(demo_data), "--county", COUNTY, "--year", str(YEAR),
                        "--json")
    assert code == 0
    return json.loads(out)


@pytest.mark.browser
def test_pptx_numbers_equal_evaluate_json(demo_data, tmp_path, capsys):
    expected = _evaluate_json(capsys, demo_data)
    out = tmp_path / "deck.pptx"
    code, said, err = _run(capsys, "report", "--data-dir", str(demo_data), "--county", COUNTY, "--year", str(YEAR),
                           "--format", "pptx", "--out", str(out))
    assert code == 0, err
    assert str(out) in said
    slides = _slides(out.read_bytes())
    deck_size = Presentation(str(out)).slide_width / Presentation(str(out)).slide_height
    assert abs(deck_size - 16 / 9) < 0.01
    assert "临朐县" in slides[0][0] and str(YEAR) in slides[0][0]
    assert any(t("report_source_synthetic", "zh") in text for text in slides[0][1])
    levels = list(expected["levels"])
    # 基本均衡: both levels' tables side by side on one slide, the eight CVs and the composite
    basic = [s for s in slides if s[0] == t("report_eval_title", "zh", evaluation=t("eval_basic", "zh"))]
    assert len(basic) == 1 and len(basic[0][2]) == len(levels)
    for level, rows in zip(levels, basic[0][2]):
        b = expected["levels"][level]["basic"]
        labels = [*(ind.label("zh") for ind in indicators.basic_indicators()), t("composite", "zh")]
        values = [*(b["cv"][ind.key] for ind in indicators.basic_indicators()), b["composite"]]
        assert len(rows) == len(labels) + 1
        for row, label, value in zip(rows[1:], labels, values):
            assert label.startswith(row[0].rstrip("…")) and row[1] == f"{value:.3f}"
        assert rows[-1][3] == t("pass" if b["pass"] else "fail", "zh")
    # 优质均衡: one slide per level, each CV against its ceiling with the verdict
    quality = [s for s in slides if s[0] == t("report_eval_title", "zh", evaluation=t("eval_quality", "zh"))]
    assert len(quality) == len(levels)
    for level, slide in zip(levels, quality):
        q = expected["levels"][level]["quality"]
        rows = slide[2][0]
        assert len(rows) == len(indicators.quality_indicators()) + 1
        for row, ind in zip(rows[1:], indicators.quality_indicators()):
            cv = q["cv"][ind.key]
            assert ind.label("zh").startswith(row[0].rstrip("…"))
            assert row[1:4] == [f"{cv:.3f}", f"≤ {q['threshold']}", t("pass" if cv <= q["threshold"] else "fail", "zh")]
    for key, verdict in expected["verdicts"].items():
        line = t("report_verdict", "zh", evaluation=t(f"eval_{key}", "zh"), verdict=t(f"verdict_{verdict}", "zh"))
        assert any(line in text for s in slides for text in s[1])
    titles = [s[0] for s in slides]
    assert t("report_rectification", "zh", year=YEAR) in titles and t("report_plan", "zh") in titles
    pictures = sum(1 for slide in Presentation(str(out)).slides for s in slide.shapes if s.shape_type == 13)
    assert pictures == 4  # two CV trend charts, the county map, the school map


@pytest.mark.browser
def test_pdf_text_has_the_county_and_its_cvs(demo_data, tmp_path, capsys):
    expected = _evaluate_json(capsys, demo_data)
    out = tmp_path / "deck.pdf"
    code, _, err = _run(capsys, "report", "--data-dir", str(demo_data), "--county", COUNTY, "--year", str(YEAR),
                        "--out", str(out))
    assert code == 0, err
    assert out.read_bytes().startswith(b"%PDF")
    text = subprocess.run(["pdftotext", "-layout", str(out), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert "临朐县" in text
    for level in expected["levels"].values():
        for cv in [*level["basic"]["cv"].values(), *level["quality"]["cv"].values()]:
            assert f"{cv:.3f}" in text
    fonts = subprocess.run(["pdffonts", str(out)], capture_output=True, text=True, check=True).stdout
    rows = fonts.splitlines()[2:]
    assert rows and all(" yes " in row for row in rows)  # every font embedded


def test_xlsx_has_the_rectification_sheet(demo_data, tmp_path, capsys):
    out = tmp_path / "deck.xlsx"
    code, _, err = _run(capsys, "report", "--data-dir", str(demo_data), "--county", COUNTY, "--year", str(YEAR),
                        "--out", str(out))
    assert code == 0, err
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "整改清单"
    con = db.connect(demo_data)
    schools = db.run(con, "school_rows", EVERYTHING, year=YEAR, region=COUNTY)
    items, _ = rectification.rectification(schools, settings.load_thresholds())
    rows = list(book["整改清单"].iter_rows(values_only=True))
    assert rows[0][:4] == ("优先级", "学段", "学校标识码", "学校名称")
    assert len(rows) - 1 == items.height > 0
    assert [r[2] for r in rows[1:]] == items["school_id"].to_list()
    assert sum(r[-1] for r in rows[1:]) == pytest.approx(float(items["cost"].sum()))
    # each school's additions counted once (one addition serves all its levels): the list's total is the by-school
    # sheet's, not the sum of the rows
    by_school = list(book["整改学校汇总"].iter_rows(values_only=True))
    assert sum(r[5] for r in by_school[1:]) == pytest.approx(rectification.total_cost(items))
    assert {"基本均衡", "优质均衡", "评估项目", "学校", "达标方案", "分年度方案", "学校汇总"} <= set(book.sheetnames)
    english = tmp_path / "deck_en.xlsx"
    assert cli.main(["report", "--data-dir", str(demo_data), "--county", COUNTY, "--year", str(YEAR), "--out",
                     str(english), "--lang", "en"]) == 0
    assert openpyxl.load_workbook(english).sheetnames[0] == "Rectification"


@pytest.mark.browser
def test_bulletin_lists_the_prefectures_counties(demo_data, tmp_path, capsys):
    out = tmp_path / "bulletin.pptx"
    code, _, err = _run(capsys, "report", "--data-dir", str(demo_data), "--region", PREFECTURE, "--year", str(YEAR),
                        "--out", str(out))
    assert code == 0, err
    counties = db.run(db.connect(demo_data), "counties_with_data", EVERYTHING).filter(
        pl.col("prefecture_code") == PREFECTURE)
    slides = _slides(out.read_bytes())
    assert "潍坊市" in slides[0][0]
    ranking = [s for s in slides if s[0].startswith(t("report_bulletin_ranking", "zh", year=YEAR))]
    rows = [ranking[0][2][0][0]] + [row for s in ranking for row in s[2][0][1:]]  # a long table goes on
    assert sorted(r[1] for r in rows[1:]) == sorted(counties["county_name"].to_list())
    assert [r[0] for r in rows[1:]] == [str(n) for n in range(1, counties.height + 1)]
    composite = [float(r[3]) for r in rows[1:]]
    assert composite == sorted(composite)  # ranked by the primary composite CV


@pytest.mark.parametrize("argv, lang, message", [
    (["--county", "999999"], "zh", "未知地区代码：999999"),
    (["--county", "999999"], "en", "unknown region code: 999999"),
    (["--county", "37x"], "en", "not a county code: 37x"),
    (["--region", "370724"], "zh", "不是地市代码：370724"),
    (["--county", COUNTY, "--year", "1999"], "en", "no data for 1999"),
    (["--county", COUNTY, "--format", "docx"], "zh", None),  # argparse refuses the choice
])
def test_bad_input_says_why_and_writes_nothing(demo_data, tmp_path, capsys, argv, lang, message):
    out = tmp_path / "deck.pptx"
    args = ["report", "--data-dir", str(demo_data), "--year", str(YEAR), "--out", str(out), "--lang", lang, *argv]
    if message is None:
        with pytest.raises(SystemExit):
            cli.main(args)
        err = capsys.readouterr().err
    else:
        code, _, err = _run(capsys, *args)
        assert code == 1
        assert message in err
    assert "Traceback" not in err
    assert not out.exists() and not list(tmp_path.iterdir())


def test_a_county_outside_the_scope_is_refused(demo_data):
    with pytest.raises(content.ReportError, match="不在您的权限地区内"):
        content.gather(demo_data, Scope(region="21"), YEAR, "zh", county=COUNTY, pictures=False)
    with pytest.raises(content.ReportError, match="outside your region"):
        content.gather(demo_data, Scope(region="3708"), YEAR, "en", region=PREFECTURE, pictures=False)


@pytest.fixture(scope="module")
def hostile_data(tmp_path_factory, demo_data) -> Path:
    """The demo county with every school name replaced by a hostile text."""
    out = tmp_path_factory.mktemp("hostile")
    shutil.copytree(demo_data / "boundaries", out / "boundaries")
    rows = pl.read_parquet(str(demo_data / "snapshots" / "*" / "*.parquet")).filter(
        pl.col("county_code") == COUNTY)
    for year in (YEAR - 1, YEAR):
        demo.write_snapshot(out, year, hostile_rows(rows.filter(pl.col("year") == year)), source="tests",
                            synthetic=True)
    return out


def test_hostile_names_are_plain_text_in_every_format(hostile_data):
    report = content.gather(hostile_data, EVERYTHING, YEAR, "zh", county=COUNTY, pictures=False)
    # PPTX: the names in the 整改清单 are the hostile texts themselves (cut to their column with …), as text runs
    shown = [row[2] for table in deck.table_texts(deck.pptx_bytes(report))
             if len(table[0]) > 2 and table[0][2] == "学校名称" for row in table[1:]]
    assert shown and all(any(escape.plain(n).startswith(s.removesuffix("…")) for n in NAMES) for s in shown)
    assert any("<" in name or "${" in name for name in shown)
    # PDF's HTML: every name escaped, nothing of it becomes markup
    document = pdf.html(report)
    assert "<script>" not in document and "<img" not in document and "<svg" not in document
    assert escape.html("</script><script>alert(4)</script>") in document or not any("alert(4)" in n for n in shown)
    # xlsx (the workbook `junheng report` writes): names are strings, never formulas or links, and as pages show
    # them: no direction override or control character survives into a cell or a sheet name
    data, _ = report_module.build(hostile_data, EVERYTHING, YEAR, "xlsx", "zh", county=COUNTY)
    book = openpyxl.load_workbook(io.BytesIO(data))
    header = [c.value for c in book["学校"][1]]
    column = header.index("学校名称")
    names = [row[column] for row in book["学校"].iter_rows(min_row=2, values_only=True)]
    assert set(names) <= {escape.plain(n) for n in NAMES} and escape.plain(NAMES[15]) in names
    cells = [c for sheet in book for row in sheet.iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert any(c.value == "=cmd|' /C calc'!A0" for c in cells)
    texts = [str(c.value) for c in cells if c.value is not None] + book.sheetnames
    assert [x for x in texts if re.search(escape.UNSAFE_CHARACTERS, x) or "_x000D_" in x] == []


@pytest.mark.browser
def test_hostile_names_in_the_pdf_are_text(hostile_data, tmp_path):
    report = content.gather(hostile_data, EVERYTHING, YEAR, "zh", county=COUNTY, pictures=False)
    out = tmp_path / "hostile.pdf"
    out.write_bytes(pdf.pdf_bytes(report))
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True, check=True).stdout
    shown = {row[2] for table in deck.table_texts(deck.pptx_bytes(report))
             if len(table[0]) > 2 and table[0][2] == "学校名称"
             for row in table[1:]}
    assert any(name.replace("\n", "")[:12] in text.replace("\n", "") for name in shown if "<" in name)


def test_deck_benchmark_section_says_met_or_missed():
    from junheng.tools import bench, bench_deck
    result = {"county": COUNTY, "county_name": "临朐县", "year": YEAR, "rounds": 1, "when": "now",
              "files": [{"format": "pptx", "seconds": 12.5, "cpu_seconds": 9.0, "kilobytes": 1100, "load_average": 1.0},
                        {"format": "pdf", "seconds": 20.1, "cpu_seconds": 9.5, "kilobytes": 1300, "load_average": 1.0}]}
    section = bench_deck.deck_markdown(result)
    assert "| pptx | 12.5 | 9.0 | 1,100 | 1.0 |" in section
    assert "- pptx: met" in section and "- pdf: **missed**" in section
    document = "# Benchmarks\n\n## Queries\n\nq\n\n## County deck (junheng report)\n\nold\n\n## Later\n\nkept\n"
    spliced = bench.splice_section(document, section)
    assert "old" not in spliced and "## Queries\n\nq" in spliced and "## Later\n\nkept" in spliced


@pytest.mark.browser
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice is installed by make system")
def test_libreoffice_shows_the_deck_in_the_cjk_font(demo_data, tmp_path):
    """The deck as LibreOffice Impress lays it out: one page per slide, the Chinese in Noto Sans CJK (a missing
    font would show as boxes, from a fallback font)."""
    report = content.gather(demo_data, EVERYTHING, YEAR, "zh", county=COUNTY, pictures=False)
    data = deck.pptx_bytes(report)
    (tmp_path / "deck.pptx").write_bytes(data)
    subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp_path}/profile", "--convert-to",
                    "pdf", "--outdir", str(tmp_path), str(tmp_path / "deck.pptx")], check=True, capture_output=True,
                   timeout=240)
    pages = subprocess.run(["pdfinfo", str(tmp_path / "deck.pdf")], capture_output=True, text=True, check=True).stdout
    count = next(int(line.split()[1]) for line in pages.splitlines() if line.startswith("Pages:"))
    assert count == len(Presentation(io.BytesIO(data)).slides)
    assert "959.981 x 540 pts" in pages  # 16:9
    fonts = subprocess.run(["pdffonts", str(tmp_path / "deck.pdf")], capture_output=True, text=True).stdout
    assert "NotoSansCJK" in fonts
    text = subprocess.run(["pdftotext", str(tmp_path / "deck.pdf"), "-"], capture_output=True, text=True).stdout
    assert "临朐县" in text and "整改清单" in text


def test_a_damaged_year_is_named_by_the_report_and_in_the_workbooks_notes(tiny_data):
    from junheng.data import store
    from junheng.reports import report as report_module
    path = store.current_path(tiny_data, 2023)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(content.ReportError, match="2023 年的数据文件已损坏"):  # not "no data for 2023"
        report_module.build(tiny_data, EVERYTHING, 2023, "xlsx", "zh", county="370724")
    data, _ = report_module.build(tiny_data, EVERYTHING, 2024, "xlsx", "zh", county="370724")
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert [c.value for c in book["说明"]["A"]] == ["说明", t("report_damaged_years", "zh", years="2023")]

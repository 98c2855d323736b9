"""The deck reads right (issue 27): target slides show the value beside ✓/✗, table headers are never cut, the
school picture counts schools (not children) and every map picture carries a title, a legend and a scale; the
deck bench records its time."""
from __future__ import annotations

import io
import re
import subprocess
from pathlib import Path

import polars as pl
import pytest
from pptx import Presentation
from pptx.util import Emu

from junheng import settings
from junheng.data import boundaries
from junheng.figures import maps
from junheng.i18n import t
from junheng.reports import content, deck, pictures
from junheng.tools import bench_deck

COUNTY, PREFECTURE, YEAR = "370724", "3707", 2025
CHECKS = {"county_code": pl.String, "milestone": pl.String, "band": pl.String, "rule": pl.String, "year": pl.Int64,
          "target": pl.Float64, "value": pl.Float64, "met": pl.Boolean}


def _checks(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=CHECKS, orient="row")


@pytest.mark.parametrize("row, zh, en", [
    (("370724", "standardized_share", None, None, 2015, 0.85, 0.523, False),
     "✗ 52.3%（目标 ≥ 85%）", "✗ 52.3% (target ≥ 85%)"),
    (("370724", "all_public", None, None, 2020, 1.0, 0.929, False),
     "✗ 92.9%（目标 ≥ 100%）", "✗ 92.9% (target ≥ 100%)"),
    (("370724", "1:2020", "56+", "share_max", 2020, 0.05, 0.009, True),
     "✓ 0.9%（目标 ≤ 5%）", "✓ 0.9% (target ≤ 5%)"),
    (("370724", "0:2018", "66+", "share_max", 2018, 0.02, 0.021, False),
     "✗ 2.1%（目标 ≤ 2%）", "✗ 2.1% (target ≤ 2%)"),
    (("370724", "2:2022", "66+", "zero", 2022, 0.0, 3.0, False),
     "✗ 3（目标 0）", "✗ 3 (target 0)"),
])
def test_a_target_shows_its_value_beside_the_mark(row, zh, en):
    rules = settings.load_thresholds()
    checks = _checks([row])
    assert content.target_verdicts(checks, rules, "zh") == [zh]
    assert content.target_verdicts(checks, rules, "en") == [en]
    table = content.target_table(checks, rules, "zh")
    assert table.columns == [t("year", "zh"), t("milestone", "zh"), t("verdict", "zh")]
    assert table.row(0) == (row[4], table.row(0)[1], zh)


def test_the_bulletin_grid_has_the_value_in_every_cell():
    rules = settings.load_thresholds()
    checks = _checks([("370724", "standardized_share", None, None, 2015, 0.85, 0.523, False),
                      ("370724", "all_public", None, None, 2020, 1.0, 1.0, True),
                      ("370702", "standardized_share", None, None, 2015, 0.85, 0.9, True),
                      ("370702", "all_public", None, None, 2020, 1.0, 0.5, False)])
    grid = content.milestone_grid(checks, {"370724": "临朐县", "370702": "潍城区"}, rules, "zh")
    assert grid.columns[:2] == [t("county_name", "zh"), t("milestones_missed", "zh")]
    assert "85%" in grid.columns[2]  # the target stays in the header
    # one miss each: sorted by code then; each cell the mark and the value reached
    assert grid.rows() == [("潍城区", 1, "✓ 90.0%", "✗ 50.0%"), ("临朐县", 1, "✗ 52.3%", "✓ 100.0%")]


LONG = ["县（区）", "未达目标数", "2015 标准化学校（不含教学点）占比 ≥ 85%", "2020 公办学校全部标准化",
        "2018 超大班额（66 人及以上）占比 ≤ 2%", "2020 大班额（56 人及以上）占比 ≤ 5%",
        "2020 小学平均班额超过 45 人的学校占比 ≤ 5%", "2020 初中平均班额超过 50 人的学校占比 ≤ 5%"]


@pytest.mark.parametrize("width_in, rows", [(12.33, 10), (12.33, 2), (6.0, 5)])
def test_every_header_fits_its_column_whole(width_in, rows):
    texts = [LONG] + [["寒亭区", "5", *["✗ 56.0%"] * 6] for _ in range(rows)]
    size, widths, lines = deck.column_plan(texts, width_in * 72, 5.0 * 72, 14)
    assert 10 <= size <= 14
    assert sum(widths) == pytest.approx(width_in * 72)
    for header, w in zip(LONG, widths):
        units = deck._room(w, size)
        assert deck.header_lines(header, units) <= lines
        assert deck._display_width(header) * deck.WRAP_SLACK <= lines * (units - 1) + 1e-9  # whole, not cut
    head, row = deck.row_heights(size, lines)
    if width_in > 12:  # a slide's width: three lines at most, and the rows fit the height
        assert lines <= deck.HEADER_LINES and head + rows * row <= 5.0 * 72


def test_a_long_name_body_gives_way_before_a_header():
    texts = [["学校名称", "合计"], ["某" * 60, "1"]]
    size, widths, lines = deck.column_plan(texts, 200, 400, 18)
    assert size == 10  # the type shrank as far as it goes, then the name was cut
    assert deck._room(widths[1], size) >= deck._display_width("合计")
    assert deck._room(widths[0], size) < 120


def _tables_of(data: bytes) -> list[tuple[str, list[list[str]], list]]:
    out = []
    for slide in Presentation(io.BytesIO(data)).slides:
        texts = [s.text_frame.text for s in slide.shapes if s.has_text_frame and s.text_frame.text]
        for s in slide.shapes:
            if s.has_table:
                out.append((texts[0] if texts else "", [[c.text for c in r.cells] for r in s.table.rows], s))
    return out


def test_deck_target_slide_and_bulletin_headers(demo_data):
    from junheng.data.scope import EVERYTHING
    from junheng.rules import standardization as std
    report = content.gather(demo_data, EVERYTHING, YEAR, "zh", county=COUNTY, pictures=False)
    tables = _tables_of(deck.pptx_bytes(report))
    targets = [rows for title, rows, _ in tables if rows[0] == [t("year", "zh"), t("milestone", "zh"),
                                                                t("verdict", "zh")]]
    assert len(targets) == 1
    verdicts = [r[2] for r in targets[0][1:]]
    assert verdicts and all(re.fullmatch(r"[✓✗] [0-9.,]+%?（目标 .+）", v) for v in verdicts), verdicts
    # the values are the standardization rule's, for this county and year
    con = content.db.connect(demo_data)
    totals = content.db.run(con, "county_totals", EVERYTHING, years=list(range(YEAR - 12, YEAR + 1)), region=COUNTY)
    rules = settings.load_thresholds()
    caps = content.db.run(con, "class_size_caps", EVERYTHING, years=sorted(totals["year"].unique().to_list()),
                          region=COUNTY, primary_max=rules["targets"]["primary_class_max"],
                          junior_max=rules["targets"]["junior_class_max"])
    checks = std.milestone_checks(std.progress(totals, caps), rules, next(iter(std.class_profiles(rules))))
    first = checks.row(0, named=True)
    assert verdicts[0].startswith(("✓ " if first["met"] else "✗ ") + f"{first['value']:.1%}")
    # the bulletin: no header cut (no …), every header whole in its table
    bulletin = content.gather(demo_data, EVERYTHING, YEAR, "zh", region=PREFECTURE, pictures=False)
    for title, rows, shape in _tables_of(deck.pptx_bytes(bulletin)):
        assert not any(h.endswith("…") for h in rows[0]), title
        bottom = Emu(shape.top + shape.height).inches
        assert bottom <= 7.5 - 0.3, title  # on the slide, above the note


def test_school_picture_counts_schools_with_a_legend(boundary_dir):
    outline = boundaries.read(boundary_dir.parent, "county").query("county_code == '370724'")
    x, y = outline.geometry.iloc[0].representative_point().coords[0]
    schools = [{"lon": x, "lat": y, "size": 40.0, "status": "pass"},
               {"lon": x + 0.01, "lat": y, "size": 0.0, "status": "fail"},
               {"lon": x, "lat": y + 0.01, "size": 12.0, "status": "fail"}]
    labels = content.school_picture_labels(schools, "临朐县", YEAR, 5, "zh")
    assert labels["pass"] == "达标（1 所）" and labels["fail"] == "未达标（2 所）" and "unassessed" not in labels
    assert "3 所学校" in labels["picture_title"]
    fmap = maps.school_picture_map(schools, outline, content.SCHOOL_COLOURS, labels)
    html = pictures.map_html(fmap)
    assert fmap.picture_title == labels["picture_title"]
    for text in ("每个圆点是一所学校", "达标（1 所）", "未达标（2 所）", "少于 5 人不显示大小"):
        assert text in html
    assert "L.control.scale" in html and "MarkerCluster" not in html  # a scale bar; no cluster bubbles
    assert html.count("L.circleMarker") == 3


def test_every_map_builder_gives_its_picture_a_title(boundary_dir):
    counties = boundaries.read(boundary_dir.parent, "county").query("county_code.str.startswith('3707')")
    counties = counties.assign(value=1.0, value_text="1", status="both", status_text="达到")
    shown = maps.county_choropleth_map(counties, "value", "value_text", {"name": "县", "metric": "差异系数",
                                                                        "no_data": "无"}, tile_url="")
    assert shown.picture_title == "差异系数"
    titled = maps.county_category_map(counties, "status", "status_text", {"both": "#1a9850"}, {"both": "达到"},
                                      {"name": "县", "metric": "状态", "no_data": "无", "picture_title": "潍坊市"},
                                      tile_url="")
    assert titled.picture_title == "潍坊市"


@pytest.mark.browser
def test_map_png_draws_the_title_over_the_map(boundary_dir):
    import numpy as np
    from PIL import Image
    counties = boundaries.read(boundary_dir.parent, "county").query("county_code == '370724'")
    counties = counties.assign(value=1.0, value_text="1")
    fmap = maps.county_choropleth_map(counties, "value", "value_text", {"name": "县", "metric": "值",
                                                                       "no_data": "无"}, tile_url="")
    fmap.picture_title = None
    plain = np.asarray(Image.open(io.BytesIO(pictures.map_png(fmap, 500, 300))).convert("L"), dtype=int)
    titled = np.asarray(Image.open(io.BytesIO(pictures.map_png(fmap, 500, 300, title="临朐县学校分布"))).convert("L"),
                        dtype=int)
    # the title box sits at the top left: dark text there, nowhere else changed much
    assert (np.abs(titled[:45, :250] - plain[:45, :250]) > 60).mean() > 0.01
    assert (np.abs(titled[100:, :] - plain[100:, :]) > 60).mean() < 0.001


@pytest.mark.browser
def test_bulletin_pdf_holds_every_header_whole(demo_data, tmp_path):
    from junheng.data.scope import EVERYTHING
    from junheng.reports import report as report_module
    data, report = report_module.build(demo_data, EVERYTHING, YEAR, "pdf", "zh", region=PREFECTURE)
    out = tmp_path / "bulletin.pdf"
    out.write_bytes(data)
    text = subprocess.run(["pdftotext", "-raw", str(out), "-"], capture_output=True, text=True, check=True).stdout
    flat = "".join(text.split())
    headers = [h for s in report.sections for tb in s.tables for h in tb.frame.columns]
    assert any("≥" in h for h in headers)
    for header in headers:
        assert "".join(header.split()) in flat, header


def test_deck_bench_records_the_time_of_each_format(tiny_data, monkeypatch):
    import time

    def fake_run(command, **_):
        Path(command[command.index("--out") + 1]).write_bytes(b"x" * 4096)
        time.sleep(0.3)
        return subprocess.CompletedProcess(command, 0, "", "")
    monkeypatch.setattr(bench_deck.subprocess, "run", fake_run)
    result = bench_deck.bench_deck(tiny_data, county="370724", log=lambda *_: None)
    assert [f["format"] for f in result["files"]] == ["pptx", "pdf"]
    assert all(0.3 <= f["seconds"] < 5 and f["kilobytes"] == 4 for f in result["files"])
    markdown = bench_deck.deck_markdown(result)
    assert f"≤ {bench_deck.TARGET_S:.0f} s" in markdown and bench_deck.TARGET_S == 15.0
    assert re.search(r"\| pptx \| 0\.[3-9] \|", markdown)

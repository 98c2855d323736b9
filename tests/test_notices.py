"""整改通知单 (issue 27 item 2): `junheng report --format notices` writes a zip of one A4 PDF per school on the
整改清单, named by school id, each one page naming its school and every shortfall of that school in the list with
the same numbers; the command checks the reader's region and audits; the contact line is a setting."""
import io
import json
import shutil
import subprocess
import zipfile

import polars as pl
import pytest

from junheng import formats, settings
from junheng.access import audit, database
from junheng.access.accounts import SYSTEM
from junheng.commands import exports as export_commands
from junheng.commands.gate import Denied
from junheng.i18n import t
from junheng.reports import notices
from junheng.rules import indicators, rectification
from junheng.tools import cli
from tests.conftest import add_account

COUNTY, YEAR = "370724", 2025
A4 = (595.3, 841.9)  # points


@pytest.fixture(scope="module")
def data(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("notices") / "data"
    shutil.copytree(demo_data, out, ignore=shutil.ignore_patterns("access.sqlite3*", "secret.key"))
    yield out
    database.dispose()


@pytest.fixture(scope="module")
def written(data, tmp_path_factory):
    """The command line's zip for 临朐 2025 (as the local system administrator)."""
    out = tmp_path_factory.mktemp("zip") / "linqu.zip"
    assert cli.main(["report", "--data-dir", str(data), "--county", COUNTY, "--year", str(YEAR), "--format",
                     "notices", "--out", str(out), "--lang", "zh"]) == 0
    return zipfile.ZipFile(io.BytesIO(out.read_bytes()))


def _items(demo_frame) -> pl.DataFrame:
    rows = demo_frame.filter((pl.col("county_code") == COUNTY) & (pl.col("year") == YEAR))
    return rectification.rectification(rows, settings.load_thresholds())[0]


def _text(pdf: bytes) -> str:
    """The page's text as laid out (a table row on one line, a wrapped cell's rest below it)."""
    return subprocess.run(["pdftotext", "-layout", "-", "-"], input=pdf, capture_output=True,
                          check=True).stdout.decode()


def _in_order(line: str, pieces) -> bool:
    at = 0
    for piece in pieces:
        found = line.find(piece, at)
        if found < 0:
            return False
        at = found + len(piece)
    return True


def test_the_zip_holds_one_one_page_a4_pdf_per_school_on_the_list_naming_every_shortfall_with_equal_numbers(
        written, demo_frame, data):
    from pypdf import PdfReader
    items = _items(demo_frame)
    schools = items["school_id"].unique(maintain_order=True).to_list()
    assert len(schools) > 30  # the demo county has a long list: the test can fail
    assert sorted(written.namelist()) == sorted(f"{s}.pdf" for s in schools)
    for school_id in schools:
        pdf = written.read(f"{school_id}.pdf")
        pages = PdfReader(io.BytesIO(pdf)).pages
        assert len(pages) == 1, school_id
        box = pages[0].mediabox
        assert abs(float(box.width) - A4[0]) < 1 and abs(float(box.height) - A4[1]) < 1
        lines = ["".join(line.split()) for line in _text(pdf).splitlines()]  # compared without white space
        text = "".join(lines)
        mine = items.filter(pl.col("school_id") == school_id)
        assert f"{mine['school_name'][0]}（学校代码{school_id}）" in text
        at = 0
        for row in mine.iter_rows(named=True):  # each shortfall in the list's order, on one line of the table
            label = indicators.by_key(row["indicator"]).label("zh")
            unit = t(f"report_unit_{row['column']}", "zh")
            pieces = (f"{row['value']:,.2f}", f"{row['minimum']:g}", f"+{int(row['shortfall']):,}{unit}",
                      formats.number(row["cost"]))
            at = next(n for n in range(at, len(lines)) if lines[n].startswith(t(f"level_{row['level']}", "zh")
                                                                               + label[:5])
                      and _in_order(lines[n], pieces)) + 1  # StopIteration: the row is not on the page
        total = rectification.school_totals(mine)["school_cost"][0]
        assert f"本校估算费用合计：{formats.number(total)}元" in text
    entry = audit.entries(data, limit=1).row(0, named=True)
    assert entry["account"] == SYSTEM.name and entry["action"] == "export" and entry["region"] == COUNTY
    assert json.loads(entry["details"])["schools"] == len(schools)


def test_each_notice_gives_the_year_the_plan_schedules_the_addition_in(data):
    """The plan's years as the page shows them: the default target and budget of the thresholds file."""
    from junheng.data import county_table, db
    from junheng.data.scope import EVERYTHING
    from junheng.rules import plan as plans
    made = notices.gather(data, EVERYTHING, COUNTY, YEAR, "zh")
    rules = settings.load_thresholds()
    con = db.connect(data, rules)
    rows = db.run(con, "school_rows", EVERYTHING, year=YEAR, region=COUNTY)
    table = county_table.read(con, EVERYTHING, YEAR).filter(pl.col("county_code") == COUNTY)
    target, budget = plans.defaults(rules, YEAR)
    yearly = plans.schedule(rows, rules, YEAR, target, budget, table, "zh", best=plans.minimum_cost_plan(rows, rules))
    bought = {}
    for entry in yearly.years:
        for action in entry["actions"]:
            bought.setdefault((action["school_id"], action["item"]), set()).add(entry["year"])
    items = rectification.rectification(rows, rules)[0]
    column = dict(zip(zip(items["school_id"], items["indicator"]), items["column"]))
    checked = 0
    for notice in made:
        for row in notice.rows:
            wanted = bought.get((notice.school_id, column[(notice.school_id, row["indicator"])]))
            assert (sorted(row["years"][0]) if row["years"] else None) == (sorted(wanted) if wanted else None)
            checked += bool(wanted)
            if wanted:
                assert "、".join(map(str, sorted(wanted))) in notice.html
    assert checked > 20


def _ctx(contact: str) -> dict:
    return {"county": "临朐县", "year": YEAR, "lang": "zh", "contact": contact, "source": "数据来源：示例", "plan": "",
            "costs": "估算单价：…", "date": "2026-12-07"}


ROW = {"level": "primary", "indicator": "sports_area_per_student", "value": 5.5, "minimum": 7.5, "shortfall": 120.0,
       "unit": "平方米", "cost": 48000.0, "years": None, "priority": 1, "addition": 120.0}


def test_the_contact_line_is_printed_escaped_and_left_out_when_empty():
    page = notices.html("3707240001", "<img src=x onerror=alert(1)>小学", [ROW], 48000.0,
                        _ctx("督导室 <b>王</b> 0536-1234567"))
    assert "联系方式：督导室 &lt;b&gt;王&lt;/b&gt; 0536-1234567" in page
    assert "&lt;img src=x onerror=alert(1)&gt;小学" in page and "<img" not in page
    assert "+120 平方米" in page and "48,000" in page and "5.50" in page and "7.5" in page
    assert "联系方式" not in notices.html("3707240001", "小学", [ROW], 48000.0, _ctx(""))


def test_the_contact_setting_is_per_county_over_the_files_line_and_a_bad_one_is_refused(tmp_path):
    base = (settings.PACKAGE_DIR / "rules" / "thresholds.toml").read_text(encoding="utf-8")
    assert settings.notice_contact(settings.load_thresholds(), COUNTY) == ""  # shipped empty: no line
    good = tmp_path / "good.toml"
    good.write_text(base.replace('contact = ""', 'contact = "市教育局督导科"').replace(
        "\n[notices.counties]", '\n[notices.counties]\n"370724" = "临朐县教育局督导室 0536-3121234"'), encoding="utf-8")
    rules = settings.load_thresholds(good)
    assert settings.notice_contact(rules, COUNTY) == "临朐县教育局督导室 0536-3121234"
    assert settings.notice_contact(rules, "370725") == "市教育局督导科"
    for bad in ('contact = 5', '\n[notices.counties]\n"3707" = "x"'):
        path = tmp_path / "bad.toml"
        path.write_text(base.replace('contact = ""', bad) if bad.startswith("contact")
                        else base.replace("\n[notices.counties]", bad), encoding="utf-8")
        with pytest.raises(settings.SettingsError, match=r"\[notices\]"):
            settings.load_thresholds(path)


def test_a_guest_gets_the_notices_a_viewer_outside_the_county_is_refused_and_both_are_audited(data, monkeypatch):
    monkeypatch.setattr(notices, "build", lambda *a: (b"PK", ["3707240001", "3707240002"]))  # no printing here
    add_account(data, "cl_view", "viewer", "370725")
    from junheng.access import accounts
    assert export_commands.notices(data, None, COUNTY, YEAR, "zh")[0] == b"PK"
    with pytest.raises(Denied):
        export_commands.notices(data, accounts.get(data, "cl_view"), COUNTY, YEAR, "zh")
    guest = audit.entries(data).filter(pl.col("account") == "guest").row(0, named=True)
    assert guest["action"] == "export" and guest["region"] == COUNTY
    assert json.loads(guest["details"]) == {"file": f"notices_{COUNTY}_{YEAR}", "format": "zip", "notices": COUNTY,
                                            "year": YEAR, "schools": 2}
    refused = audit.entries(data).filter(pl.col("account") == "cl_view").row(0, named=True)
    assert refused["action"] == "export_refused" and json.loads(refused["details"])["reason"] == "gate_outside_region"


def test_a_notice_taller_than_a_page_is_printed_smaller_on_one_page_with_nothing_cut_off():
    from pypdf import PdfReader
    rows = [{**ROW, "value": 5.0 + n / 100, "cost": 48000.0 + n} for n in range(45)]  # far more than a page holds
    page = notices.html("3707240001", "临朐第1小学", rows, 48000.0, _ctx("督导室 0536-1234567"))
    pdf = notices.pdf_files([notices.Notice("3707240001", "临朐第1小学", rows, 48000.0, page)])["3707240001"]
    assert len(PdfReader(io.BytesIO(pdf)).pages) == 1
    text = "".join(_text(pdf).split())
    assert "5.44" in text and "48,044" in text and "联系方式：督导室0536-1234567" in text  # the last row, the end


def test_hostile_school_names_ids_and_contact_stay_text():
    """A bureau file's school name or id, or a contact setting, is data in the notice's HTML and in the zip's file
    names (tests/hostile.py's values): no element but the notice's own, no path outside the zip, no clash."""
    from html.parser import HTMLParser

    from tests.hostile import NAMES
    row = {"level": "primary", "indicator": next(iter(indicators.registry())).key, "value": 1.0, "minimum": 2.0,
           "shortfall": 1, "unit": "名", "cost": 100000.0, "years": [], "priority": 1, "addition": 1}
    allowed = {"html", "head", "meta", "title", "style", "body", "h1", "p", "b", "table", "colgroup", "col",
               "thead", "tbody", "tr", "th", "td", "span", "div", "br"}

    class Tags(HTMLParser):
        def __init__(self):
            super().__init__()
            self.seen, self.attributes = set(), set()

        def handle_starttag(self, tag, attrs):
            self.seen.add(tag)
            self.attributes |= {name for name, _ in attrs}
    for text in NAMES:
        for lang in ("zh", "en"):
            page = notices.html(text[:60], text, [row], 100000.0, {
                "lang": lang, "plan": "", "county": text, "year": 2025, "costs": text, "source": text,
                "contact": text, "date": "2026-12-07"})
            tags = Tags()
            tags.feed(page)
            assert tags.seen <= allowed, (text, tags.seen - allowed)
            assert not any(a.startswith("on") or a in ("src", "href") for a in tags.attributes), text
    ids = ["../../etc/passwd", "a/b\\c", "..", "370724/../x", "370724", "370724", "\u202egnp.exe", "<x>"]
    made = [notices.Notice(i, "学校", [row], 1.0, "") for i in ids]
    archive = zipfile.ZipFile(io.BytesIO(notices.zip_bytes(made, {i: b"%PDF" for i in ids})))
    names = archive.namelist()
    assert len(names) == len(set(names)) == len(ids)
    assert all(n.endswith(".pdf") and "/" not in n and "\\" not in n and not n.startswith(".") and
               "\u202e" not in n for n in names), names

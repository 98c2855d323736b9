"""Text from files and users is data in every context: maps (HTML inside JS template strings), charts, markdown,
CSV and Excel cells, file names, links and settings. Each test attacks the product the way issue 10 found."""
import io
import json
import re

import openpyxl
import polars as pl
import pytest

from junheng import escape, settings
from junheng.figures import charts, maps
from junheng.i18n import t
from junheng.reports import exports
from junheng.views import links
from tests.hostile import NAMES


def _template_literals(html: str) -> list[str]:
    """The bodies of the bindTooltip template strings Folium writes into the map's script."""
    return re.findall(r"bindTooltip\(\s*`(.*?)`,", html, flags=re.S)


def test_school_map_tooltips_cannot_break_out_of_their_template_string(boundary_dir):
    import geopandas as gpd
    outline = gpd.read_parquet(boundary_dir / "counties.parquet").query("county_code == '370724'")
    rows = [{"lon": 118.5, "lat": 36.5, "size": 3.0, "tooltip": name} for name in NAMES]
    html = maps.school_cluster_map(rows, outline, {"layer": "l", "title": "t", "legend": "g"}).get_root().render()
    bodies = _template_literals(html)
    assert len(bodies) == len(NAMES)
    for body in bodies:
        assert "`" not in body and "${" not in body and "\\" not in body  # nothing ends or runs in the string
        assert "<img" not in body and "<script" not in body and "<svg" not in body
    assert "</script><script>alert(4)" not in html


def test_county_map_tooltip_properties_are_html_escaped(boundary_dir):
    import geopandas as gpd
    counties = gpd.read_parquet(boundary_dir / "counties.parquet").query("prefecture_code == '3707'").copy()
    counties["county_name"] = NAMES[3]
    counties["value"] = 1.0
    counties["value_text"] = NAMES[4]
    html = maps.county_choropleth_map(counties, "value", "value_text", {
        "name": NAMES[5], "metric": NAMES[0], "no_data": NAMES[6]}).get_root().render()
    for raw in ("<img src=x", "<script>alert", "<svg/onload"):
        assert raw not in html.replace("\\u003c", "<"), raw  # also not as a JSON-escaped < inside the data


def test_chart_labels_are_plotly_text_not_markup():
    frame = pl.DataFrame({"label": list(NAMES), "n": list(range(len(NAMES)))})
    fig = charts.breakdown_chart(frame, "label", "n", NAMES[4], NAMES[3], top=len(NAMES))
    shown = list(fig.data[0].y) + [fig.layout.title.text, fig.layout.xaxis.title.text]
    for text in shown:
        assert "<img" not in text and "<script" not in text and "<b>" not in text and "\u202e" not in text
    assert max(len(text) for text in fig.data[0].y) <= escape.MAX_TEXT


def test_small_multiples_never_put_a_name_into_the_hover_template():
    frame = pl.DataFrame({"county_code": ["1", "1"], "year": [2020, 2021], "share": [0.1, 0.2]})
    fig = charts.small_multiples_chart(frame, {"share": "s"}, {"1": NAMES[16]}, "title", "zh")
    assert all("注入" not in (trace.hovertemplate or "") for trace in fig.data)
    assert "&lt;extra&gt;" in fig.data[0].text[0]


@pytest.mark.parametrize("name", [*NAMES, "</script><img src=x onerror=alert(8)>", "\"'&amp;&", "行\u2028分\u2029段",
                                  "<!--", "</SCRIPT >"])
def test_json_in_html_is_the_same_value_with_nothing_that_ends_a_script(name):
    value = {"name": name, "list": [name, 1.5, None]}
    text = escape.json_in_html(json.dumps(value, ensure_ascii=False))
    assert json.loads(text) == value
    assert not any(c in text for c in "<>&\u2028\u2029")
    assert "\\u003c" in text if "<" in name else True


@pytest.mark.parametrize("name", NAMES)
def test_markdown_text_has_no_live_markup(name):
    text = escape.markdown(name)
    assert not re.search(r"(?<!\\)[\[\]()*_`<>#$]", text)  # every special character is backslash-escaped


def test_csv_text_cells_cannot_start_a_formula_and_numbers_stay_numbers():
    frame = pl.DataFrame({"name": list(NAMES), "n": [-i for i in range(len(NAMES))]})
    lines = exports.csv_bytes(frame).decode("utf-8-sig")
    parsed = pl.read_csv(io.StringIO(lines), infer_schema_length=0)
    for cell in parsed["name"]:
        assert not cell.startswith(escape.FORMULA_START), cell
    assert parsed["n"].to_list() == [str(-i) for i in range(len(NAMES))]


def test_excel_cells_are_strings_never_formulas_or_links():
    frame = pl.DataFrame({"name": list(NAMES)})
    book = openpyxl.load_workbook(io.BytesIO(exports.xlsx_bytes({"=sheet[1]": frame, "=sheet(1)": frame})))
    for sheet in book.worksheets:
        cells = [c for row in sheet.iter_rows(min_row=2) for c in row]
        assert [c.data_type for c in cells] == ["s"] * len(NAMES)
        assert [c.value for c in cells] == [escape.plain(n) for n in NAMES]  # as pages show them
        assert not any(c.hyperlink for c in cells)
    assert len({s.title for s in book.worksheets}) == 2


@pytest.mark.parametrize("name", NAMES + ("../../etc/passwd", ".hidden", "", "a/b\\c"))
def test_download_file_names_are_plain(name):
    out = exports.file_name(name, "csv")
    assert re.fullmatch(r"[\w\u3400-\u9fff.\-]+\.csv", out) and not out.startswith(".") and "/" not in out
    assert len(out) <= 84


@pytest.mark.parametrize("params, notice", [
    ({"year": "9" * 5000}, "link_too_long"),
    ({"county": "3" * 20_000}, "link_too_long"),
    ({"county": "<script>"}, "link_malformed"),
    ({"county": "999999"}, "link_unknown"),
    ({"year": "1999"}, "link_unknown"),
    ({"lang": "fr"}, "link_malformed"),
])
def test_invalid_link_parameters_are_ignored_with_a_notice(params, notice):
    link = links.parse(params, "zh", {"county": {"370724"}, "year": {"2024"}})
    assert link.values == {}
    name = next(iter(params))
    assert link.notices == [t(notice, "zh", name=name, value=escape.markdown(params[name], limit=24))]


def test_valid_link_parameters_pass():
    link = links.parse({"county": "370724", "year": "2024", "lang": "en"}, "zh",
                       {"county": {"370724"}, "year": {"2024"}})
    assert link.values == {"county": "370724", "year": "2024", "lang": "en"} and link.notices == []


@pytest.mark.parametrize("url", ["javascript:alert(1)//{z}/{x}/{y}", "http://tiles/{z}/{x}", "ftp://t/{z}/{x}/{y}",
                                 "http://t/{z}/{x}/{y}`${alert(1)}`", "http://t/{z}/{x}/{y}\" onload=\"x"])
def test_a_bad_tile_url_is_refused(monkeypatch, url):
    monkeypatch.setenv("JUNHENG_TILE_URL", url)
    with pytest.raises(settings.SettingsError, match="JUNHENG_TILE_URL"):
        settings.check()
    with pytest.raises(settings.SettingsError):
        maps.base_map((0, 0, 1, 1))


def test_a_good_tile_url_is_accepted(monkeypatch):
    monkeypatch.setenv("JUNHENG_TILE_URL", "http://tiles.intranet:8080/osm/{z}/{x}/{y}.png")
    settings.check()
    assert "tiles.intranet" in maps.base_map((0, 0, 1, 1)).get_root().render()


def test_the_command_line_refuses_a_bad_language_setting_like_the_app(monkeypatch, capsys):
    from junheng.tools import cli
    monkeypatch.setenv("JUNHENG_LANG", "fr")
    assert cli.main(["versions", "--data-dir", "nowhere"]) == 2
    assert "JUNHENG_LANG" in capsys.readouterr().err


def test_the_characters_removed_are_exactly_bidirectional_controls_and_control_characters_but_tab_and_newline():
    import unicodedata
    pattern = re.compile(escape.UNSAFE_CHARACTERS)
    bidi = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
    wrong = [hex(c) for c in range(0x110000) if bool(pattern.fullmatch(chr(c))) != (
        chr(c) in bidi or (unicodedata.category(chr(c)) == "Cc" and chr(c) not in "\t\n"))]
    assert wrong == []
    # Polars reads the same expression the same way (exports clean whole columns with it)
    every = "".join(chr(c) for c in range(0x3000) if c not in range(0xd800, 0xe000))
    assert pl.Series([every]).str.replace_all(escape.UNSAFE_CHARACTERS, "")[0] == escape.plain(every)


def _unsafe(text: str) -> list[str]:
    """The bidirectional or control characters in text (tab and newline allowed)."""
    return sorted({hex(ord(ch)) for ch in re.findall(escape.UNSAFE_CHARACTERS, text)})


HOSTILE_FRAME = pl.DataFrame({"name": list(NAMES), "n": list(range(len(NAMES))),
                              "\u202e列名\x07": list(NAMES)[::-1]}).with_columns(
    pl.col("name").cast(pl.Categorical).alias("kind"))


@pytest.mark.parametrize("kind", ["csv", "xlsx", "parquet", "cohort_csv", "cohort_xlsx", "cohort_parquet"])
def test_every_export_format_holds_no_bidirectional_or_control_characters(kind):
    import zipfile

    import pyarrow.parquet as pq
    hostile_meta = {"junheng.query": "\u202eselect 1\x00", "junheng.params": "{\"a\": \"\u2066x\"}"}
    data = {"csv": lambda: exports.csv_bytes(HOSTILE_FRAME),
            "xlsx": lambda: exports.xlsx_bytes({"\u202e表\x1b": HOSTILE_FRAME}),
            "parquet": lambda: exports.parquet_bytes(HOSTILE_FRAME, hostile_meta),
            "cohort_csv": lambda: exports.cohort_bytes(HOSTILE_FRAME, "csv", "zh"),
            "cohort_xlsx": lambda: exports.cohort_bytes(HOSTILE_FRAME, "xlsx", "zh", damaged_years=[2020]),
            "cohort_parquet": lambda: exports.cohort_bytes(HOSTILE_FRAME, "parquet", "zh", hostile_meta)}[kind]()
    if kind.endswith("csv"):
        text = data.decode("utf-8-sig")
        parsed = pl.read_csv(io.StringIO(text), infer_schema_length=0)
        assert parsed.height == len(NAMES) and parsed.columns[2] == "列名"
        texts = [text]
    elif kind.endswith("xlsx"):
        with zipfile.ZipFile(io.BytesIO(data)) as z:
            texts = [z.read(n).decode("utf-8") for n in z.namelist()]
        book = openpyxl.load_workbook(io.BytesIO(data))
        cells = [str(c.value) for sheet in book for row in sheet.iter_rows() for c in row if c.value is not None]
        texts += cells + [sheet.title for sheet in book]
        assert escape.plain(NAMES[15]) in cells  # the text itself stays, less its override
    else:
        table = pq.read_table(io.BytesIO(data))
        texts = [str(v) for column in table.columns for v in column.to_pylist()] + table.column_names
        texts += [v.decode() for v in (table.schema.metadata or {}).values()]
        assert "列名" in table.column_names
    assert [(t_, _unsafe(t_)) for t_ in texts if _unsafe(t_)] == []


def test_junheng_versions_and_audit_print_no_bidirectional_or_control_characters(tmp_path, capsys):
    from junheng.access import accounts, audit
    from junheng.data import demo
    from junheng.tools import cli
    from tests.conftest import FIXTURE_ROWS, frame
    rows = frame(FIXTURE_ROWS).filter(pl.col("year") == 2024)
    hostile = "\u202eRTL覆盖gnp.exe\x1b[31m\nforged line\tcolumn"
    demo.write_snapshot(tmp_path, 2024, rows, source=hostile, synthetic=False)
    assert cli.main(["versions", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "RTL覆盖gnp.exe[31m forged line column" in out and _unsafe(out.replace("\n", "")) == []
    assert len(out.splitlines()) == 1  # the source's line break forged no second version
    audit.record(tmp_path, accounts.SYSTEM, "export", {"file": hostile})
    assert cli.main(["audit", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "RTL覆盖gnp.exe" in out and _unsafe(out.replace("\n", "").replace("\t", "")) == []
    assert len(out.splitlines()) == 1 and "forged line" in out


def test_junheng_import_prints_a_files_cells_without_bidirectional_or_control_characters(tiny_data, tmp_path, capsys):
    from junheng.tools import cli
    from tests.conftest import FIXTURE_ROWS, frame
    from tests.test_import import as_text, write_csv
    table = as_text(frame(FIXTURE_ROWS).filter(pl.col("year") == 2024).head(1), "en").with_columns(
        pl.lit("\u202e12\x1b[2J").alias("teachers"))
    path = write_csv(table, tmp_path / "bad.csv", "utf-8")
    assert cli.main(["import", str(path), "--year", "2024", "--data-dir", str(tiny_data), "--dry-run",
                     "--lang", "en"]) == 1
    out = capsys.readouterr().out
    assert "12[2J" in out and _unsafe(out.replace("\n", "")) == []

"""Chinese throughout: every page opened in Chinese shows no English word outside an allow-list (issue 25 point 7).

What counts is what a reader sees: text nodes that are drawn (visible, font size above zero: the uploader's
English is hidden under its Chinese, views/builtin_texts.py), input placeholders, and the map frames' text too.
Material icon names (ligatures drawn as icons, `translate="no"`) are not words.
"""
import re

import pytest

from junheng.tools.browser import ROOT, login, screenshot, streamlit_server, wait_for_page
from junheng.views.builtin_texts import frame_css, frame_script, uploader_css
from tests.conftest import PASSWORD, add_account

# Codes, units, file formats, statistics and names that stay in Latin letters on a Chinese screen.
ALLOWED = {
    "cv", "sql", "xlsx", "xls", "csv", "pdf", "pptx", "docx", "json", "parquet", "dta", "sav", "stata", "spss", "zip",
    "utf", "gbk", "mb", "kb", "gb", "km", "cm", "m", "n", "id", "gdp", "url", "api", "http", "https", "ok",
    "english", "language",  # the language switch: "语言 / Language", English offered by its own name
    "chief", "png", "excel",  # the test's account name; file formats
    "junheng",  # the product's name beside 均衡
    "leaflet", "openstreetmap", "osm", "plotly", "geojson", "topojson",  # map attributions and formats
    "p", "a", "b", "c", "x", "y", "yy", "wgs", "gb/t", "q", "iqr", "min", "max", "dpi",
}
WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*[A-Za-z]|[A-Za-z]")

# Text nodes drawn on screen, and placeholders: what a reader of the page sees.
_VISIBLE_TEXT = r"""() => {
  const out = [];
  const seen = (el) => {
    if (!el) return false;
    if (el.closest('[translate="no"], [data-testid="stIconMaterial"], script, style')) return false;
    const style = getComputedStyle(el);
    if (parseFloat(style.fontSize) === 0 || style.visibility === 'hidden' || style.display === 'none') return false;
    return el.checkVisibility ? el.checkVisibility({opacityProperty: true}) : true;
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const text = node.textContent.trim();
    if (text && seen(node.parentElement)) out.push(text);
  }
  for (const el of document.querySelectorAll('input[placeholder], textarea[placeholder]')) {
    if (seen(el)) out.push(el.placeholder);
  }
  return out;
}"""


def english_words(texts: list[str]) -> set[str]:
    """The Latin-letter words in texts that are not on the allow-list."""
    return {w for text in texts for w in WORD.findall(text) if w.lower().strip("'’-") not in ALLOWED}


def test_english_words_are_found_and_allowed_codes_are_not():
    assert english_words(["100MB per file • XLSX, CSV"]) == {"per", "file"}
    assert english_words(["县域 CV 0.42，报告（Excel）Download", "370724 临朐县", ".xlsx 或 .csv"]) == {"Download"}
    assert english_words(["1 teachers"]) == {"teachers"}


def test_the_uploader_style_writes_chinese_over_streamlits_texts_and_nothing_in_english():
    css = uploader_css("zh", ["xlsx", "csv"], 100)
    assert css.count("font-size:0") == 3 and 'content:"选择文件"' in css
    assert "100 MB" in css and "XLSX" in css
    assert uploader_css("en", ["xlsx", "csv"], 100) == ""


def test_the_frame_translates_the_skip_link_and_the_select_boxes_placeholder_in_chinese_only():
    assert 'content:"跳到主要内容"' in frame_css("zh") and frame_css("en") == ""
    assert "Choose an option" in frame_script("zh") and '"\\u8bf7\\u9009\\u62e9"' in frame_script("zh")  # 请选择
    assert frame_script("en") == ""


def test_maps_have_a_metric_scale_only_and_count_axes_no_k():
    import polars as pl

    from junheng.figures import charts, maps
    html = maps.base_map((100, 30, 110, 40), tile_url="").get_root().render()
    assert "L.control.scale({imperial: false})" in html and "L.control.scale()" not in html
    frame = pl.DataFrame({"year": [2024, 2025], "n": [120_000, 90_000], "share": [0.1, 0.2]})
    fig = charts.count_share_chart(frame, "n", "share", {"n": "留守儿童", "share": "占比"}, "留守儿童", "zh")
    assert fig.layout.yaxis.tickformat == ",~r"


@pytest.mark.parametrize(("column", "values", "shown"), [
    ("urban_rural", ["rural"], "城乡 = 乡村"), ("urban_rural", ["rural", "town"], "城乡 in (乡村, 镇区)"),
    ("school_type", ["primary", "teaching_point"], "办学类型 in (小学, 教学点)"),
    ("is_boarding", [True], "是否寄宿制学校 = 是"), ("is_public", [False], "是否公办 = 否"),
    ("township", ["城关镇", "五井镇 东"], '乡镇（街道） in (城关镇, "五井镇 东")'),
])
def test_a_facet_click_writes_chinese_that_parses_back_to_the_same_condition(column, values, shown):
    from junheng.rules import cohort
    lines = cohort.replace_facet(["students > 100", "城乡 = 城区"], column, values, "zh")
    assert lines[-1] == shown and "students > 100" in lines
    (written,) = cohort.with_facet([], column, values)
    assert cohort.parse(shown) == written
    assert cohort.replace_facet([], column, values, "en") == [written.text]  # the canonical form in English


def test_both_values_of_a_yes_no_facet_mean_no_condition():
    from junheng.rules import cohort
    assert cohort.replace_facet(["是否寄宿制学校 = 是"], "is_boarding", [True, False], "zh") == []


def frame_page_paths() -> dict[str, str]:
    """Page file stem → URL path, as app.py declares them (the default page at '')."""
    source = (ROOT / "app.py").read_text(encoding="utf-8")
    paths = {}
    for chunk in source.split("st.Page(")[1:]:
        stem = re.match(r'"pages/(\w+)\.py"', chunk)
        if stem:  # the launcher's own one-page navigation declares a function, not a page file
            url_path = re.search(r'url_path="(\w+)"', chunk)
            paths[stem.group(1)] = "" if "default=True" in chunk else url_path.group(1)
    return paths


PAGES = frame_page_paths()


@pytest.fixture(scope="module")
def server(demo_data):
    add_account(demo_data, "chief", "admin")
    with streamlit_server(demo_data) as url:
        yield url


@pytest.mark.browser
@pytest.mark.parametrize("name", PAGES)
def test_every_page_in_chinese_shows_no_english_words(server, browser, name):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        login(page, server, "chief", PASSWORD)  # an administrator sees every page and every panel
        page.goto(f"{server}/{PAGES[name]}")
        wait_for_page(page)
        screenshot(page, ROOT / "tests" / "screenshots" / f"chinese_{name}.png")
        found = {}
        for frame in page.frames:
            try:
                words = english_words(frame.evaluate(_VISIBLE_TEXT))
            except Exception:  # a frame that navigated away while read (a map redrawn) has nothing to show
                continue
            if words:
                found[frame.url if frame != page.main_frame else "page"] = sorted(words)
    finally:
        context.close()
    assert found == {}, str(found)  # the whole list, not pytest's shortened dict


# Table cells are drawn on a canvas, out of the browser test's reach: the frames the pages give st.dataframe are
# read instead (AppTest runs each page alone, as an administrator, on the demo data, with a county chosen).
TABLE_VIEWS = [("pages/overview.py", None), ("pages/gaps.py", None), ("pages/left_behind.py", None),
               ("pages/standardization.py", None), ("pages/cohort.py", None),
               *[("pages/evaluation.py", v) for v in ("tab_county", "tab_schools", "tab_rectification", "tab_plan",
                                                      "tab_what_if", "tab_region")]]


@pytest.mark.parametrize(("script", "view"), TABLE_VIEWS)
def test_every_table_given_to_the_screen_in_chinese_has_no_english_words(monkeypatch, demo_data, script, view):
    from streamlit.testing.v1 import AppTest

    from tests.conftest import sign_in
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    monkeypatch.chdir(ROOT)
    at = sign_in(AppTest.from_file(str(ROOT / script), default_timeout=180))
    at.query_params["county"] = "370724"
    if view:
        at.session_state["evaluation_view"] = view
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert len(at.dataframe), "no table on the page"
    found = {}
    for n, table in enumerate(at.dataframe):
        if table.proto.editing_mode:  # a data editor's cells are codes its column settings show as labels
            continue
        frame = table.value
        texts = [str(c) for c in frame.columns] + [str(v) for col in frame.columns for v in frame[col].tolist()
                                                   if isinstance(v, str)]
        words = english_words(texts)
        if words:
            found[n] = sorted(words)
    assert found == {}, str(found)

"""The meeting kit in a real browser: presentation mode (toggle and ?present=1), PNG downloads of a chart and a
map, the 整改清单 view against the rule code, the county search by pinyin initials, a Chinese screen with none of
Streamlit's English, the 基本/优质 choice through a language switch, and printing to A4."""
from __future__ import annotations

import io
import re
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from junheng import settings
from junheng.rules import indicators, rectification
from junheng.tools.browser import ROOT, frame_pages, is_local, screenshot, script_runs, streamlit_server, wait_for_page
from junheng.views import rectification_views as views

pytestmark = pytest.mark.browser
SHOTS = ROOT / "tests" / "screenshots"
PAGES = frame_pages()
COUNTY, NAME = "370724", "临朐县"
PNG = b"\x89PNG\r\n\x1a\n"
# Streamlit's and Plotly's own English that a Chinese screen must not show (text, tooltips, labels).
ENGLISH = ("Download plot as a PNG", "Download plot", "Download as CSV", "Fullscreen", "Page not found",
           "Press Enter to apply", "Running...", "Search", "Zoom", "Autoscale", "Reset axes", "Pan")


@pytest.fixture(scope="module")
def server(demo_data):
    with streamlit_server(demo_data) as url:
        yield url


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN", accept_downloads=True)
    pg = context.new_page()
    pg.outside = []
    pg.on("request", lambda r: None if is_local(r.url) else pg.outside.append(r.url))
    yield pg
    context.close()


def _open(page, url: str, shot: str | None = None) -> None:
    page.goto(url)
    wait_for_page(page)
    if shot:
        SHOTS.mkdir(exist_ok=True)
        screenshot(page, SHOTS / f"kit_{shot}.png")
    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()
    assert page.outside == [], page.outside


def _act(page, action) -> None:
    runs = script_runs(page)
    action()
    wait_for_page(page, after_runs=runs)


def _step(page, button: str) -> None:
    """下一页 / 上一页 until the step changes: a step holds one or more screens (views/present.py), and moving
    between a step's screens happens in the browser, with no script run."""
    bar = page.locator(".st-key-present_bar")

    def current() -> str:  # "2 / 8" (the buttons carry the screen's "(k/n)")
        return re.search(r"\d+ / \d+", bar.inner_text()).group(0)
    step = current()
    for _ in range(40):
        runs = script_runs(page)
        page.locator(f".st-key-present_{button} button").click()
        page.wait_for_timeout(300)
        if script_runs(page) != runs or current() != step:
            wait_for_page(page, after_runs=runs)
            return
    raise AssertionError(f"{button} never left step {step}")


def _presenting(page) -> bool:
    bar = page.locator(".st-key-present_bar").is_visible()
    sidebar = page.locator('[data-testid="stSidebar"]').is_visible()
    assert bar != sidebar, (bar, sidebar)  # one or the other: the bar never beside the sidebar
    return bar


def test_presentation_mode_on_steps_and_off(server, page):
    _open(page, f"{server}/?county={COUNTY}")
    assert not _presenting(page)
    assert page.locator('.stMain [data-testid="stSelectbox"]').first.is_visible()  # the map's measure
    _act(page, lambda: page.locator('[data-testid="stSidebar"] .st-key-present label').click())
    assert _presenting(page) and "present=1" in page.url
    assert not page.locator('.stMain [data-testid="stSelectbox"]').first.is_visible()  # controls hidden
    big = page.evaluate("() => parseFloat(getComputedStyle(document.documentElement).fontSize)")
    assert big >= 20  # type enlarged for a projector (Streamlit's is 16 px)
    assert "1 / 8" in page.locator(".st-key-present_bar").inner_text()
    for n, view in ((2, "县域评估"), (3, "学校明细"), (4, "整改清单")):
        _step(page, "next")
        bar = page.locator(".st-key-present_bar").inner_text()
        assert f"{n} / 8" in bar and view in bar, bar
        assert f"county={COUNTY}" in page.url and "present=1" in page.url and "/pinggu" in page.url
    screenshot(page, SHOTS / "kit_present_rectification_zh.png")
    assert page.get_by_text("① 必须整改 ·").is_visible()
    _step(page, "previous")
    assert "3 / 8" in page.locator(".st-key-present_bar").inner_text()
    _act(page, lambda: page.locator(".st-key-present_exit button").click())
    assert not _presenting(page) and "present" not in page.url and f"county={COUNTY}" in page.url
    assert page.locator('.stMain [data-testid="stButtonGroup"]').first.is_visible()  # the view control is back


def test_present_in_the_link(server, page):
    _open(page, f"{server}/chengxiang?county={COUNTY}&present=1&lang=en", "present_gaps_en")
    assert _presenting(page)
    assert "6 / 8" in page.locator(".st-key-present_bar").inner_text()
    assert not page.locator('.stMain [data-testid="stSelectbox"]').first.is_visible()
    _open(page, f"{server}/?county={COUNTY}&present=yes")
    assert not _presenting(page)
    assert "present" in page.locator('[data-testid="stAlertContentWarning"]').first.inner_text()


def test_png_downloaded_from_a_chart_with_chinese_toolbar(server, page):
    _open(page, f"{server}/pinggu?county={COUNTY}")
    chart = page.locator(".stPlotlyChart").first
    chart.hover()
    titles = [b.get_attribute("data-title") for b in chart.locator(".modebar-btn").all() if b.is_visible()]
    assert "下载为 PNG 图片" in titles and all(re.search(r"[\u4e00-\u9fff]", t or "") for t in titles), titles
    with page.expect_download(timeout=60_000) as download:
        chart.locator('.modebar-btn[data-title="下载为 PNG 图片"]').click()
    data = Path(download.value.path()).read_bytes()
    assert data[:8] == PNG and len(data) > 10_000
    assert download.value.suggested_filename.endswith(".png")


def test_png_downloaded_from_a_map(server, page):
    _open(page, f"{server}/pinggu?county={COUNTY}&evaluation_view=tab_schools")
    with page.expect_download(timeout=90_000) as download:
        page.get_by_role("button", name="下载地图 PNG").first.click()
    data = Path(download.value.path()).read_bytes()
    assert data[:8] == PNG and len(data) > 10_000
    from PIL import Image
    image = Image.open(io.BytesIO(data)).convert("RGB")
    pixels = np.asarray(image).reshape(-1, 3).astype(int)
    reds = int(((pixels[:, 0] > 180) & (pixels[:, 1] < 80) & (pixels[:, 2] < 80)).sum())
    assert reds > 50  # failing schools drawn in red


def _county_rows(demo_frame) -> pl.DataFrame:
    last = demo_frame["year"].max()
    return demo_frame.filter((pl.col("county_code") == COUNTY) & (pl.col("year") == last))


def test_rectification_view_shows_the_rule_rows(server, page, demo_frame):
    items, county = rectification.rectification(_county_rows(demo_frame), settings.load_thresholds())
    _open(page, f"{server}/pinggu?county={COUNTY}&evaluation_view=tab_rectification", "rectification_zh")
    text = page.locator(".stMain").inner_text()
    counts = {p: items.filter(pl.col("priority") == p).height for p in (1, 3)} | {2: county.height}
    assert counts[1] > 0 and counts[2] > 0  # the demo county has both kinds: the test can fail
    for priority, label in ((1, "① 必须整改"), (2, "② 县级差异系数"), (3, "③ 建议补足")):
        assert f"{label} · {counts[priority]} 项" in text
    total = rectification.total_cost(items)
    assert f"{items.height} 项未达最低标准" in text and f"{total / 10_000:,.1f} 万元" in text
    assert f"{county.height} 项县级差异系数超过上限" in text
    # the list's first rows, in its order, with school, level, indicator, shortfall in its unit and cost (the
    # table's accessible grid holds the rows on screen)
    grid, at = page.locator('.st-key-wide_rectification_1 [data-testid="stDataFrame"]').text_content(), 0  # laptop
    levels = {"primary": "小学", "junior": "初中"}
    for row in items.head(8).iter_rows(named=True):
        unit = views.unit(row["column"], "zh")
        cell = (f"{row['school_name']}{levels[row['level']]}{indicators.by_key(row['indicator']).label('zh')}")
        at = grid.index(cell, at)
        assert grid[at:].split("①")[0].endswith(f"{int(row['shortfall'])} {unit}{int(row['cost'])}"), grid[at:at + 200]
    _open(page, f"{server}/pinggu?county={COUNTY}&evaluation_view=tab_rectification&lang=en", "rectification_en")
    assert f"{items.height} unmet minimums" in page.locator(".stMain").inner_text()


def test_plan_view_solves_and_says_how(server, page):
    _open(page, f"{server}/pinggu?county={COUNTY}&evaluation_view=tab_plan", "plan_zh")
    text = page.locator(".stMain").inner_text()
    assert "二阶锥" in text and "CVXPY" in text and "Clarabel" in text
    assert "达标方案" in text and "万元" in text


@pytest.mark.parametrize("typed, name, code", [("yy", "沂源县", "370323"), ("lq", "临朐县", "370724"),
                                               ("370303", "张店区", "370303")])
def test_county_search_finds_a_county(server, page, typed, name, code):
    _open(page, f"{server}/pinggu")
    box = page.locator('[data-testid="stSidebar"]').get_by_label("搜索县（名称、代码或拼音首字母）")
    box.fill(typed)
    _act(page, lambda: box.press("Enter"))
    found = page.locator('[data-testid="stSidebar"] [data-testid="stButton"]').filter(has_text=name)
    _act(page, lambda: found.first.click())
    assert f"county={code}" in page.url
    assert name in page.locator(".stMain h3").first.inner_text()
    county_box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(2)
    assert county_box.locator("input").input_value() == name


def _visible_english(page) -> list[str]:
    """Listed English in the visible text and in visible elements' tooltips and labels."""
    shown = page.evaluate("""() => {
        const out = [document.body.innerText];
        for (const e of document.querySelectorAll('[title], [aria-label], [data-title]')) {
            const r = e.getBoundingClientRect(), s = getComputedStyle(e);
            if (r.width && r.height && s.visibility !== 'hidden' && e.checkVisibility())
                out.push(e.getAttribute('title') || '', e.getAttribute('aria-label') || '',
                         e.getAttribute('data-title') || '');
        }
        return out.join('\\n'); }""")
    return [s for s in ENGLISH if s in shown]


@pytest.mark.parametrize("path", ["", "pinggu?evaluation_view=tab_movers", "chengxiang", "nosuchpage"])
def test_a_chinese_screen_has_none_of_streamlits_english(server, page, path):
    _open(page, f"{server}/{path}{'&' if '?' in path else '?'}county={COUNTY}")
    page.wait_for_timeout(1000)  # "Page not found" comes a moment after the page
    assert page.locator('[data-testid="stDialog"]').count() == 0  # closed, not only hidden: the page is usable
    # toolbars show on hover (a table's phone copy, views/phone.py, is hidden on a laptop: hover the one shown)
    for target in ('[data-testid="stDataFrame"]:visible', ".stPlotlyChart:visible"):
        if page.locator(target).count():
            page.locator(target).first.hover()
            page.wait_for_timeout(400)
            assert _visible_english(page) == []
    search = page.locator('[data-testid="stSidebar"] input[type="text"]').first
    search.fill("沂")  # "Press Enter to apply" would show under a changed text box
    page.wait_for_timeout(300)
    assert _visible_english(page) == []


def test_language_switch_keeps_basic_or_quality(server, page):
    _open(page, f"{server}/pinggu?county={COUNTY}")
    radio = page.locator(".st-key-trend_evaluation")
    checked = ("e => [...e.querySelectorAll('input')].filter(i => i.checked)"
               ".map(i => i.closest('label').innerText).join()")
    _act(page, lambda: radio.get_by_text("优质均衡").click())
    assert radio.evaluate(checked) == "优质均衡"
    _act(page, lambda: page.locator('[data-testid="stSidebar"]').get_by_text("English").click())
    assert radio.evaluate(checked) == "High-quality balance"
    assert "trend_evaluation=quality" in page.url


def test_print_gives_clean_a4_pages(server, page, tmp_path):
    from pypdf import PdfReader
    _open(page, f"{server}/pinggu?county={COUNTY}")
    page.emulate_media(media="print")
    assert not page.locator('[data-testid="stSidebar"]').is_visible()
    assert not page.locator('.stMain [data-testid="stButtonGroup"]').first.is_visible()  # no widgets
    charts = page.locator(".stPlotlyChart")
    main_right = page.evaluate("() => document.querySelector('[data-testid=\"stMainBlockContainer\"]')"
                               ".getBoundingClientRect().right")
    for i in range(charts.count()):  # every chart within the content's width
        assert charts.nth(i).bounding_box()["x"] >= 0
        assert charts.nth(i).evaluate("e => e.getBoundingClientRect().right") <= main_right + 1
    pdf = tmp_path / "evaluation.pdf"
    page.pdf(path=str(pdf), format="A4", print_background=True)
    page.emulate_media(media="screen")
    reader = PdfReader(str(pdf))
    assert len(reader.pages) >= 2
    for p in reader.pages:
        width, height = float(p.mediabox.width), float(p.mediabox.height)
        assert abs(width - 595.3) < 2 and abs(height - 841.9) < 2  # A4 in points
    text = "".join(p.extract_text() for p in reader.pages)
    assert NAME in text and "均衡评估" in text
    assert [w for w in ("演示模式", "用户名", "搜索县") if w in text] == []  # the sidebar is not printed


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("path", ["", "pinggu", "pinggu?evaluation_view=tab_schools",
                                  "pinggu?evaluation_view=tab_plan", "chengxiang", "liushou", "biaozhun"])
def test_changed_pages_draw_in_both_languages(server, page, path, lang):
    name = (path.replace("?evaluation_view=", "_") or "overview")
    _open(page, f"{server}/{path}{'&' if '?' in path else '?'}county={COUNTY}&lang={lang}", f"{name}_{lang}")


@pytest.mark.parametrize("county", ["370323", "370303", COUNTY])
def test_overview_status_card_follows_the_verdict(server, page, demo_data, demo_frame, county):
    from junheng.rules import verdicts
    year = demo_frame["year"].max()
    rows = demo_frame.filter((pl.col("county_code") == county) & (pl.col("year") == year))
    # the browser visits as a guest, who sees no imported self-assessment items
    verdict, _ = verdicts.evaluate(rows, settings.load_thresholds(), None)
    _open(page, f"{server}/?county={county}")
    lines = page.locator(".st-key-quality_status_card").inner_text().splitlines()
    shown = {"pass": "已达到", "fail": "未达到", "incomplete": "待评估"}
    # the card's second line (基本均衡 first): "优质均衡：未达到 · 0/6 部分达标"
    assert lines[1].startswith(f"优质均衡：{shown[verdict['quality']]} · ")

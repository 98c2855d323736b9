"""Readable on a phone (issue 25 point 6): every page at 390×844 without sideways scrolling, the county's verdicts
on the first screen of 总览 and 均衡评估, and wide tables as their key columns (the whole table on a laptop)."""
import pytest

from junheng.i18n import t
from junheng.tools.browser import ROOT, frame_pages, login, screenshot, wait_for_page
from tests.conftest import PASSWORD, add_account

pytestmark = pytest.mark.browser
PAGES = frame_pages()
PHONE = {"width": 390, "height": 844}
LAPTOP = {"width": 1440, "height": 900}
SHOTS = ROOT / "tests" / "screenshots"
COUNTY = "370724"


@pytest.fixture(scope="module")
def server(demo_data):
    from junheng.tools.browser import streamlit_server
    add_account(demo_data, "chief", "admin")
    with streamlit_server(demo_data) as url:
        yield url


@pytest.fixture(scope="module")
def page(browser, server):
    """One administrator's session (every page is open to it), logged in at laptop width: on a phone's width
    the sidebar with the login form starts collapsed."""
    context = browser.new_context(viewport=LAPTOP, locale="zh-CN")
    pg = context.new_page()
    login(pg, server, "chief", PASSWORD)
    yield pg
    context.close()


def _open(page, url: str, size: dict) -> None:
    page.set_viewport_size(size)
    page.goto(url)
    wait_for_page(page, timeout_ms=120_000)


def _overflow(page) -> dict:
    return page.evaluate("() => ({scroll: document.scrollingElement.scrollWidth, inner: innerWidth,"
                         " main: document.querySelector('[data-testid=\"stMain\"]').scrollWidth})")


def _headers(page, container: str) -> list[str]:
    """The column headers of the first table in a container (the grid draws on a canvas; its headers are also
    in the document, hidden, for screen readers)."""
    cells = page.locator(f".st-key-{container} [role='columnheader']")
    cells.first.wait_for(state="attached", timeout=30_000)
    return [c.strip() for c in cells.all_text_contents()]


@pytest.mark.parametrize("name", PAGES)
def test_every_page_fits_a_phone_without_sideways_scrolling(server, page, name):
    _open(page, f"{server}/{PAGES[name]}?county={COUNTY}", PHONE)
    SHOTS.mkdir(exist_ok=True)
    screenshot(page, SHOTS / f"phone_{name}.png")
    width = _overflow(page)
    assert width["scroll"] <= width["inner"] and width["main"] <= width["inner"], width


@pytest.mark.parametrize(("path", "block"), [("", "quality_status_card"), ("pinggu", "verdict_block")])
def test_the_verdicts_are_on_the_first_phone_screen(server, page, path, block):
    _open(page, f"{server}/{path}?county={COUNTY}", PHONE)
    card = page.locator(f".st-key-{block}")
    box = card.bounding_box()
    assert box is not None and box["y"] >= 0 and box["y"] + box["height"] <= PHONE["height"], box
    text = card.inner_text()
    assert "基本均衡：" in text and "优质均衡：" in text and "综合差异系数" in text, text


def test_the_rectification_list_shows_its_key_columns_on_a_phone_and_everything_on_a_laptop(server, page):
    url = f"{server}/pinggu?county={COUNTY}&evaluation_view=tab_rectification"
    _open(page, url, PHONE)
    assert page.locator(".st-key-wide_rectification_1").is_hidden()
    assert _headers(page, "narrow_rectification_1") == [t(k) for k in ("school_name", "what_if_resource",
                                                                        "kit_shortfall", "kit_cost")]
    assert _headers(page, "narrow_rectification_2") == [t(k) for k in ("level", "indicator", "cv", "threshold")]
    assert _overflow(page)["scroll"] <= PHONE["width"]
    _open(page, url, LAPTOP)
    assert page.locator(".st-key-narrow_rectification_1").is_hidden()
    wide = _headers(page, "wide_rectification_1")
    assert {t("school_name"), t("indicator"), t("kit_value"), t("kit_minimum"), t("kit_shortfall"),
            t("kit_cost")} <= set(wide), wide


def test_the_gap_table_shows_its_key_columns_on_a_phone(server, page):
    _open(page, f"{server}/chengxiang?county={COUNTY}", PHONE)
    assert page.locator(".st-key-wide_gap_table").is_hidden()
    assert _headers(page, "narrow_gap_table") == [t(k) for k in ("indicator", "group_urban", "group_rural",
                                                                  "ratio")]


def test_headline_figures_sit_two_to_a_row_on_a_phone(server, page):
    _open(page, f"{server}/?county={COUNTY}", PHONE)
    boxes = [m.bounding_box() for m in page.locator('[data-testid="stMetric"]').all()]
    assert len(boxes) == 6
    rows = {round(b["y"]) for b in boxes}
    assert len(rows) == 3, boxes  # 3 rows of 2, not 6 cards one under another


@pytest.mark.parametrize("path", ["pinggu", "chengxiang", "liushou"])
def test_chart_legends_never_cover_the_plot_on_a_phone(server, page, path):
    _open(page, f"{server}/{path}?county={COUNTY}", PHONE)
    overlaps = page.evaluate("""() => [...document.querySelectorAll('.js-plotly-plot')].map(plot => {
        const legend = plot.querySelector('g.legend'), area = plot.querySelector('.nsewdrag');
        if (!legend || !area) return null;
        const a = legend.getBoundingClientRect(), b = area.getBoundingClientRect();
        const covered = Math.max(0, Math.min(a.right, b.right) - Math.max(a.left, b.left))
            * Math.max(0, Math.min(a.bottom, b.bottom) - Math.max(a.top, b.top));
        return covered;
    }).filter(v => v !== null)""")
    assert overlaps and all(v == 0 for v in overlaps), overlaps

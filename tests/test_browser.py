"""Real browser: every page in headless Chromium, no exception shown, nothing fetched from outside."""
import re

import pytest

from tests.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, is_local, screenshot, streamlit_server, wait_for_page

pytestmark = pytest.mark.browser
from playwright import sync_api as playwright  # noqa: E402  (a test dependency: never skipped)
SHOTS = ROOT / "tests" / "screenshots"
# page file stem -> URL path, as the frame declares them (the default page is at /)
PAGES = {}
for chunk in (ROOT / "app.py").read_text(encoding="utf-8").split("st.Page(")[1:]:
    stem = re.match(r'"pages/(\w+)\.py"', chunk).group(1)
    url_path = re.search(r'url_path="(\w+)"', chunk.split("st.Page(")[0])
    PAGES[stem] = "" if "default=True" in chunk else url_path.group(1)


@pytest.fixture(scope="module")
def server(demo_data):
    with streamlit_server(demo_data) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.outside = []
    pg.on("request", lambda r: None if is_local(r.url) else pg.outside.append(r.url))
    pg.js_errors = []  # uncaught errors, map iframes included (a map that fails to draw raises one)
    pg.on("pageerror", lambda e: pg.js_errors.append(str(e)))
    yield pg
    context.close()


def _open(page, url: str, shot: str) -> None:
    page.goto(url)
    wait_for_page(page)
    SHOTS.mkdir(exist_ok=True)
    screenshot(page, SHOTS / f"{shot}.png")
    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()
    assert page.outside == [], page.outside
    assert page.js_errors == [], page.js_errors


@pytest.mark.parametrize("name", PAGES)
def test_page_draws_offline_without_errors(server, page, name):
    _open(page, f"{server}/{PAGES[name]}", f"{name}_all")
    assert "示例数据" in page.inner_text("body")


@pytest.mark.parametrize("name", PAGES)
def test_page_with_a_county_selected(server, page, name):
    _open(page, f"{server}/{PAGES[name]}?county=370724", f"{name}_370724")
    assert "临朐县" in page.inner_text('[data-testid="stMain"]')


def test_overview_map_draws_polygons_from_the_local_leaflet(server, page):
    _open(page, f"{server}/?county=370724", "overview_map")
    frame = page.frame_locator('iframe[src*="streamlit_folium"]')
    canvas = frame.locator(".leaflet-overlay-pane canvas").first  # prefer_canvas: polygons on a canvas
    canvas.wait_for(timeout=30_000)
    painted = canvas.evaluate("""c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++; return n / (c.width * c.height); }""")
    assert painted > 0.1, painted  # the prefecture's counties cover a good part of the map


def test_region_cascade_province_then_prefecture(server, page):
    _open(page, server, "cascade_start")
    boxes = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]')
    boxes.nth(0).click()
    page.get_by_role("option", name="山东省").click()
    page.wait_for_function("() => document.body.innerText.includes('山东省 · ')", timeout=30_000)
    boxes.nth(1).click()
    page.get_by_role("option", name="潍坊市").click()
    page.wait_for_function("() => document.body.innerText.includes('潍坊市 · ')", timeout=30_000)
    wait_for_page(page)
    screenshot(page, SHOTS / "cascade_prefecture.png")
    assert page.outside == []


def test_a_shared_link_opens_the_page_in_the_frame_on_a_fresh_server(demo_data, page):
    """The first visit of a fresh server goes straight to a page: it must get the frame's navigation."""
    name = next(n for n, path in PAGES.items() if path)
    with streamlit_server(demo_data) as url:
        _open(page, f"{url}/{PAGES[name]}?county=370724&lang=en", "shared_link")
        nav = page.inner_text('[data-testid="stSidebarNav"]')
        assert "Overview" in nav and "pages" not in nav and name not in nav

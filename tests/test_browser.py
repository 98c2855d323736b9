"""Real browser: every page in headless Chromium, no exception shown, nothing fetched from outside."""
import pytest
from playwright import sync_api as playwright

from junheng.access import audit
from junheng.tools.browser import ROOT, frame_pages, is_local, login, screenshot, streamlit_server, wait_for_page
from tests.conftest import PASSWORD, add_account

pytestmark = pytest.mark.browser
SHOTS = ROOT / "tests" / "screenshots"
PAGES = frame_pages()


ADMIN_PAGES = {"data", "accounts"}  # shown to administrators only


@pytest.fixture(scope="module")
def server(demo_data):
    add_account(demo_data, "chief", "admin")
    with streamlit_server(demo_data) as url:
        yield url


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
    if name in ADMIN_PAGES:
        login(page, server, "chief", PASSWORD)
    _open(page, f"{server}/{PAGES[name]}", f"{name}_all")
    assert "示例数据" in page.inner_text("body")


@pytest.mark.parametrize("name", PAGES)
def test_page_with_a_county_selected(server, page, name):
    if name in ADMIN_PAGES:
        login(page, server, "chief", PASSWORD)
    _open(page, f"{server}/{PAGES[name]}?county=370724", f"{name}_370724")
    if name not in ADMIN_PAGES:  # data and account management show no region
        assert "临朐县" in page.inner_text('[data-testid="stMain"]')


def test_overview_map_draws_polygons_from_the_local_leaflet(server, page):
    _open(page, f"{server}/?county=370724", "overview_map")
    frame = page.frame_locator('iframe[src*="map_component.county_map"]')  # the county-map component
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


def test_a_sidebar_page_link_keeps_the_county_year_and_language(server, page):
    """Streamlit clears the link's parameters when a page link is clicked: the view must stay on the county
    (it went back to the whole country), and the new page's link names it again."""
    from junheng.tools.browser import script_runs
    _open(page, f"{server}/?county=370724&year=2024&lang=en", "navigation_before")
    runs = script_runs(page)
    page.locator(f'[data-testid="stSidebarNav"] a[href="{server}/{PAGES["gaps"]}"]').click()
    wait_for_page(page, after_runs=runs)
    assert "Linqu" in page.inner_text('[data-testid="stMain"] h3') or "临朐县" in page.inner_text(
        '[data-testid="stMain"] h3')
    assert "2024" in page.inner_text('[data-testid="stMain"] h3')
    from urllib.parse import parse_qsl, urlparse
    link = urlparse(page.url)
    assert link.path == f"/{PAGES['gaps']}"
    assert dict(parse_qsl(link.query)) == {"county": "370724", "year": "2024", "lang": "en"}


def test_a_shared_link_opens_the_page_in_the_frame_on_a_fresh_server(demo_data, page):
    """The first visit of a fresh server goes straight to a page: it must get the frame's navigation."""
    name = next(n for n, path in PAGES.items() if path)
    with streamlit_server(demo_data) as url:
        _open(page, f"{url}/{PAGES[name]}?county=370724&lang=en", "shared_link")
        nav = page.inner_text('[data-testid="stSidebarNav"]')
        assert "Overview" in nav and "pages" not in nav and name not in nav
        # streamlit#9992 (a pages/ directory beside an st.navigation frame) showed "Page not found" here; the
        # launcher (junheng.tools.serve) tells Streamlit the frame uses st.navigation.
        assert "Page not found" not in page.inner_text("body")


def test_upload_through_the_data_page(demo_data, tmp_path, page):
    """Upload a valid file, import it, and see the app use it (no restart); the notice says it is imported."""
    import shutil

    import polars as pl

    from junheng.data import dictionary, store
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    mine = pl.read_parquet(store.current_path(data, 2025)).filter(pl.col("county_code") == "370724").head(12)
    csv = tmp_path / "临朐县.csv"
    zh = {c.name: c.zh for c in dictionary.columns()}
    csv.write_bytes(mine.drop("year").rename(zh, strict=False).write_csv().encode("gbk"))
    add_account(data, "chief", "admin")
    with streamlit_server(data) as url:
        login(page, url, "chief", PASSWORD)
        _open(page, f"{url}/shuju", "data_start")
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
        page.get_by_text("校验通过；导入会删除下列数据").wait_for(timeout=30_000)
        # 12 schools replace 临朐县's many: the page names what goes and asks first; other counties are kept
        page.get_by_text("导入后 2025 年将从 35 个县（区）").wait_for(timeout=30_000)
        shown = page.inner_text('[data-testid="stMain"]')
        assert "临朐县（370724）" in shown and "临淄区（370305）的" not in shown
        confirm = page.get_by_role("button", name="确认导入为 2025 年数据")
        assert confirm.is_disabled()
        screenshot(page, SHOTS / "data_removal_confirm.png")
        page.get_by_text("我确认删除上述数据").click()
        playwright.expect(confirm).to_be_enabled(timeout=30_000)
        confirm.click()
        page.get_by_text("已导入 2025 年数据").wait_for(timeout=30_000)
        wait_for_page(page)
        screenshot(page, SHOTS / "data_imported.png")
        assert store.read_manifest(data)["years"]["2025"]["source"] == "临朐县.csv"
        _open(page, f"{url}/?county=370724", "overview_imported")
        body = page.inner_text('[data-testid="stMain"]')
        assert "本地导入的统计数据" in body and "示例数据" not in body
        schools = mine.filter(pl.col("school_type") != "teaching_point").height  # teaching points are counted apart
        assert page.locator('[data-testid="stMetric"]').first.inner_text().split("\n\n")[1] == str(schools)
        _open(page, url, "overview_mixed")  # the notice is per county and year: 34 of 35 counties are synthetic
        assert "有 34 个为程序合成的示例数据" in page.inner_text('[data-testid="stMain"]')
        log = audit.entries(data)
        assert log.filter((log["action"] == "import") & (log["account"] == "chief")).height == 1
        # undo that import on the page: 临朐县 has its demo rows again, and only it changed
        version = store.read_manifest(data)["years"]["2025"]["current"]
        _open(page, f"{url}/shuju", "data_undo")
        page.get_by_role("button", name="撤销所选导入").click()
        page.get_by_text("已撤销 2025 年的导入").wait_for(timeout=30_000)
        assert store.read_manifest(data)["years"]["2025"]["versions"][-1]["undoes"] == version
        assert audit.entries(data)["action"][0] == "rollback"
        _open(page, f"{url}/?county=370724", "overview_undone")
        assert "示例数据" in page.inner_text('[data-testid="stMain"]')

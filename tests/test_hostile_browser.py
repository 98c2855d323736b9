"""Every page in the real browser with hostile school and township names and hostile links: no dialog, no script
error, no console error, every map drawn (issue 10). The names go straight into the store, as if an import let
them through."""
import re
import shutil

import polars as pl
import pytest

from junheng.data import demo, store
from junheng.tools.browser import ROOT, frame_pages, login, screenshot, streamlit_server, wait_for_page
from tests.conftest import PASSWORD, add_account
from tests.hostile import hostile_rows

pytestmark = pytest.mark.browser
SHOTS = ROOT / "tests" / "screenshots"
PAGES = frame_pages()
COUNTY = "370724"


@pytest.fixture(scope="module")
def hostile_server(demo_data, tmp_path_factory):
    data = tmp_path_factory.mktemp("hostile") / "data"
    shutil.copytree(demo_data, data)
    for year in (2024, 2025):
        rows = pl.read_parquet(store.current_path(data, year))
        mine = rows["county_code"] == COUNTY
        rows = pl.concat([rows.filter(~mine), hostile_rows(rows.filter(mine))])
        demo.write_snapshot(data, year, rows, source="`${alert(1)}`=HYPERLINK(\"x\").csv", synthetic=True)
    add_account(data, "chief", "admin")
    with streamlit_server(data) as url:
        yield url


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.dialogs, pg.errors = [], []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.on("pageerror", lambda e: pg.errors.append(f"pageerror: {e}"))
    pg.on("console", lambda m: pg.errors.append(f"console: {m.text}") if m.type == "error" else None)
    pg.on("response", lambda r: pg.errors.append(f"HTTP {r.status}: {r.url}") if r.status >= 400 else None)
    pg.on("response", lambda r: pg.probes.append(r.url) if r.status == 404 and PROBE.search(r.url) else None)
    pg.probes = []
    yield pg
    context.close()


# Streamlit's frontend looks for its server under the page's own path first (/pinggu/_stcore/health), then
# under /: those two 404s per deep link are Streamlit's, not the app's, and the browser logs each as an error.
PROBE = re.compile(r"/[a-z_]+/_stcore/(health|host-config)$")


def _real_errors(page) -> list[str]:
    errors = [e for e in page.errors if not (e.startswith("HTTP 404") and PROBE.search(e))]
    probe_logs = len(page.probes)
    out = []
    for e in errors:
        if e.startswith("console: Failed to load resource") and "404" in e and probe_logs:
            probe_logs -= 1
            continue
        out.append(e)
    return out


def _maps_drawn(page) -> None:
    """Every map iframe drew its layers: polygons or markers on the canvas, or marker clusters."""
    frames = page.frame_locator('iframe[src*=".st_folium"]')
    for i in range(page.locator('iframe[src*=".st_folium"]').count()):
        drawn = frames.nth(i).locator(".leaflet-overlay-pane canvas, .leaflet-overlay-pane path, .marker-cluster")
        drawn.first.wait_for(state="attached", timeout=30_000)


def _visit(page, url: str, shot: str) -> str:
    page.goto(url)
    wait_for_page(page)
    _maps_drawn(page)
    page.wait_for_timeout(500)  # a tooltip script would run at once; give it a moment to show itself
    SHOTS.mkdir(exist_ok=True)
    screenshot(page, SHOTS / f"hostile_{shot}.png")
    assert page.dialogs == [], page.dialogs
    assert _real_errors(page) == [], page.errors
    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()
    return page.inner_text('[data-testid="stMain"]')


@pytest.mark.parametrize("name", PAGES)
def test_every_page_with_hostile_names(hostile_server, page, name):
    if name in ("data", "accounts"):  # administrators only: the versions table shows the hostile source name
        login(page, hostile_server, "chief", PASSWORD)
    _visit(page, f"{hostile_server}/{PAGES[name]}?county={COUNTY}", name)


@pytest.mark.parametrize("view", ["tab_schools", "tab_movers", "tab_rectification", "tab_plan"])
def test_evaluation_views_with_hostile_names(hostile_server, page, view):
    page.goto(f"{hostile_server}/{PAGES['evaluation']}?county={COUNTY}")
    wait_for_page(page)
    label = {"tab_schools": "学校明细", "tab_movers": "谁影响差异系数", "tab_rectification": "整改清单",
             "tab_plan": "达标方案"}[view]
    page.locator("[data-testid=\"stMain\"]").get_by_text(label, exact=True).click()
    wait_for_page(page)
    assert page.dialogs == [] and _real_errors(page) == [], (page.dialogs, page.errors)


# What Leaflet does when a tooltip opens: its HTML put into the page. Folium names its layers by kind
# (marker_cluster_…: a cluster whose markers carry tooltips; circle_marker_…: one marker with its own).
OPEN_TOOLTIPS = """(_body, prefix) => {
    let n = 0;
    for (const key of Object.keys(window).filter(k => k.startsWith(prefix))) {
        const layer = window[key];
        for (const marker of (layer.getLayers ? layer.getLayers() : [layer])) {
            const tip = marker.getTooltip && marker.getTooltip();
            if (!tip) continue;
            const box = document.createElement('div');
            box.innerHTML = tip.getContent();
            document.body.appendChild(box);
            n++;
        }
    }
    return n;
}"""


def _open_tooltips(frame, prefix: str) -> int:
    """Open every tooltip of the map's layers named prefix…; how many were opened."""
    return frame.evaluate(OPEN_TOOLTIPS, prefix)


def test_opening_every_school_tooltip_runs_nothing(hostile_server, page):
    """What Leaflet does when a tooltip opens (its HTML put into the page), for every school on the map."""
    _visit(page, f"{hostile_server}/{PAGES['left_behind']}?county={COUNTY}", "left_behind_tooltips")
    frame = page.frame_locator('iframe[src*=".st_folium"]').last.locator("body")
    opened = _open_tooltips(frame, "marker_cluster_")
    page.wait_for_timeout(1000)  # an <img onerror> would fire now
    assert opened >= 20
    texts = frame.inner_text()
    assert "${alert(document.domain)}" in texts and "<img src=x onerror=alert(3)>" in texts  # shown as text
    assert page.dialogs == [] and _real_errors(page) == [], (page.dialogs, page.errors)


def test_opening_every_school_status_tooltip_runs_nothing(hostile_server, page):
    """The 优质均衡 pass/fail school map: every marker's tooltip put into the page shows the names as text."""
    _visit(page, f"{hostile_server}/{PAGES['evaluation']}?county={COUNTY}&evaluation_view=tab_schools",
           "school_status_tooltips")
    frame = page.frame_locator('iframe[src*=".st_folium"]').first.locator("body")
    opened = _open_tooltips(frame, "circle_marker_")
    page.wait_for_timeout(1000)  # an <img onerror> would fire now
    assert opened >= 20
    texts = frame.inner_text()
    assert "${alert(document.domain)}" in texts and "<img src=x onerror=alert(3)>" in texts  # shown as text
    assert "缺" in texts  # what a school lacks is in its tooltip
    assert page.dialogs == [] and _real_errors(page) == [], (page.dialogs, page.errors)


@pytest.mark.parametrize("query", ["year=" + "9" * 5000, "county=" + "3" * 20_000, "county=%3Cscript%3E",
                                   "lang=fr", "year=1900"])
def test_hostile_links_get_a_notice_and_the_page_still_draws(hostile_server, page, query):
    body = _visit(page, f"{hostile_server}/?{query}", "link")
    assert "已忽略" in body
    assert page.locator('[data-testid="stMetric"]').count() == 6

"""The county-map component in Chromium: the outlines come once per session, a year or measure change moves only
values over the websocket, a hostile county name stays text in the tooltip, a click on a county selects it."""
import base64
import json

import pytest
from playwright import sync_api as playwright

from junheng.tools.browser import ROOT, screenshot, streamlit_server, wait_for_page
from junheng.views import map_component
from tests.hostile import NAMES

pytestmark = pytest.mark.browser
SHOTS = ROOT / "tests" / "screenshots"
FRAME = 'iframe[src*="map_component.county_map"]'
OUTLINES = "/_junheng/map/"


@pytest.fixture(scope="module")
def server(demo_data):
    with streamlit_server(demo_data) as url:
        yield url


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.cdp = context.new_cdp_session(pg)
    pg.cdp.send("Network.enable")
    pg.urls, pg.wire, pg.ws_frames = {}, {}, []
    pg.cdp.on("Network.requestWillBeSent", lambda e: pg.urls.__setitem__(e["requestId"], e["request"]["url"]))
    pg.cdp.on("Network.loadingFinished", lambda e: pg.wire.__setitem__(
        pg.urls.get(e["requestId"], "?"), pg.wire.get(pg.urls.get(e["requestId"], "?"), 0) + e["encodedDataLength"]))
    pg.cdp.on("Network.webSocketFrameReceived", lambda e: pg.ws_frames.append(
        base64.b64decode(e["response"]["payloadData"]) if e["response"]["opcode"] == 2
        else e["response"]["payloadData"].encode()))
    pg.outline_requests = []
    pg.on("request", lambda r: pg.outline_requests.append(r.url) if OUTLINES in r.url else None)
    pg.dialogs = []
    pg.on("dialog", lambda d: (pg.dialogs.append(d.message), d.dismiss()))
    pg.js_errors = []
    pg.on("pageerror", lambda e: pg.js_errors.append(str(e)))
    yield pg
    context.close()


def _map(page):
    page.locator(FRAME).first.wait_for(state="attached", timeout=60_000)
    return page.frame_locator(FRAME).first


def _state(page) -> dict:
    return page.locator(FRAME).first.evaluate("f => f.contentWindow.junhengMap.state()")


def _choose(page, label: str, option: str) -> None:
    box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text(label, exact=True)).first
    box.click()
    page.get_by_role("option", name=option, exact=True).click()


def test_a_year_change_moves_values_only_and_the_outlines_come_once(server, page):
    page.goto(f"{server}/")
    wait_for_page(page, timeout_ms=120_000)
    _map(page)
    first = _state(page)
    assert first["counties"] == 35 and first["drawn"] >= 1  # the demo's counties
    outline_bytes = sum(v for k, v in page.wire.items() if OUTLINES in k)
    assert 0 < outline_bytes < 600_000
    for year in ("2024", "2023"):
        page.ws_frames.clear()
        _choose(page, "统计年度", year)
        page.wait_for_function(f"() => document.body.innerText.includes('（{year} 年）')", timeout=60_000)
        wait_for_page(page, timeout_ms=120_000)
        sent = sum(len(f) for f in page.ws_frames)
        assert sent <= 100_000, sent
        assert not any(b'"rings"' in f for f in page.ws_frames)  # no outlines in the run's messages
    page.ws_frames.clear()
    _choose(page, "地图指标", "在校生数")
    wait_for_page(page, timeout_ms=120_000)
    assert sum(len(f) for f in page.ws_frames) <= 100_000
    after = _state(page)
    assert after["drawn"] >= first["drawn"] + 3 and after["counties"] == 35  # the same frame drew the new values
    assert len(page.outline_requests) == 1, page.outline_requests  # fetched once in the session
    SHOTS.mkdir(exist_ok=True)
    screenshot(page, SHOTS / "map_component_students_2023.png")
    assert page.js_errors == []


def test_another_page_of_the_session_takes_the_outlines_from_the_browsers_cache(server, page):
    page.goto(f"{server}/")
    wait_for_page(page, timeout_ms=120_000)
    _map(page)
    before = sum(v for k, v in page.wire.items() if OUTLINES in k)
    page.locator('[data-testid="stSidebarNav"] a[href$="/liushou"]').click()
    page.wait_for_url("**/liushou**")
    wait_for_page(page, timeout_ms=120_000)
    _map(page)
    assert _state(page)["counties"] == 35
    assert sum(v for k, v in page.wire.items() if OUTLINES in k) == before  # no new outline bytes on the wire


def test_a_hostile_county_name_stays_text_in_the_tooltip(server, page):
    names = {}

    def hostile(route):
        # the outlines' JSON header (after its 4-byte length) with hostile names; the points as sent
        body = route.fetch().body()
        size = int.from_bytes(body[:4], "big")
        header = json.loads(body[4:4 + size])
        header["names"] = [NAMES[i % len(NAMES)] for i in range(len(header["names"]))]
        names.update(zip(header["codes"], header["names"]))
        new = json.dumps(header, ensure_ascii=False).encode("utf-8")
        route.fulfill(status=200, content_type=map_component.MEDIA_TYPE,
                      body=len(new).to_bytes(4, "big") + new + body[4 + size:])
    page.route(f"**{OUTLINES}**", hostile)
    page.goto(f"{server}/")
    wait_for_page(page, timeout_ms=120_000)
    frame = _map(page)
    element = page.locator(FRAME).first
    codes = element.evaluate("f => f.contentWindow.junhengMap.codes()")
    assert len(codes) == 35
    shown = set()
    for code in codes:
        assert element.evaluate("(f, c) => f.contentWindow.junhengMap.openTooltip(c)", code)
        tip = frame.locator(".leaflet-tooltip").last
        assert tip.locator("img, script, svg, a, b, iframe").count() == 0
        text = tip.inner_text()
        assert names[code].strip() in text, (names[code], text)
        shown.add(names[code])
    page.wait_for_timeout(1000)  # an <img onerror> would fire now
    assert {"\"'><img src=x onerror=alert(3)>", "</script><script>alert(4)</script>"} <= shown
    assert page.dialogs == [] and page.js_errors == []
    screenshot(page, SHOTS / "map_component_hostile_tooltip.png")


def test_a_click_on_a_county_selects_it(server, page):
    page.goto(f"{server}/")
    wait_for_page(page, timeout_ms=120_000)
    _map(page)
    element = page.locator(FRAME).first
    x, y = element.evaluate("f => f.contentWindow.junhengMap.point('370724')")
    page.frame_locator(FRAME).first.locator("#map").click(position={"x": x, "y": y})
    page.wait_for_url("**county=370724**", timeout=60_000)
    wait_for_page(page, timeout_ms=120_000)
    assert "临朐县" in page.locator('[data-testid="stMain"]').inner_text()
    assert _state(page)["counties"] < 35  # now the prefecture's counties around it


def test_the_map_legend_sits_below_the_map_on_a_phone(server, browser):
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    try:
        page.goto(f"{server}/")
        wait_for_page(page, timeout_ms=120_000)
        page.set_viewport_size({"width": 390, "height": 844})
        wait_for_page(page, timeout_ms=60_000)
        frame = _map(page)
        page.locator(FRAME).first.scroll_into_view_if_needed()
        box, legend = frame.locator("#map").bounding_box(), frame.locator("#legend").bounding_box()
        assert legend["y"] >= box["y"] + box["height"] - 1  # below the map, never over it
        assert box["width"] <= 390
        screenshot(page, SHOTS / "map_component_phone.png")
    finally:
        context.close()


def test_an_outline_url_of_another_version_is_refused(server):
    import urllib.error
    import urllib.request
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server}/_junheng/map/0000000000000000/coarse/all.bin", timeout=30)
    assert refused.value.code == 404


playwright  # noqa: B018 — the browser fixture's module (conftest)

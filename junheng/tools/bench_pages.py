"""Page timings in headless Chromium: startup, redraw after a filter change, map bytes, server memory."""
from __future__ import annotations

import time
from pathlib import Path

import psutil

from junheng.tools.browser import CHROMIUM, CHROMIUM_ARGS, frame_pages, streamlit_server, wait_for_page

COUNTY = "370724"
MAP_MARKERS = (b"L.map(", b"leaflet")  # a websocket message that carries a Folium map


def _watch_maps(page) -> list[int]:
    """Sizes of the websocket messages carrying a map, appended as they arrive (the map data sent).

    Read through the Chrome DevTools protocol, which reports every frame whole.
    """
    import base64
    sizes: list[int] = []
    cdp = page.context.new_cdp_session(page)
    cdp.send("Network.enable")

    def on_frame(event) -> None:
        response = event["response"]
        data = response["payloadData"]
        raw = base64.b64decode(data) if response.get("opcode") == 2 else data.encode()
        if any(m in raw for m in MAP_MARKERS):
            sizes.append(len(raw))

    cdp.on("Network.webSocketFrameReceived", on_frame)
    return sizes


def _change_year(page, year: int, timeout_ms: int = 120_000) -> float:
    """Pick year in the sidebar and return the seconds until the page shows it, drawn and settled."""
    box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').last
    start = time.perf_counter()
    box.click()
    page.get_by_role("option", name=str(year), exact=True).click()
    page.wait_for_function(f"() => document.querySelector('[data-testid=\"stMain\"] h3')?.innerText.includes('{year}')",
                           timeout=timeout_ms)
    wait_for_page(page, timeout_ms)
    return time.perf_counter() - start - 0.8  # wait_for_page's two 400 ms settle checks are not the app's time


def rendered_map_bytes(data_dir: Path, region: str) -> int:
    """Bytes of the overview county map document for a region, built as the page builds it.

    Chromium's DevTools do not report websocket frames of a megabyte or more, so the national map's
    size is taken from the Folium document the page sends (the component carries it whole).
    """
    from junheng.data import boundaries, db
    from junheng.rules import overview
    from junheng.views import maps
    con = db.connect(data_dir)
    scope = db.run(con, "all_county_codes")["county_code"].to_list()
    totals = db.run(con, "county_totals", years=[2024], region=region, scope=scope)
    geometry = boundaries.read(data_dir, "county_coarse" if totals.height > boundaries.COARSE_ABOVE else "county")
    data = overview.county_map_data(geometry, totals, "schools", "zh")
    fmap = maps.county_choropleth_map(data, "value", "value_text", {"name": "县", "metric": "学校数", "no_data": "无"})
    return len(fmap.get_root().render().encode())


def run(data_dir: Path, log=print) -> dict:
    from playwright.sync_api import sync_playwright
    pages = {name: path for name, path in frame_pages().items() if name != "data"}
    out = []
    start = time.perf_counter()
    with streamlit_server(Path(data_dir)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        map_sizes = _watch_maps(page)
        page.goto(url)
        wait_for_page(page, 180_000)
        startup_ms = round((time.perf_counter() - start - 0.8) * 1000)
        log(f"startup to first page: {startup_ms} ms")
        for scope, query in (("county", f"?county={COUNTY}"), ("national", "")):
            for name, path in pages.items():
                page.goto(f"{url}/{path}{query}")
                wait_for_page(page, 180_000)
                seconds = None
                for attempt, year in enumerate((2024, 2023)):  # one retry: headless redraws now and then stall
                    map_sizes.clear()
                    try:
                        seconds = _change_year(page, year)
                        break
                    except Exception as e:  # a timeout: say so in the log, try once more
                        log(f"page {name} {scope}: redraw attempt {attempt + 1} failed ({type(e).__name__})")
                if seconds is None:
                    out.append({"page": name, "scope": scope, "redraw_ms": None, "map_bytes": None})
                    continue
                row = {"page": name, "scope": scope, "redraw_ms": round(seconds * 1000), "map_bytes": sum(map_sizes)}
                if name == "overview":
                    row["map_bytes"] = max(row["map_bytes"], rendered_map_bytes(
                        Path(data_dir), COUNTY[:4] if scope == "county" else ""))
                out.append(row)
                log(f"page {name:16} {scope:8} redraw {row['redraw_ms']:6} ms  maps {row['map_bytes'] / 1e6:6.3f} MB")
        server = _server_process(url)
        rss = sum(p.memory_info().rss for p in [server, *server.children(recursive=True)]) if server else 0
        browser.close()
    return {"pages": out, "startup_ms": startup_ms, "server_rss_mb": round(rss / 2**20, 1)}


def _server_process(url: str):
    port = int(url.rsplit(":", 1)[1])
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            return psutil.Process(conn.pid)
    return None

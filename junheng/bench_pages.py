"""Page timings in headless Chromium: startup, redraw after a filter change, map bytes, server memory."""
from __future__ import annotations

import time
from pathlib import Path

import psutil

from junheng.browser import CHROMIUM, CHROMIUM_ARGS, frame_pages, streamlit_server, wait_for_page

COUNTY = "370724"
MAP_BYTES_JS = """() => { let n = 0; for (const f of document.querySelectorAll('iframe[src*="streamlit_folium"]')) {
    try { n += new Blob([f.contentDocument.documentElement.outerHTML]).size; } catch (e) {} } return n; }"""


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


def run(data_dir: Path, log=print) -> dict:
    from playwright.sync_api import sync_playwright
    pages = {name: path for name, path in frame_pages().items() if name != "data"}
    out = []
    start = time.perf_counter()
    with streamlit_server(Path(data_dir)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        page.goto(url)
        wait_for_page(page, 180_000)
        startup_ms = round((time.perf_counter() - start - 0.8) * 1000)
        log(f"startup to first page: {startup_ms} ms")
        for scope, query in (("county", f"?county={COUNTY}"), ("national", "")):
            for name, path in pages.items():
                page.goto(f"{url}/{path}{query}")
                wait_for_page(page, 180_000)
                seconds = _change_year(page, 2024)
                row = {"page": name, "scope": scope, "redraw_ms": round(seconds * 1000),
                       "map_bytes": page.evaluate(MAP_BYTES_JS)}
                out.append(row)
                log(f"page {name:16} {scope:8} redraw {row['redraw_ms']:6} ms  maps {row['map_bytes'] / 1e6:6.2f} MB")
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

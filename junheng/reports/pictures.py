"""Pictures of charts and maps for decks, PDFs and PNG downloads, drawn with no internet access.

One headless Chromium (Playwright) draws everything: charts with Plotly's own plotly.js (read from the plotly
package on disk into one page per browser, then Plotly.toImage per chart), maps as the Folium map's HTML with
Leaflet served from the app's vendored static files. Every other request is refused (no tiles, no CDN).
A map picture carries its title over the map, its legend and Leaflet's kilometre scale bar.
"""
from __future__ import annotations

import base64
import json
import re
import shutil
import tempfile
import threading
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import unquote

from junheng import escape
from junheng.settings import STATIC_DIR

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MAP_ORIGIN = "http://junheng.invalid"  # never resolved: every request to it is answered by the route below
MIME = {".js": "application/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}
CHART_PAGE = ('<!doctype html><html><head><meta charset="utf-8"><script src="%s"></script></head>'
              '<body style="margin:0"></body></html>')


class PictureError(RuntimeError):
    """A chart or map could not be drawn (no browser, a time-out)."""


def _plotly_js() -> Path:
    import plotly
    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


def chart_png(fig, width: int = 1200, height: int = 600, scale: float = 2.0) -> bytes:
    """A Plotly figure as PNG bytes (width × height CSS pixels, times scale)."""
    url = _chart(fig, "png", width, height, scale)
    return base64.b64decode(url.split(",", 1)[1])


def chart_svg(fig, width: int = 1200, height: int = 600) -> bytes:
    """A Plotly figure as SVG (vector, for the PDF)."""
    url = _chart(fig, "svg", width, height, 1.0)
    return unquote(url.split(",", 1)[1]).encode()


_DRAW_CHART = """async ([figure, options]) => {
  const div = document.createElement('div');
  document.body.appendChild(div);
  try {
    await Plotly.newPlot(div, figure.data || [], figure.layout || {}, {staticPlot: true});
    return await Plotly.toImage(div, options);
  } finally { Plotly.purge(div); div.remove(); }
}"""


def prepare_charts() -> None:
    """Open the chart page in the shared browser without waiting: Chromium reads and compiles plotly.js (4.8 MB)
    from disk while the caller goes on computing. Inside a browser() block only; the first chart waits for it."""
    if getattr(_session, "browser", None) is not None:
        _chart_page(_session.browser)


def _chart_page(chromium):
    page = getattr(_session, "chart_page", None)
    if page is None or page.is_closed():
        folder = Path(tempfile.mkdtemp(prefix="junheng-chart-"))
        (folder / "chart.html").write_text(CHART_PAGE % _plotly_js().as_uri(), encoding="utf-8")
        page = chromium.new_page()
        page.route(re.compile(r"^(?!file:)"), lambda route: route.abort())  # from disk only: plotly.js
        page.goto((folder / "chart.html").as_uri(), wait_until="commit")
        _session.chart_page, _session.chart_folder = page, folder
    return page


def _chart(fig, kind: str, width: int, height: int, scale: float, timeout_ms: int = 30000) -> str:
    """The figure as a data: URL drawn by plotly.js in the shared browser's chart page."""
    from playwright.sync_api import Error as PlaywrightError
    figure = json.loads(fig.to_json())  # numpy arrays and dates as plain JSON
    try:
        with browser() as chromium:
            page = _chart_page(chromium)
            page.wait_for_function("() => typeof Plotly !== 'undefined'", timeout=timeout_ms)
            return page.evaluate(_DRAW_CHART, [figure, {"format": kind, "width": width, "height": height,
                                                        "scale": scale}])
    except PlaywrightError as e:
        raise PictureError(f"chart export failed: {type(e).__name__}") from e


def map_html(folium_map) -> str:
    """The map as one standalone HTML page (Leaflet from /app/static/vendor, as on the pages)."""
    return folium_map.get_root().render()


def map_png(folium_map, width: int = 1200, height: int = 800, timeout_ms: int = 20000, scale: float = 1.0,
            title: str | None = None) -> bytes:
    """A Folium map as PNG bytes (width × height CSS pixels, times scale), drawn by headless Chromium from the
    vendored Leaflet (no tiles, no CDN), with its title (title, or the one its builder gave it), legend and
    kilometre scale."""
    return maps_png([folium_map], width, height, timeout_ms, scale, [title])[0]


_session = threading.local()


@contextmanager
def browser():
    """One headless Chromium for everything drawn or printed inside the block (on this thread): the deck's maps,
    charts and the PDF then share it. Outside such a block each call starts its own."""
    current = getattr(_session, "browser", None)
    if current is not None:
        yield current
        return
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        try:
            started = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        except PlaywrightError as e:
            raise PictureError(f"no browser: {type(e).__name__}") from e
        _session.browser = started
        try:
            yield started
        finally:
            _session.browser = _session.chart_page = None
            started.close()
            shutil.rmtree(getattr(_session, "chart_folder", None) or "", ignore_errors=True)
            _session.chart_folder = None


def maps_png(folium_maps, width: int = 1200, height: int = 800, timeout_ms: int = 20000,
             scale: float = 1.0, titles: list[str | None] | None = None) -> list[bytes]:
    """Several Folium maps as PNGs, one browser for all of them (titles: one per map, None for the builder's)."""
    from playwright.sync_api import Error as PlaywrightError
    titles = titles or [None] * len(folium_maps)
    try:
        with browser() as chromium:
            return [_screenshot(chromium, map_html(m), width, height, timeout_ms, scale,
                                title or getattr(m, "picture_title", None))
                    for m, title in zip(folium_maps, titles)]
    except PlaywrightError as e:
        raise PictureError(f"map drawing failed: {type(e).__name__}") from e


# A picture has no buttons; its title sits over the map's top left, where the zoom buttons were.
PICTURE_CSS = """.leaflet-control-zoom { display: none; }
.junheng-picture-title { position: absolute; top: 10px; left: 10px; right: 10px; z-index: 1000;
  font: 600 17px "Noto Sans CJK SC", sans-serif; color: #1f2937; pointer-events: none; }
.junheng-picture-title span { background: rgba(255,255,255,.9); padding: 4px 8px; border-radius: 4px;
  box-shadow: 0 0 4px #999; display: inline-block; }
.leaflet-control-scale-line { font-size: 13px; }"""


def _screenshot(browser, html: str, width: int, height: int, timeout_ms: int, scale: float,
                title: str | None = None) -> bytes:
    page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=scale)
    try:
        page.route("**/*", lambda route: _answer(route, html))
        page.goto(f"{MAP_ORIGIN}/map.html", wait_until="load", timeout=timeout_ms)
        page.wait_for_function(_DRAWN, timeout=timeout_ms)
        page.add_style_tag(content=PICTURE_CSS)
        if title:
            page.evaluate("""(text) => {
              const box = document.createElement('div');
              box.className = 'junheng-picture-title';
              const span = document.createElement('span');
              span.textContent = text;
              box.appendChild(span);
              document.body.appendChild(box);
            }""", escape.plain(title, 200))
        # two frames: the last layer and the title painted
        page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
        return page.screenshot(type="png", full_page=False)
    finally:
        page.close()


# Drawn: Leaflet loaded, the map container laid out, and something in the overlay pane (canvas or SVG paths)
# or the marker pane (clustered schools).
_DRAWN = """() => {
  if (typeof L === 'undefined') return false;
  const c = document.querySelector('.leaflet-container');
  if (!c || c.clientWidth === 0) return false;
  const overlay = document.querySelector('.leaflet-overlay-pane canvas, .leaflet-overlay-pane path');
  const marker = document.querySelector('.leaflet-marker-pane > *');
  return Boolean(overlay || marker);
}"""


def _answer(route, html: str) -> None:
    """The page itself and the vendored static files; anything else (a tile, a CDN) is refused."""
    from urllib.parse import urlparse
    url = urlparse(route.request.url)
    if f"{url.scheme}://{url.netloc}" != MAP_ORIGIN:
        route.abort()
        return
    if url.path == "/map.html":
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        return
    if url.path.startswith("/app/static/"):
        file = (STATIC_DIR / url.path[len("/app/static/"):]).resolve()
        if file.is_file() and STATIC_DIR.resolve() in file.parents:
            route.fulfill(status=200, content_type=MIME.get(file.suffix, "application/octet-stream"),
                          body=file.read_bytes())
            return
    route.fulfill(status=404, body="")

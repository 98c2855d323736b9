"""Pictures of charts and maps for decks, PDFs and PNG downloads, drawn with no internet access.

Charts: Plotly's own static export (kaleido), driving the Debian Chromium; one kaleido server per process,
started on first use with MathJax off (its default is a CDN) and Plotly's bundled plotly.js.
Maps: the Folium map's HTML in headless Chromium (Playwright), Leaflet served from the app's vendored
static files, every other request refused (no tiles, no CDN), screenshot once the layers are drawn.
"""
from __future__ import annotations

import threading
import warnings
from contextlib import contextmanager
from pathlib import Path

from junheng.settings import STATIC_DIR

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
MAP_ORIGIN = "http://junheng.invalid"  # never resolved: every request to it is answered by the route below
MIME = {".js": "application/javascript", ".css": "text/css", ".png": "image/png", ".svg": "image/svg+xml"}
# The kaleido server is one queue per process: one caller at a time, or answers could cross.
_chart_lock = threading.Lock()


class PictureError(RuntimeError):
    """A chart or map could not be drawn (no browser, a time-out)."""


def _start_kaleido() -> None:
    import kaleido
    import plotly
    kaleido.start_sync_server(path=CHROMIUM, mathjax=False, silence_warnings=True,
                              plotlyjs=str(Path(plotly.__file__).parent / "package_data" / "plotly.min.js"))


def chart_png(fig, width: int = 1200, height: int = 600, scale: float = 2.0) -> bytes:
    """A Plotly figure as PNG bytes (width × height CSS pixels, times scale)."""
    return _chart(fig, "png", width, height, scale)


def chart_svg(fig, width: int = 1200, height: int = 600) -> bytes:
    """A Plotly figure as SVG (vector, for the PDF)."""
    return _chart(fig, "svg", width, height, 1.0)


def _chart(fig, kind: str, width: int, height: int, scale: float) -> bytes:
    with _chart_lock:
        _start_kaleido()
        try:
            with warnings.catch_warnings():  # plotly passes kaleido options that a running server ignores
                warnings.simplefilter("ignore", UserWarning)
                return fig.to_image(format=kind, width=width, height=height, scale=scale)
        except Exception as e:  # kaleido raises plain Exceptions from the browser side
            raise PictureError(f"chart export failed: {type(e).__name__}") from e


def map_html(folium_map) -> str:
    """The map as one standalone HTML page (Leaflet from /app/static/vendor, as on the pages)."""
    return folium_map.get_root().render()


def warm_up() -> None:
    """Start the chart exporter's browser in the background, so that it boots while the data are read."""
    threading.Thread(target=_warm, daemon=True).start()


def _warm() -> None:
    with _chart_lock:
        _start_kaleido()


def map_png(folium_map, width: int = 1200, height: int = 800, timeout_ms: int = 20000, scale: float = 1.0) -> bytes:
    """A Folium map as PNG bytes (width × height CSS pixels, times scale), drawn by headless Chromium from the
    vendored Leaflet (no tiles, no CDN)."""
    return maps_png([folium_map], width, height, timeout_ms, scale)[0]


_session = threading.local()


@contextmanager
def browser():
    """One headless Chromium for everything drawn or printed inside the block (on this thread): the deck's maps
    and the PDF then share it. Outside such a block each call starts its own."""
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
            _session.browser = None
            started.close()


def maps_png(folium_maps, width: int = 1200, height: int = 800, timeout_ms: int = 20000,
             scale: float = 1.0) -> list[bytes]:
    """Several Folium maps as PNGs, one browser for all of them."""
    from playwright.sync_api import Error as PlaywrightError
    try:
        with browser() as chromium:
            return [_screenshot(chromium, map_html(m), width, height, timeout_ms, scale) for m in folium_maps]
    except PlaywrightError as e:
        raise PictureError(f"map drawing failed: {type(e).__name__}") from e


def _screenshot(browser, html: str, width: int, height: int, timeout_ms: int, scale: float) -> bytes:
    page = browser.new_page(viewport={"width": width, "height": height}, device_scale_factor=scale)
    try:
        page.route("**/*", lambda route: _answer(route, html))
        page.goto(f"{MAP_ORIGIN}/map.html", wait_until="load", timeout=timeout_ms)
        page.wait_for_function(_DRAWN, timeout=timeout_ms)
        page.add_style_tag(content=".leaflet-control-zoom{display:none}")  # no buttons in a picture
        page.wait_for_timeout(400)  # cluster and zoom animations settle
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

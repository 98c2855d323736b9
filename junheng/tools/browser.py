"""A Streamlit server on a free port and headless Debian Chromium, for the browser tests and page timings."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from junheng.settings import PROJECT_DIR as ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
LOCAL_HOSTS = {"localhost", "127.0.0.1", "::1", "[::1]"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def streamlit_server(data_dir: Path, script: str = "app.py", args: tuple[str, ...] = ()):
    """Start `streamlit run script` on data_dir; yield its base URL; stop it afterwards.

    The server's output goes to a temporary file, not a pipe nobody reads: a busy server logging
    tracebacks would otherwise block once the pipe is full.
    """
    import tempfile
    port = free_port()
    env = {**os.environ, "JUNHENG_DATA_DIR": str(data_dir)}
    options = ["--server.port", str(port), "--server.headless", "true", "--browser.gatherUsageStats", "false", *args]
    command = ([sys.executable, "-m", "junheng.tools.serve", *options] if script == "app.py" else
               [sys.executable, "-m", "streamlit", "run", script, *options])
    with tempfile.TemporaryFile() as output:
        proc = subprocess.Popen(command, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        url = f"http://localhost:{port}"
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as r:
                        if r.status == 200:
                            break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        output.seek(0)
                        raise RuntimeError(f"streamlit did not start: {output.read().decode()[-2000:]}") from None
                    time.sleep(0.05)  # the first-page timing starts with the process: poll it closely
            yield url
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob", "about") or parsed.hostname in LOCAL_HOSTS


# Streamlit 1.67 marks the app element with its script state: "initial" before the first run, then
# "running" / "rerunRequested" / "stopRequested" while a run is on, "notRunning" when it has finished.
SCRIPT_STATE = "data-test-script-state"

# Counts the runs the page has started: each time the state leaves "notRunning". Installed once per document.
_COUNT_RUNS = """() => {
  if (window.__junhengRuns === undefined) {
    window.__junhengRuns = 0;
    let last = document.querySelector('[data-testid="stApp"]')?.getAttribute('%s') ?? 'initial';
    new MutationObserver(records => {
      for (const r of records) {
        const state = r.target.getAttribute('%s');
        if (last === 'notRunning' && state !== 'notRunning') window.__junhengRuns++;
        last = state;
      }
    }).observe(document.documentElement, {subtree: true, attributes: true, attributeFilter: ['%s']});
  }
  return window.__junhengRuns;
}""" % (SCRIPT_STATE, SCRIPT_STATE, SCRIPT_STATE)  # noqa: UP031 - JavaScript braces stay literal with %s

# A signature of what the page shows when it is finished, or null while it is not: the script is not running
# (and has run since `afterRuns`), nothing is a loading skeleton, every Plotly chart has drawn its SVG with
# its visible traces (present.chart's box keeps Streamlit's stPlotlyChart test id: it counts once the vendored
# plotly.js has drawn the figure the box now holds), every Folium map has loaded, has layers and no canvas redraw
# pending. The page counts as settled once the signature has stayed the same for stableMs.
_SETTLED = """([afterRuns, stableMs]) => {
  const wait = window.__junhengWait || (window.__junhengWait = {sig: null, since: 0});
  const now = performance.now();
  const signature = () => {
    const app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.getAttribute('%s') !== 'notRunning') return null;
    if (afterRuns !== null && !((window.__junhengRuns || 0) > afterRuns)) return null;
    if (document.querySelector('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]')) return null;
    const parts = [document.querySelectorAll('[data-testid="stElementContainer"]').length];
    for (const chart of document.querySelectorAll('[data-testid="stPlotlyChart"]')) {
      const plot = chart.querySelector('.js-plotly-plot');
      if (!plot || !plot._fullLayout || !plot.querySelector('.main-svg')) return null;
      const figure = chart.querySelector('script.jh-chart-data');  // views/present.py CHART_SCRIPT
      if (figure && chart.__junhengDrawn !== figure.textContent) return null;
      const expected = (plot._fullData || []).filter(t => t.visible === true).length;
      const drawn = plot.querySelectorAll('.main-svg .trace, .gl-container canvas').length;
      if (expected > 0 && drawn === 0) return null;
      parts.push('p' + drawn);
    }
    for (const frame of document.querySelectorAll('iframe[src*="map_component.county_map"]')) {
      const map = frame.contentWindow && frame.contentWindow.junhengMap;  // static/map_component/map.js
      const state = map && map.state();
      if (!state || state.drawn === 0 || state.pending) return null;
      parts.push('c' + state.drawn + ':' + state.counties);
    }
    for (const frame of document.querySelectorAll('iframe[src*=".st_folium"]')) {
      const doc = frame.contentDocument, map = frame.contentWindow && frame.contentWindow.map;
      if (!doc || !map || !map._loaded) return null;
      const shapes = doc.querySelectorAll('.leaflet-overlay-pane path, .leaflet-overlay-pane canvas').length
        + (doc.querySelector('.leaflet-marker-pane')?.childElementCount || 0);
      if (shapes === 0) return null;
      if (Object.values(map._layers).some(layer => layer._redrawRequest)) return null;  // canvas not painted yet
      parts.push('m' + map._container.id + ':' + shapes);
    }
    return parts.join(',');
  };
  const sig = signature();
  if (sig === null || sig !== wait.sig) {
    wait.sig = sig;
    wait.since = now;
    return false;
  }
  return now - wait.since >= stableMs;
}""" % SCRIPT_STATE  # noqa: UP031 - JavaScript braces stay literal with %s


def script_runs(page) -> int:
    """How many script runs this page has started; pass it to wait_for_page(after_runs=) before an action."""
    page.wait_for_selector('[data-testid="stApp"]')
    return page.evaluate(_COUNT_RUNS)


def wait_for_page(page, timeout_ms: int = 60_000, after_runs: int | None = None, stable_ms: int = 300) -> float:
    """Wait until the page is finished as a user sees it; return the perf_counter time it became so.

    Finished: Streamlit's script state is notRunning, every Plotly chart has drawn its traces and every
    Folium map its layers, unchanged for stable_ms. After an action (a widget change, a click on a page
    link) pass after_runs=script_runs(page) taken before it, so the old page is not taken for the new.
    """
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    page.evaluate(_COUNT_RUNS)
    page.evaluate("() => { window.__junhengWait = undefined; }")
    page.wait_for_function(_SETTLED, arg=[after_runs, stable_ms], timeout=timeout_ms, polling=50)
    settled_for_ms = page.evaluate("() => performance.now() - window.__junhengWait.since")
    return time.perf_counter() - settled_for_ms / 1000


def change_widget(page, key: str) -> float:
    """Pick another value in the widget with this key (a select box's, radio's or segmented control's next
    option); return the perf_counter time of the click that commits it, the moment a user's wait begins."""
    widget = page.locator(f".st-key-{key}").first
    if not widget.count():
        raise LookupError(f"no widget with key {key!r} on {page.url}")
    widget.scroll_into_view_if_needed()  # a select box's list does not open while the page scrolls to it
    if widget.locator('[data-testid="stSelectbox"]').count():
        widget.locator('[data-testid="stSelectbox"]').click()
        choice = page.locator('[role="option"]:not([aria-selected="true"])').first
        try:
            choice.wait_for(timeout=3_000)
        except Exception:  # the click gave focus but no list: open it from the keyboard
            page.keyboard.press("ArrowDown")
    elif widget.locator('[data-testid="stRadioOption"]').count():
        choice = widget.locator('[data-testid="stRadioOption"]:not([data-selected="true"])').first
    else:  # a segmented control's option, or a pill not chosen yet (multi-select pills: one more value)
        choice = widget.locator('button[role="radio"][aria-checked="false"], '
                                'button[data-variant="pills"][aria-pressed="false"]').first
    choice.wait_for()
    committed = time.perf_counter()
    choice.click()
    return committed


def dismiss_page_not_found(page) -> bool:
    """Close Streamlit's "Page not found" dialog if it shows (streamlit#9992: a deep link that the frame's
    navigation serves anyway); it makes the page inert. True if there was one."""
    dialog = page.locator('[role="dialog"]').filter(has_text="Page not found")
    if not dialog.count():
        return False
    page.keyboard.press("Escape")
    dialog.wait_for(state="detached", timeout=5_000)
    return True


def screenshot(page, path: Path) -> None:
    """The whole page: Streamlit scrolls inside its main block, so grow the viewport to its height first."""
    height = page.evaluate("() => document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
    size = page.viewport_size
    page.set_viewport_size({"width": size["width"], "height": min(max(height + 40, size["height"]), 9000)})
    page.wait_for_timeout(600)
    page.screenshot(path=str(path))
    page.set_viewport_size(size)


def frame_pages(app_path: Path = ROOT / "app.py") -> dict[str, str]:
    """Page file stem -> URL path, as the frame declares them (the default page is at '')."""
    import re
    pages = {}
    for chunk in app_path.read_text(encoding="utf-8").split("st.Page(")[1:]:
        stem = re.match(r'"pages/(\w+)\.py"', chunk)
        if stem is None:  # not a page file (the launcher check's stand-in page)
            continue
        stem = stem.group(1)
        url_path = re.search(r'url_path="(\w+)"', chunk)
        pages[stem] = "" if "default=True" in chunk else url_path.group(1)
    return pages


def login(page, url: str, name: str, password: str) -> None:
    """Log in through the frame's sidebar form (用户名, 密码, 登录) and wait until the page shows it."""
    page.goto(url)
    wait_for_page(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_label("用户名").fill(name)
    sidebar.get_by_label("密码").fill(password)
    sidebar.get_by_role("button", name="登录").click()
    page.wait_for_function("() => document.querySelector('[data-testid=\"stSidebar\"]')"
                           f"?.innerText.includes('{name}（')", timeout=60_000)
    page.wait_for_function("() => document.cookie !== undefined", timeout=5_000)
    wait_for_page(page)

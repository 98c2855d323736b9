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
def streamlit_server(data_dir: Path, script: str = "app.py"):
    """Start `streamlit run script` on data_dir; yield its base URL; stop it afterwards."""
    port = free_port()
    env = {**os.environ, "JUNHENG_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "junheng.tools.serve", "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"] if script == "app.py" else
        [sys.executable, "-m", "streamlit", "run", script, "--server.port", str(port),
         "--server.headless", "true", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
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
                    raise RuntimeError(f"streamlit did not start: {proc.stdout.read().decode()[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def is_local(url: str) -> bool:
    parsed = urlparse(url)
    return parsed.scheme in ("data", "blob", "about") or parsed.hostname in LOCAL_HOSTS


def wait_for_page(page, timeout_ms: int = 60_000) -> None:
    """Wait until Streamlit has finished running the script and every map iframe has drawn."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    # Settled: the script is not running and no element is a loading skeleton, twice in a row.
    settled = """() => !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-testid="stSkeleton"], [data-testid="stSkeletonElement"]')
        && document.querySelectorAll('[data-testid="stMainBlockContainer"] *').length > 20"""
    for _ in range(2):
        page.wait_for_function(settled, timeout=timeout_ms)
        page.wait_for_timeout(400)
    maps = page.locator('iframe[src*="streamlit_folium"]')
    for i in range(maps.count()):
        page.frame_locator('iframe[src*="streamlit_folium"]').nth(i).locator(".leaflet-container").wait_for(
            state="attached", timeout=timeout_ms)  # a map in a hidden tab is attached, not visible


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
        stem = re.match(r'"pages/(\w+)\.py"', chunk).group(1)
        url_path = re.search(r'url_path="(\w+)"', chunk)
        pages[stem] = "" if "default=True" in chunk else url_path.group(1)
    return pages

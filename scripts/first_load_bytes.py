"""Bytes on the wire for a first page load, with and without compression (docs/performance.md, issue 25 points 1-2).

    .venv/bin/python scripts/first_load_bytes.py DATA_DIR [PATH ...]

Starts the launcher three times on DATA_DIR: with its gzip middleware left out and the websocket's
permessage-deflate off (what Streamlit serves on its own); with gzip only (Brotli left out); as shipped, gzip and
Brotli — measured once the Brotli bodies of what the paths load are made (they are made in the background after
a first visit; the script waits for them). Chromium asks for br over http://localhost (a secure origin); over plain
http to another address it would not. A fresh Chromium opens each path; HTTP bytes are
Chrome's encodedDataLength (Network.loadingFinished: headers and body as received); websocket bytes are the
frames' payloads, and with compression the same payloads deflated as the negotiated extension does
(context takeover, 4,096-byte window: server_max_window_bits=12), which Chrome's protocol does not report.
"""
from __future__ import annotations

import base64
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
import zlib
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from junheng.tools.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, free_port, script_runs, wait_for_page  # noqa: E402

VARIANTS = {
    "plain": "from junheng.tools import compression, serve; compression.middleware = lambda: []; serve.main()",
    "gzip+deflate": "from junheng.tools import compression, serve; compression.brotli_encoder = lambda: None; "
                    "serve.main()",
    "br+gzip+deflate": "from junheng.tools import serve; serve.main()",
}


def _server(data_dir: Path, variant: str):
    port = free_port()
    compressed = variant != "plain"
    options = ["--server.port", str(port), "--server.headless", "true",
               "--server.enableWebsocketCompression", "true" if compressed else "false"]
    command = [sys.executable, "-c", VARIANTS[variant], *options]
    log = tempfile.TemporaryFile()
    proc = subprocess.Popen(command, cwd=ROOT, env={**os.environ, "JUNHENG_DATA_DIR": str(data_dir)},
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://localhost:{port}"
    for _ in range(600):
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2):
                return proc, url
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("the launcher did not start")


def deflated_size(messages: list[bytes]) -> int:
    """The payloads as permessage-deflate sends them: one raw deflate stream, each message sync-flushed and its
    last four bytes (00 00 ff ff) dropped."""
    packer = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -12)
    return sum(len(packer.compress(m) + packer.flush(zlib.Z_SYNC_FLUSH)) - 4 for m in messages)


MAP_PARTS = ("/_junheng/map/", "map_component.county_map", "/vendor/leaflet/")  # the county map's own requests


def first_load(browser, url: str, change_year: bool = False) -> dict:
    from playwright.sync_api import Error as PlaywrightError
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    cdp = context.new_cdp_session(page)
    cdp.send("Network.enable")
    http, frames, urls, large, map_http = [], [], {}, [], []
    cdp.on("Network.responseReceived", lambda e: urls.__setitem__(e["requestId"], e["response"]["url"]))

    def finished(e):
        http.append(e["encodedDataLength"])
        if any(part in urls.get(e["requestId"], "") for part in MAP_PARTS):
            map_http.append(e["encodedDataLength"])
        if e["encodedDataLength"] > 16_000 and e["requestId"] in urls:
            large.append(urls[e["requestId"]])
    cdp.on("Network.loadingFinished", finished)
    cdp.on("Network.webSocketFrameReceived", lambda e: frames.append(
        base64.b64decode(e["response"]["payloadData"]) if e["response"]["opcode"] == 2
        else e["response"]["payloadData"].encode()))
    page.goto(url)
    wait_for_page(page, timeout_ms=120_000)
    page.wait_for_timeout(1000)
    row = {"http": sum(http), "requests": len(http), "ws_plain": sum(len(f) for f in frames),
           "ws_deflated": deflated_size(frames), "large": large, "map_http": sum(map_http)}
    if change_year:  # then the year before in the sidebar: what a year change moves
        first_frames, first_http = len(frames), len(http)
        box = page.locator('[data-testid="stSelectbox"]').filter(has=page.get_by_text("统计年度", exact=True)).first
        runs = script_runs(page)
        try:
            box.click(timeout=90_000)
            page.get_by_role("option").nth(1).click(timeout=90_000)
            wait_for_page(page, timeout_ms=120_000, after_runs=runs)
        except PlaywrightError as error:  # reported, and the first load's numbers still printed
            print(f"year change not measured: {str(error).splitlines()[0]}", flush=True)
            context.close()
            return row
        page.wait_for_timeout(1500)
        # the deflate stream goes on from the first load's messages (context takeover): the change's share of it
        row["change_ws"] = deflated_size(frames) - deflated_size(frames[:first_frames])
        row["change_ws_plain"] = sum(len(f) for f in frames[first_frames:])
        row["change_http"] = sum(http[first_http:])
    context.close()
    return row


def wait_for_brotli(urls: set[str], timeout_s: float = 900) -> None:
    """Ask for each URL with br until it comes Brotli-encoded (made in the server's background thread)."""
    waiting, deadline = set(urls), time.monotonic() + timeout_s
    while waiting and time.monotonic() < deadline:
        for url in sorted(waiting):
            request = urllib.request.Request(url, headers={"Accept-Encoding": "br, gzip"})
            try:
                with urllib.request.urlopen(request, timeout=60) as reply:
                    encoding = reply.headers.get("Content-Encoding")
            except OSError:
                encoding = None
            if encoding in ("br", None):  # Brotli now, or a reply the middleware leaves alone (fonts, images)
                waiting.discard(url)
        if waiting:
            time.sleep(2)
    if waiting:
        print(f"still gzip after {timeout_s:.0f} s: {sorted(waiting)}", flush=True)


def main(data_dir: str, paths: list[str]) -> None:
    from playwright import sync_api as playwright
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        # FIRST_LOAD_VARIANTS=gzip+deflate,br+gzip+deflate measures only those
        chosen = [v for v in os.environ.get("FIRST_LOAD_VARIANTS", ",".join(VARIANTS)).split(",") if v in VARIANTS]
        for variant in chosen:
            proc, url = _server(Path(data_dir), variant)
            try:
                # the server's own first pages (warm-up, stored maps, the Brotli bodies) are not measured
                seen = [first_load(browser, f"{url}/{path}") for path in ["", *paths]]
                if variant.startswith("br"):
                    # the middleware's own: Streamlit's bundles (Streamlit gzips the rest itself, at level 9)
                    wait_for_brotli({u for row in seen for u in row["large"] if u.startswith(f"{url}/static/")})
                for path in paths:
                    row = first_load(browser, f"{url}/{path}", change_year=variant != "plain")
                    ws = row["ws_deflated"] if variant != "plain" else row["ws_plain"]
                    print(f"{variant:15} /{path:28} http {row['http']:>10,} B "
                          f"({row['requests']} responses)  websocket {ws:>9,} B  total {row['http'] + ws:>10,} B"
                          f"  (the county map's requests {row['map_http']:,} B)", flush=True)
                    if "change_ws" in row:
                        print(f"{'':15} /{path:28} year change: websocket {row['change_ws']:,} B deflated "
                              f"({row['change_ws_plain']:,} B plain), http {row['change_http']:,} B", flush=True)
            finally:
                proc.terminate()
                proc.wait(20)
        browser.close()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:] or ["", "pinggu", "biaozhun", "?county=370724"])

"""Page timings in headless Chromium, as a user waits: the script finished and every chart and map drawn.

For each page at county and national scope, the median of a few rounds of:
- fresh: the page's link opened anew (a new Streamlit session), from navigation start;
- navigation: a click on the page's link in the sidebar, coming from another page of the same session;
- year: another year picked in the sidebar;
- filter: another value in the page's own filter (PAGE_FILTERS).
Also the first page of a freshly started server (from process start), the map bytes sent, and server memory.
"""
from __future__ import annotations

import os
import statistics
import threading
import time
from pathlib import Path

import psutil

from junheng.tools.browser import (
    CHROMIUM,
    CHROMIUM_ARGS,
    change_widget,
    dismiss_page_not_found,
    frame_pages,
    script_runs,
    streamlit_server,
    wait_for_page,
)

COUNTY = "370724"
SCOPES = {"county": f"?county={COUNTY}", "national": ""}
# The filter a user changes on each page (a widget key).
# A page without its own filter at a scope (the evaluation page's national region view has none) has the
# sidebar's province changed instead: the second key (the report says so).
PAGE_FILTERS = {"overview": "overview_metric", "evaluation": ("evaluation_view", "province"), "gaps": "gaps_indicator",
                "left_behind": "left_behind_by", "standardization": "class_profile",
                "cohort": "cohort_where_facet_urban_rural"}
# The cohort page's condition change (issue 14: ≤ 1.5 s p95): one more 城乡 facet value per click, this many
# clicks a round, so the p95 rests on more than three samples.
CONDITION_CLICKS = 3
KINDS = ("fresh", "navigation", "year", "filter")
RUN_START_MS = 15_000  # an action's script run starts well within this (else the click did not take)
MAP_MARKERS = (b"L.map(", b"leaflet")  # a websocket message that carries a Folium map
VIEWPORT = {"width": 1400, "height": 1000}


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


def rendered_map_bytes(data_dir: Path, region: str) -> int:
    """Bytes of the overview county map document for a region, built as the page builds it.

    Chromium's DevTools do not report websocket frames of a megabyte or more, so the national map's
    size is taken from the Folium document the page sends (the component carries it whole).
    """
    from junheng.data import boundaries, db
    from junheng.data.scope import EVERYTHING
    from junheng.figures import maps
    from junheng.rules import overview
    con = db.connect(data_dir)
    totals = db.run(con, "county_totals", EVERYTHING, years=[2024], region=region)
    geometry = boundaries.read(data_dir, "county_coarse" if totals.height > boundaries.COARSE_ABOVE else "county")
    data = overview.county_map_data(geometry, totals, "schools", "zh")
    fmap = maps.county_choropleth_map(data, "value", "value_text", {"name": "县", "metric": "学校数", "no_data": "无"})
    return len(fmap.get_root().render().encode())


class MemorySampler:
    """The server's resident memory (process and children), sampled twice a second in a thread: peak and last."""

    def __init__(self, process: psutil.Process | None, every: float = 0.5):
        self.process, self.every, self.peak = process, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        if self.process is None:
            return 0
        try:
            return sum(p.memory_info().rss for p in [self.process, *self.process.children(recursive=True)])
        except psutil.Error:
            return 0

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            self.peak = max(self.peak, self.rss())

    def __enter__(self) -> MemorySampler:
        self.peak = self.rss()
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def server_process(url: str) -> psutil.Process | None:
    """The process listening on the URL's port (the Streamlit server), if it is on this machine."""
    port = int(url.rstrip("/").rsplit(":", 1)[1])
    for conn in psutil.net_connections(kind="tcp"):
        if conn.laddr and conn.laddr.port == port and conn.status == psutil.CONN_LISTEN and conn.pid:
            return psutil.Process(conn.pid)
    return None


def _nav_link(page, url: str, path: str):
    return page.locator(f'[data-testid="stSidebarNav"] a[href="{url}/{path}"]')


def filter_key(page, name: str, used: set[str]) -> str:
    """The key of the filter to change on this page: its own, or where it has none here, the fallback."""
    keys = PAGE_FILTERS[name] if isinstance(PAGE_FILTERS[name], tuple) else (PAGE_FILTERS[name],)
    key = next((k for k in keys if page.locator(f".st-key-{k}").count()), keys[0])
    used.add(key)
    return key


def _errors_shown(page) -> int:
    return page.locator('[data-testid="stException"]').count()


def _after(page, action, timeout_ms: int) -> float:
    """Seconds from an action in the open page until the rerun it causes is finished and drawn.

    The action may return the time of its committing click (change_widget does); else its start counts."""
    runs = script_runs(page)
    start = time.perf_counter()
    start = action() or start
    try:  # a click that did not take starts no run: say so instead of waiting out the whole timeout
        page.wait_for_function("(n) => (window.__junhengRuns || 0) > n", arg=runs,
                               timeout=min(RUN_START_MS, timeout_ms), polling=50)
    except Exception as e:
        raise LookupError(f"no script run started within {RUN_START_MS / 1000:g} s of the action "
                          f"({type(e).__name__})") from e
    return wait_for_page(page, timeout_ms, after_runs=runs) - start


def first_page_after_start(browser, data_dir: Path, query: str = "", timeout_ms: int = 300_000) -> float:
    """Seconds from starting a server process until its first page (the national overview) is drawn."""
    page = browser.new_page(viewport=VIEWPORT)
    try:
        start = time.perf_counter()
        with streamlit_server(Path(data_dir)) as url:
            page.goto(f"{url}/{query}")
            return wait_for_page(page, timeout_ms) - start
    finally:
        page.close()


def _measure(name: str, scope: str, fn, samples: dict, log) -> None:
    try:
        seconds = fn()
    except Exception as e:  # a timeout or a widget that is not there: say so, keep going
        log(f"page {name} {scope}: {type(e).__name__}: {str(e).splitlines()[0][:160]}")
        return
    samples.append(round(seconds * 1000))


def _median(values: list[int]) -> int | None:
    return round(statistics.median(values)) if values else None


def _p95(values: list[int]) -> int | None:
    import numpy as np
    return round(float(np.percentile(values, 95))) if values else None


def run(data_dir: Path, log=print, rounds: int = 3, pages: list[str] | None = None,
        scopes: tuple[str, ...] = ("county", "national"), timeout_ms: int = 300_000) -> dict:
    """Time every page (or the named ones) at each scope; median of `rounds` for each kind of wait."""
    from playwright.sync_api import sync_playwright
    data_dir = Path(data_dir)
    paths = {name: path for name, path in frame_pages().items()
             if name not in ("data", "accounts") and (not pages or name in pages)}
    rows = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        first = []
        for _ in range(rounds):
            _measure("first page", "national", lambda: first_page_after_start(browser, data_dir, "", timeout_ms),
                     first, log)
            log(f"fresh server, first page drawn after {first[-1] if first else '—'} ms")
        with streamlit_server(data_dir) as url, MemorySampler(server_process(url)) as memory:
            page = browser.new_page(viewport=VIEWPORT)
            map_sizes = _watch_maps(page)
            for scope in scopes:
                query = SCOPES[scope]
                samples = {name: {kind: [] for kind in KINDS} for name in paths}
                errors = {name: 0 for name in paths}
                not_found = {name: 0 for name in paths}
                map_bytes = {}
                filter_keys: dict[str, set[str]] = {}
                for _ in range(rounds):
                    for name, path in paths.items():
                        got = samples[name]
                        map_sizes.clear()

                        def fresh() -> float:
                            start = time.perf_counter()
                            page.goto(f"{url}/{path}{query}")  # noqa: B023 - _measure calls it now, in this iteration
                            return wait_for_page(page, timeout_ms) - start

                        _measure(name, scope, fresh, got["fresh"], log)
                        not_found[name] += dismiss_page_not_found(page)
                        map_bytes.setdefault(name, sum(map_sizes))
                        _measure(name, scope, lambda: _after(page, lambda: change_widget(page, "year"), timeout_ms),
                                 got["year"], log)
                        used = filter_keys.setdefault(name, set())
                        for _ in range(CONDITION_CLICKS if name == "cohort" else 1 if PAGE_FILTERS.get(name) else 0):
                            _measure(name, scope, lambda: _after(page, lambda: change_widget(
                                page, filter_key(page, name, used)), timeout_ms),  # noqa: B023 - called now
                                got["filter"], log)
                        errors[name] += _errors_shown(page)
                    for name, path in paths.items():  # navigation: from the page before it, in the same session
                        if page.url.split("?")[0].rstrip("/") == f"{url}/{path}".rstrip("/"):  # one page only
                            _after(page, _nav_link(page, url, "" if path else paths.get("gaps", "chengxiang")).click,
                                   timeout_ms)
                        target = _nav_link(page, url, path)
                        _measure(name, scope, lambda: _after(page, target.click, timeout_ms),  # noqa: B023 - called now
                                 samples[name]["navigation"], log)
                        errors[name] += _errors_shown(page)
                for name in paths:
                    row = {"page": name, "scope": scope, **{f"{k}_ms": _median(samples[name][k]) for k in KINDS},
                           "filter_p95_ms": _p95(samples[name]["filter"]),
                           "filter_keys": sorted(filter_keys.get(name, ())), "samples": samples[name],
                           "map_bytes": map_bytes.get(name, 0), "errors": errors[name],
                           "page_not_found": not_found[name], "load_average": round(os.getloadavg()[0], 2)}
                    if name == "overview":
                        row["map_bytes"] = max(row["map_bytes"], rendered_map_bytes(
                            data_dir, COUNTY[:4] if scope == "county" else ""))
                    rows.append(row)
                    log(f"page {name:16} {scope:8} " + "  ".join(
                        f"{k} {row[k + '_ms'] if row[k + '_ms'] is not None else '—':>6} ms" for k in KINDS)
                        + f"  maps {row['map_bytes'] / 1e6:6.3f} MB  errors {row['errors']}")
            rss = memory.rss()
        browser.close()
    return {"pages": rows, "first_page_ms": _median(first), "first_page_samples": first,
            "server_rss_mb": round(rss / 2**20, 1), "server_peak_rss_mb": round(memory.peak / 2**20, 1),
            "page_rounds": rounds}


def report_lines(result: dict) -> list[str]:
    """The pages section of docs/benchmarks.md."""
    if not result.get("pages"):
        return []
    lines = ["", f"## Pages (headless Chromium, median of {result.get('page_rounds', 3)}, ms until the script has "
             "finished and every chart and map is drawn, stable for 300 ms)", "",
             "fresh: the page's link opened anew (new session); navigation: its sidebar link clicked from another "
             "page; year: another year picked; filter: the page's own filter changed "
             f"({', '.join(f'`{k}`' for k in PAGE_FILTERS.values() if isinstance(k, str))}, "
             "`evaluation_view` where the evaluation page shows it, else the sidebar's `province`).", "",
             "load: the machine's 1-minute load average when the rounds of that scope ended (2 shared cores: above 2, "
             "other work was competing for them).", "",
             "| page | scope | fresh | navigation | year | filter | map bytes | errors | load |",
             "|---|---|---:|---:|---:|---:|---:|---:|---:|"]
    for p in result["pages"]:
        cells = [("—" if p.get(f"{k}_ms") is None else f"{p[f'{k}_ms']:,}") for k in KINDS]
        fallback = " (filter: province)" if p.get("filter_keys") == ["province"] else ""
        lines.append(f"| {p['page']} | {p['scope']}{fallback} | {' | '.join(cells)} | {p['map_bytes'] or 0:,} | "
                     f"{p.get('errors', 0)} | {p.get('load_average', '')} |")
    for p in result["pages"]:
        if p["page"] == "cohort" and p.get("filter_p95_ms") is not None:
            lines += ["", f"Cohort page, {p['scope']} scope: a condition change (one more 城乡 facet value clicked, "
                      f"{len(p['samples']['filter'])} changes) redraws in {p['filter_ms']:,} ms median, "
                      f"{p['filter_p95_ms']:,} ms p95."]
    if result.get("first_page_ms") is not None:
        lines += ["", f"A freshly started server draws its first page (the national overview) "
                  f"{result['first_page_ms']:,} ms after the process starts (runs: "
                  f"{', '.join(f'{x:,}' for x in result.get('first_page_samples', []))} ms)."]
    if result.get("server_rss_mb"):
        lines += ["", f"Server memory (process and children): {result['server_rss_mb']:,} MB after the pass, "
                  f"{result.get('server_peak_rss_mb', 0):,} MB at its peak."]
    return lines


def target_checks(result: dict, targets: dict) -> list[tuple[str, str, bool]]:
    """(target, reached, met) for the page targets: the slowest page per scope, navigation and filter change."""
    checks = []
    for scope, key in (("county", "county_page_ms"), ("national", "national_page_ms")):
        for kind in ("navigation", "year", "filter"):
            rows = [(p[f"{kind}_ms"], p["page"]) for p in result.get("pages", [])
                    if p["scope"] == scope and p.get(f"{kind}_ms") is not None]
            if rows:
                worst, name = max(rows)
                checks.append((f"every page ≤ {targets[key]:,} ms at {scope} scope, {kind} (slowest: {name})",
                               f"{worst:,} ms", worst <= targets[key]))
    cohort = [p for p in result.get("pages", []) if p["page"] == "cohort" and p["scope"] == "national"
              and p.get("filter_p95_ms") is not None]
    if cohort:
        p = cohort[0]
        checks.append((f"cohort page redrawn after a condition change ≤ {targets['cohort_condition_p95_ms']:,} ms p95, "
                       f"national ({len(p['samples']['filter'])} changes)", f"{p['filter_p95_ms']:,} ms",
                       p["filter_p95_ms"] <= targets["cohort_condition_p95_ms"]))
    if result.get("first_page_ms") is not None:
        checks.append((f"fresh server's first page ≤ {targets['first_page_ms']:,} ms after start",
                       f"{result['first_page_ms']:,} ms", result["first_page_ms"] <= targets["first_page_ms"]))
    return checks

"""Page timings in headless Chromium, as a user waits: the script finished and every chart and map drawn.

For each page at county and national scope, the median of a few rounds of:
- fresh: the page's link opened anew (a new Streamlit session), from navigation start;
- navigation: a click on the page's link in the sidebar, coming from another page of the same session;
- year: another year picked in the sidebar;
- filter: another value in the page's own filter (PAGE_FILTERS).
Also the first page of a freshly started server (from process start), the map bytes sent, and server memory.
"""
from __future__ import annotations

import json
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
    login,
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


# --- issue 25: bytes on the wire, the first visit after an import, the browser's drawing of the small multiples ---

class WireCounter:
    """A TCP relay in front of the app server counting the bytes each way, as they cross the wire (compressed
    HTTP bodies, permessage-deflate websocket frames, headers): the browser talks to `url`, the relay to the app.
    DevTools cannot give this: it reports websocket payloads inflated, and none of a megabyte or more."""

    def __init__(self, target_url: str):
        import socket
        self.target = ("127.0.0.1", int(target_url.rstrip("/").rsplit(":", 1)[1]))
        self.down = self.up = 0
        self._lock = threading.Lock()
        self._server = socket.socket()
        self._server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.url = f"http://localhost:{self._server.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        import socket
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:
                return
            try:
                upstream = socket.create_connection(self.target)
            except OSError:
                client.close()
                continue
            threading.Thread(target=self._pump, args=(client, upstream, "up"), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, "down"), daemon=True).start()

    def _pump(self, source, sink, way: str) -> None:
        import socket
        try:
            while data := source.recv(65536):
                with self._lock:
                    setattr(self, way, getattr(self, way) + len(data))
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def reset(self) -> None:
        with self._lock:
            self.down = self.up = 0

    def close(self) -> None:
        self._server.close()


WIRE_PAGES = ("overview", "evaluation", "gaps", "left_behind", "standardization")
QUIET_MS = 1500  # after a page is drawn: the bytes that follow (maps' tiles, late fonts) within this are counted


def wire_bytes(browser, url: str, log=print, pages=WIRE_PAGES, scopes=("county", "national"),
               timeout_ms: int = 300_000) -> list[dict]:
    """Per page and scope: the bytes the server sent (on the wire, compressed) for a first load in a new browser
    (empty cache: every bundle, style and font) and then for another year picked in the sidebar."""
    relay = WireCounter(url)
    paths = frame_pages()
    rows = []
    try:
        for scope in scopes:
            for name in pages:
                context = browser.new_context(viewport=VIEWPORT)
                page = context.new_page()
                try:
                    relay.reset()
                    page.goto(f"{relay.url}/{paths[name]}{SCOPES[scope]}")
                    wait_for_page(page, timeout_ms)
                    page.wait_for_timeout(QUIET_MS)
                    first = relay.down
                    relay.reset()
                    _after(page, lambda: change_widget(page, "year"), timeout_ms)  # noqa: B023 - called now
                    page.wait_for_timeout(QUIET_MS)
                    year = relay.down
                    rows.append({"page": name, "scope": scope, "first_load_bytes": first, "year_change_bytes": year,
                                 "load_average": round(os.getloadavg()[0], 2)})
                    log(f"wire {name:16} {scope:8} first load {first / 1e6:6.2f} MB  year change "
                        f"{year / 1e3:8.1f} KB")
                except Exception as e:  # a timeout: say so, keep going
                    log(f"wire {name} {scope}: {type(e).__name__}: {str(e).splitlines()[0][:160]}")
                finally:
                    context.close()
    finally:
        relay.close()
    return rows


AFTER_IMPORT_COUNTY = COUNTY
# (label, page, extra query, language): the views of issue 25's first-visit target, each the first visit after
# its own import; then the same view in a new English session.
AFTER_IMPORT_VIEWS = (("evaluation · 县域评估", "evaluation", "", "zh"),
                      ("evaluation · 整改清单", "evaluation", "&evaluation_view=tab_rectification", "zh"),
                      ("evaluation · 达标方案", "evaluation", "&evaluation_view=tab_plan", "zh"),
                      ("overview", "overview", "", "zh"),
                      ("standardization", "standardization", "", "zh"))
ENGLISH_VIEWS = (("evaluation · 县域评估", "evaluation", "", "en"),
                 ("evaluation · 达标方案", "evaluation", "&evaluation_view=tab_plan", "en"))

_SCRIPT_DONE = """() => {
  const app = document.querySelector('[data-testid="stApp"]');
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  return !!app && app.getAttribute('data-test-script-state') === 'notRunning' && !!main
    && main.querySelectorAll('[data-testid="stElementContainer"]').length > 3;
}"""


def _county_file(data_dir: Path, county: str, year: int, nudge: int, out: Path) -> Path:
    """The county's rows of year as a bureau exports them (Chinese headers, 是/否, no year column), one school's
    books raised by nudge so that the import is new data: a CSV at out."""
    import polars as pl

    from junheng.data import dictionary, store
    rows = pl.read_parquet(store.current_path(data_dir, year)).filter(pl.col("county_code") == county)
    rows = rows.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(pl.col("books") + nudge)
                             .otherwise(pl.col("books")).alias("books"))
    table = rows.drop("year").with_columns(
        pl.col(pl.Boolean).replace_strict({True: "是", False: "否"}, return_dtype=pl.String)
    ).rename({c.name: c.zh for c in dictionary.columns()}, strict=False)
    out.write_bytes(table.write_csv().encode("utf-8"))
    return out


def _cpu(process: psutil.Process | None) -> float:
    if process is None:
        return 0.0
    times = process.cpu_times()
    return times.user + times.system


def _visit(context, url: str, path: str, query: str, timeout_ms: int,
           process: psutil.Process | None = None) -> tuple[int, int, int]:
    """(ms until the server's script run is finished as the browser sees it, ms until every chart and map is
    drawn, ms of processor time the server process spent meanwhile) for a first visit in a new session (a new page
    of the signed-in browser context). The processor time is the server's work, whatever else the machine runs:
    on a busy shared machine the waits grow with the load, it hardly does."""
    page = context.new_page()
    try:
        cpu = _cpu(process)
        start = time.perf_counter()
        page.goto(f"{url}/{path}{query}")
        page.wait_for_function(_SCRIPT_DONE, timeout=timeout_ms, polling=20)
        done = time.perf_counter() - start
        cpu = _cpu(process) - cpu
        drawn = wait_for_page(page, timeout_ms) - start
        return round(done * 1000), round(drawn * 1000), round(cpu * 1000)
    finally:
        page.close()


BENCH_ACCOUNT = "bench_viewer"


def _bench_account(data_dir: Path, county: str) -> str:
    """A viewer of the county (imported data are not shown to guests), with a new random password each run;
    returns the password. Disabled again after the run (_bench_account_off)."""
    import secrets

    from junheng.access import accounts
    from junheng.commands import accounts as account_commands
    password = secrets.token_urlsafe(18)
    try:
        account_commands.add(data_dir, accounts.SYSTEM, BENCH_ACCOUNT, "viewer", county, password)
    except accounts.AccountError as e:
        if e.key != "account_exists":
            raise
        account_commands.set_password(data_dir, accounts.SYSTEM, BENCH_ACCOUNT, password)
        account_commands.set_disabled(data_dir, accounts.SYSTEM, BENCH_ACCOUNT, False)
    return password


def _bench_account_off(data_dir: Path) -> None:
    from junheng.access import accounts
    from junheng.commands import accounts as account_commands
    account_commands.set_disabled(data_dir, accounts.SYSTEM, BENCH_ACCOUNT, True)


def after_import(browser, data_dir: Path, log=print, county: str = AFTER_IMPORT_COUNTY,
                 timeout_ms: int = 300_000) -> dict:
    """The first visit of each view after an import of the county's latest year (a CLI import: its write hook
    computes the touched county-year's plans, timed here too), in a new session; the English session after it.
    Every import is rolled back at the end (the data directory's current data are as before)."""
    import tempfile

    from junheng.access.accounts import SYSTEM
    from junheng.commands import data as data_commands
    from junheng.data import db, precompute
    from junheng.data.scope import EVERYTHING
    data_dir = Path(data_dir)
    year = max(db.run(db.connect(data_dir), "snapshot_years", EVERYTHING)["year"].to_list())
    paths = frame_pages()
    rows, versions = [], []
    password = _bench_account(data_dir, county)
    with tempfile.TemporaryDirectory(prefix="junheng-bench-after-import-") as tmp, \
            streamlit_server(data_dir) as url:
        context = browser.new_context(viewport=VIEWPORT)
        login(context.new_page(), url, BENCH_ACCOUNT, password)  # before the imports: the server started, warmed
        process = server_process(url)
        try:
            for n, (label, name, extra, lang) in enumerate(AFTER_IMPORT_VIEWS + ENGLISH_VIEWS):
                if lang == "zh":  # each Chinese view: the first visit after its own import
                    file = _county_file(data_dir, county, year, n + 1, Path(tmp) / f"{county}_{n}.csv")
                    started = time.perf_counter()
                    report, version = data_commands.import_file(data_dir, SYSTEM, "school", file, year, "zh")
                    written = time.perf_counter() - started
                    precompute.wait()
                    computed = time.perf_counter() - started - written
                    if not version:
                        raise RuntimeError(f"the bench's import was refused: {report.text('en')[:300]}")
                    versions.append(version)
                else:
                    written = computed = None
                query = f"?county={county}&year={year}{extra}" + ("&lang=en" if lang == "en" else "")
                done, drawn, cpu = _visit(context, url, paths[name], query, timeout_ms, process)
                rows.append({"view": label, "lang": lang, "script_ms": done, "drawn_ms": drawn, "server_cpu_ms": cpu,
                             "import_s": None if written is None else round(written, 2),
                             "precompute_s": None if computed is None else round(computed, 2),
                             "load_average": round(os.getloadavg()[0], 2)})
                log(f"after import {label:22} {lang}  server CPU {cpu:6,} ms  script {done:6,} ms  drawn {drawn:6,} ms"
                    + (f"  (import {written:.1f} s, plans {computed:.1f} s)" if written is not None else ""))
        finally:
            for version in reversed(versions):  # back to the data before the bench's imports
                try:
                    data_commands.rollback(data_dir, SYSTEM, "school", year, version, "zh")
                except Exception as e:  # noqa: BLE001 — say so; the data directory keeps the bench's versions
                    log(f"rollback of {version} failed: {type(e).__name__}: {e}")
            context.close()
            _bench_account_off(data_dir)
    return {"county": county, "year": year, "views": rows}


def multiples_figures(data_dir: Path, region: str = "") -> dict:
    """The 标准化建设 page's two small multiples at a region (default: national), built both ways: as one plot
    (charts.small_multiples_chart, what the page draws) and as one subplot per county (small_multiples_grid,
    what it drew before)."""
    from junheng import settings
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    from junheng.figures import charts
    from junheng.i18n import t
    from junheng.rules import standardization as std
    rules = settings.load_thresholds()
    con = db.connect(Path(data_dir), rules)
    years = db.run(con, "snapshot_years", EVERYTHING)["year"].to_list()
    totals = db.run(con, "county_totals", EVERYTHING, years=years, region=region)
    caps = db.run(con, "class_size_caps", EVERYTHING, years=years, region=region,
                  primary_max=rules["targets"]["primary_class_max"], junior_max=rules["targets"]["junior_class_max"])
    names = dict(db.run(con, "counties_with_data", EVERYTHING).select("county_code", "county_name").iter_rows())
    progress = std.progress(totals, caps)
    profile = next(iter(std.class_profiles(rules)))
    targets = std.milestones(rules, profile, "zh")
    out = {}
    for key, columns, goal, worse in (
            ("std_multiples", {"public_standardized_share": t("public_standardized_share", "zh")}, "standardized",
             False),
            ("class_multiples", {"share_56_plus": t("share_56_plus", "zh"), "share_66_plus": t("share_66_plus", "zh")},
             "classes", True)):
        args = (progress, columns, names, key, "zh", targets[goal])
        out[key] = {"one plot": charts.small_multiples_chart(*args, higher_is_worse=worse),
                    "subplots": charts.small_multiples_grid(*args, higher_is_worse=worse)}
    # 均衡评估's CV trends of 370724 (or the first county): one plot of both levels, and the figure per level before
    import polars as pl

    from junheng.rules import evaluation
    county = "370724" if "370724" in names else next(iter(sorted(names)), "")
    history = db.run(con, "school_history", EVERYTHING, region=county)
    if history.height:
        trend = evaluation.cv_trend(evaluation.level_values(history, rules), rules)
        levels = [lv for lv in ("primary", "junior") if trend.filter(pl.col("level") == lv).height]
        for shown in ("basic", "quality"):
            out[f"cv_trends_{shown}"] = {"one plot": charts.cv_trends_chart(trend, shown, levels, "zh"),
                                         "subplots": [charts.cv_trend_chart(trend, shown, lv, "zh") for lv in levels]}
    return out


_DRAW = """async (fig) => {
  const div = document.createElement('div');
  div.style.width = '1200px';
  document.body.appendChild(div);
  const start = performance.now();
  await Plotly.newPlot(div, fig.data, fig.layout);
  await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));
  const ms = performance.now() - start;
  const traces = div._fullData.length, axes = Object.keys(div._fullLayout).filter(k => /^[xy]axis/.test(k)).length;
  const nodes = div.querySelectorAll('*').length;
  Plotly.purge(div);
  div.remove();
  return [ms, traces, axes, nodes];
}"""


def chart_draw_times(browser, data_dir: Path, rounds: int = 5, log=print) -> list[dict]:
    """Milliseconds the browser takes to draw each small multiples figure both ways (Plotly.newPlot until two
    frames later), median of rounds, in one browser page with plotly.js: the basic bundle the pages draw with
    (static/vendor/plotly, views/present.py chart), or the Python package's whole copy before `make vendor`."""
    import statistics
    from importlib.util import find_spec

    import plotly.io as pio
    bundle = Path(__file__).resolve().parents[2] / "static" / "vendor" / "plotly" / "plotly-basic.min.js"
    if not bundle.exists():
        bundle = Path(find_spec("plotly").origin).parent / "package_data" / "plotly.min.js"
    figures = multiples_figures(data_dir)
    page = browser.new_page(viewport=VIEWPORT)
    rows = []
    try:
        page.set_content("<html><body></body></html>")
        page.add_script_tag(path=str(bundle))
        page.evaluate(_DRAW, json.loads(pio.to_json(next(iter(figures.values()))["one plot"])))  # Plotly's first-use
        for key, ways in figures.items():
            for way, fig in ways.items():
                figs = fig if isinstance(fig, list) else [fig]  # several figures: the page drew each (summed)
                specs = [json.loads(pio.to_json(f)) for f in figs]
                samples = [[sum(x) for x in zip(*(page.evaluate(_DRAW, spec) for spec in specs))]
                           for _ in range(rounds)]
                ms = statistics.median(s[0] for s in samples)
                _, traces, axes, nodes = samples[-1]
                rows.append({"figure": key, "way": way, "draw_ms": round(ms), "traces": traces, "axes": axes,
                             "svg_nodes": nodes, "json_bytes": sum(len(pio.to_json(f)) for f in figs),
                             "load_average": round(os.getloadavg()[0], 2)})
                log(f"chart {key:16} {way:9} {ms:8.0f} ms  traces {traces:4}  axes {axes:3}  nodes {nodes:6,}")
    finally:
        page.close()
    return rows

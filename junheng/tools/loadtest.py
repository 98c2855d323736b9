"""`junheng loadtest`: N concurrent Streamlit sessions over the websocket protocol, no browser per user.

Each session speaks Streamlit's own protocol on /_stcore/stream: it sends BackMsg.rerun_script (a ClientState
with the page's script hash, the query string and widget states) and reads ForwardMsgs until script_finished.
It opens the first page, learns the page hashes from the app's navigation message, then on every page:
navigates to it, and changes each widget named in `widgets` that the page shows (another option), as a
user picks another year or filter. Reported per N: script time from rerun request to script_finished
(p50, p95, max), errors (exception elements, compile errors, runs that did not finish), and server memory.
"""
from __future__ import annotations

import asyncio
import random
import statistics
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ButtonGroup_pb2 import ButtonGroup
from streamlit.proto.Checkbox_pb2 import Checkbox
from streamlit.proto.ClientState_pb2 import ClientState
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.MultiSelect_pb2 import MultiSelect
from streamlit.proto.WidgetStates_pb2 import WidgetState

# The widgets changed on each page that shows them: the sidebar year, then each page's own filter.
DEFAULT_WIDGETS = ("year", "overview_metric", "evaluation_view", "gaps_indicator", "left_behind_by",
                   "class_profile")
SKIPPED_PAGES = ("shuju", "zhanghu")  # data and account management are not read views (administrators only)
# Widgets whose values the session keeps and sends back, as the browser's widget manager does; a page
# transition drops the server-side state of any widget the browser does not send.
WIDGETS = ("selectbox", "radio", "button_group", "checkbox", "multiselect")
FINISHED = {ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_WITH_COMPILE_ERROR}
STOPPED = FINISHED | {ForwardMsg.FINISHED_EARLY_FOR_RERUN}


@dataclass
class Run:
    """One script run: which page, what caused it, how long until script_finished, what went wrong."""
    sessions: int
    session: int
    page: str
    kind: str  # fresh, navigation, or the key of the widget changed
    seconds: float | None = None
    errors: list[str] = field(default_factory=list)
    page_not_found: bool = False


def stream_url(url: str) -> str:
    """The websocket address of a Streamlit app's session stream."""
    parsed = urlparse(url)
    scheme = "wss" if parsed.scheme == "https" else "ws"
    return f"{scheme}://{parsed.netloc}{parsed.path.rstrip('/')}/_stcore/stream"


class Session:
    """One browser-less user: a websocket, the widgets the last run showed, the values this user has set."""

    def __init__(self, url: str, query: str = "", timeout: float = 120.0):
        self.url, self.query, self.timeout = url, query.lstrip("?"), timeout
        self.pages: dict[str, str] = {}  # url path -> page script hash, from the navigation message
        self.page_hash = ""
        self.widgets: dict[str, object] = {}  # widget id -> its element proto, as the last run sent it
        self.values: dict[str, WidgetState] = {}
        self.ws = None
        self.broken = False

    async def __aenter__(self) -> Session:
        from websockets.asyncio.client import connect
        from websockets.typing import Subprotocol
        # The subprotocol header carries ("streamlit", xsrf token, session id); a new session needs only the first.
        self.ws = await connect(stream_url(self.url), subprotocols=[Subprotocol("streamlit")], max_size=None,
                                open_timeout=self.timeout, ping_interval=None)
        return self

    async def __aexit__(self, *exc) -> None:
        await self.ws.close()

    async def rerun(self, run: Run, page_name: str = "", page_hash: str | None = None) -> Run:
        """Ask for a run as the browser does and read the stream until it has finished; fill in run."""
        state = ClientState(query_string=self.query,
                            page_script_hash=self.page_hash if page_hash is None else page_hash, page_name=page_name)
        state.widget_states.widgets.extend(self.values.values())
        state.context_info.timezone = "Asia/Shanghai"
        state.context_info.locale = "zh-CN"
        state.context_info.url = f"{self.url.rstrip('/')}/{page_name}"
        start = time.perf_counter()
        await self.ws.send(BackMsg(rerun_script=state).SerializeToString())
        try:
            await asyncio.wait_for(self._until_finished(run), self.timeout)
            run.seconds = time.perf_counter() - start
        except TimeoutError:
            run.errors.append(f"no script_finished within {self.timeout:.0f} s")
            # Stop it as the browser's Stop button does, so the visit can go on; a script stops at its next
            # Streamlit call, so give it a while. If it will not stop, this visit ends here.
            await self.ws.send(BackMsg(stop_script=True).SerializeToString())
            try:
                await asyncio.wait_for(self._until_finished(Run(run.sessions, run.session, run.page, "stop"),
                                                            STOPPED), max(self.timeout, 60))
            except TimeoutError:
                self.broken = True
                run.errors.append("the run did not stop either: the visit ends")
        return run

    async def _until_finished(self, run: Run, finished=None) -> None:
        finished = FINISHED if finished is None else finished
        full_run = True
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(await self.ws.recv())
            kind = msg.WhichOneof("type")
            if kind == "new_session":
                full_run = not msg.metadata.run.fragment_ids
                if full_run:
                    self.widgets = {}
            elif kind == "navigation":
                self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
                self.page_hash = msg.navigation.page_script_hash
            elif kind == "page_info_changed":
                self.query = msg.page_info_changed.query_string
            elif kind == "page_not_found":
                run.page_not_found = True
            elif kind == "session_event" and msg.session_event.HasField("script_compilation_exception"):
                run.errors.append(_exception_text(msg.session_event.script_compilation_exception))
            elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                which = element.WhichOneof("type")
                if which == "exception" and not element.exception.is_warning:
                    run.errors.append(_exception_text(element.exception))
                elif which in WIDGETS:
                    self._remember(getattr(element, which))
            elif kind == "script_finished" and msg.script_finished in finished:
                if full_run:
                    self._forget_unshown()
                if msg.script_finished == ForwardMsg.FINISHED_WITH_COMPILE_ERROR and not run.errors:
                    run.errors.append("the script did not compile")
                return

    def widget(self, key: str):
        """The widget with this user key in the last run, or None (keyed widget ids end with "-<key>")."""
        return next((w for wid, w in self.widgets.items() if wid.endswith(f"-{key}")), None)

    def pick_another(self, widget) -> None:
        """Set the widget to an option other than its current one, as a click in the browser would."""
        options = _labels(widget)
        state = self.values.get(widget.id) or _state_of(widget) or WidgetState(id=widget.id)
        many = isinstance(widget, (ButtonGroup, MultiSelect))
        current = list(state.string_array_value.data) if many else [state.string_value]
        choice = next(o for o in options if o not in current)
        state = WidgetState(id=widget.id)
        if many:
            state.string_array_value.data.append(choice)
        else:
            state.string_value = choice
        self.values[widget.id] = state

    def _remember(self, widget) -> None:
        """Keep the widget's value as the browser's widget manager does: the server's when it sets one,
        else ours, else the widget's default."""
        self.widgets[widget.id] = widget
        if widget.set_value or widget.id not in self.values:
            state = _state_of(widget)
            if state is None:
                self.values.pop(widget.id, None)
            else:
                self.values[widget.id] = state

    def _forget_unshown(self) -> None:
        """After a full run the browser drops the values of widgets the run did not show."""
        self.values = {wid: state for wid, state in self.values.items() if wid in self.widgets}


def _exception_text(exception) -> str:
    """One line for an exception element; with client.showErrorDetails off the message is redacted (the
    server's log has it), so only its start is kept."""
    text = f"{exception.type or 'exception'}: {exception.message}".splitlines()[0]
    return text if len(text) <= 100 else text[:99] + "…"


def _labels(widget) -> list[str]:
    return [o.content for o in widget.options] if isinstance(widget, ButtonGroup) else list(widget.options)


def _state_of(widget) -> WidgetState | None:
    """The value a browser would send for a widget it has just drawn: the one the server set, else the default."""
    state = WidgetState(id=widget.id)
    if isinstance(widget, Checkbox):
        state.bool_value = widget.value if widget.set_value else widget.default
        return state
    options = _labels(widget)
    if isinstance(widget, (ButtonGroup, MultiSelect)):
        chosen = list(widget.raw_values) if widget.set_value else [options[i] for i in widget.default]
        state.string_array_value.data.extend(chosen)
        return state
    if widget.set_value:
        if not widget.HasField("raw_value"):
            return None
        state.string_value = widget.raw_value
    elif widget.HasField("default") and 0 <= widget.default < len(options):
        state.string_value = options[widget.default]
    else:
        return None
    return state


async def user(url: str, index: int, sessions: int, pages: list[str] | None, widgets: tuple[str, ...], query: str,
               think: float, timeout: float, start_within: float, runs: list[Run]) -> None:
    """One user's visit: open the app, then every page with its widget changes, waiting `think` between actions."""
    await asyncio.sleep(random.uniform(0, start_within))
    try:
        async with Session(url, query, timeout) as s:
            first = pages[0] if pages else ""
            runs.append(await s.rerun(Run(sessions, index, first or "/", "fresh"), page_name=first))
            for path in pages or [p for p in s.pages if p not in SKIPPED_PAGES]:
                if s.broken:
                    break
                if path not in s.pages:
                    runs.append(Run(sessions, index, path, "navigation", errors=[f"no page {path!r} in the app"]))
                    continue
                if s.page_hash != s.pages[path]:
                    await asyncio.sleep(think)
                    runs.append(await s.rerun(Run(sessions, index, path or "/", "navigation"), page_name=path,
                                              page_hash=s.pages[path]))
                for key in widgets:
                    widget = s.widget(key)
                    if widget is None or widget.disabled or s.broken:
                        continue
                    await asyncio.sleep(think)
                    s.pick_another(widget)
                    runs.append(await s.rerun(Run(sessions, index, path or "/", key), page_name=path))
    except Exception as e:  # a refused or dropped connection, a run that would not stop: this visit's error
        runs.append(Run(sessions, index, "", "session", errors=[f"{type(e).__name__}: {e}"]))


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]


def summarise(n: int, runs: list[Run], seconds: float, memory: dict) -> dict:
    """The row of the report for one level of concurrency."""
    times = [r.seconds for r in runs if r.seconds is not None]
    errors = [f"{r.page} {r.kind}: {e}" for r in runs for e in r.errors]
    by_page = {}
    for r in runs:
        if r.seconds is not None:
            by_page.setdefault(r.page, []).append(r.seconds)
    slowest = max(by_page, key=lambda p: _percentile(by_page[p], 95)) if by_page else None
    ms = lambda x: round(x * 1000)  # noqa: E731
    return {"sessions": n, "runs": len(runs), "finished": len(times), "errors": len(errors),
            "error_samples": sorted(set(errors))[:10], "page_not_found": sum(r.page_not_found for r in runs),
            "p50_ms": ms(statistics.median(times)) if times else None,
            "p95_ms": ms(_percentile(times, 95)) if times else None, "max_ms": ms(max(times)) if times else None,
            "slowest_page": slowest, "slowest_page_p95_ms": ms(_percentile(by_page[slowest], 95)) if slowest else None,
            "per_page_p95_ms": {p: ms(_percentile(v, 95)) for p, v in sorted(by_page.items())},
            "wall_s": round(seconds, 1), **memory}


def run(url: str | None = None, data_dir: Path | None = None, sessions: tuple[int, ...] = (1, 10, 25, 50),
        pages: list[str] | None = None, widgets: tuple[str, ...] = DEFAULT_WIDGETS, query: str = "",
        think: float = 1.0, timeout: float = 120.0, start_within: float = 2.0, settle: float = 5.0,
        script: str = "app.py", log=print) -> dict:
    """Run the levels of concurrency one after another against url, or a server started here on data_dir."""
    from junheng.tools import bench_pages
    from junheng.tools.browser import streamlit_server
    if url is None:
        with streamlit_server(Path(data_dir), script) as own:
            return run(own, None, sessions, pages, widgets, query, think, timeout, start_within, settle, script, log)
    process = app_server(bench_pages.server_process(url) if urlparse(url).hostname in ("localhost", "127.0.0.1")
                         else None)
    sampler = bench_pages.MemorySampler(process)
    started_mb = round(sampler.rss() / 2**20, 1) if process else None
    levels = []
    for n in sessions:
        runs: list[Run] = []
        start, server_cpu, own_cpu = time.perf_counter(), _cpu_seconds(process), time.process_time()
        with bench_pages.MemorySampler(process) as memory:
            asyncio.run(_level(url, n, pages, widgets, query, think, timeout, start_within, runs))
        wall = time.perf_counter() - start
        after = {"server_cpu_s": round(_cpu_seconds(process) - server_cpu, 1) if process else None,
                 "load_generator_cpu_s": round(time.process_time() - own_cpu, 1)}
        time.sleep(min(settle, 5.0))
        after.update(peak_rss_mb=round(memory.peak / 2**20, 1) if process else None,
                     rss_after_close_mb=round(sampler.rss() / 2**20, 1) if process else None)
        row = summarise(n, runs, wall, after)
        levels.append(row)
        log(f"N={n:3}  runs {row['runs']:4}  finished {row['finished']:4}  errors {row['errors']:3}  "
            f"p50 {row['p50_ms']} ms  p95 {row['p95_ms']} ms  max {row['max_ms']} ms  "
            f"slowest {row['slowest_page']} (p95 {row['slowest_page_p95_ms']} ms)  "
            f"server {row['peak_rss_mb']} MB peak, {row['rss_after_close_mb']} MB after close  {row['wall_s']} s  "
            f"CPU s: server {row['server_cpu_s']}, load generator {row['load_generator_cpu_s']}")
        for sample in row["error_samples"]:
            log(f"    error: {sample}")
    if settle > 5.0:
        time.sleep(settle - 5.0)
    return {"url": url, "query": query, "think_s": think, "start_within_s": start_within, "widgets": list(widgets),
            "pages": pages, "levels": levels, "server_rss_start_mb": started_mb,
            "server_rss_settled_mb": round(sampler.rss() / 2**20, 1) if process else None, "settle_s": settle}


def app_server(process):
    """process when it is a Python process (the app server), else None: behind a proxy the process listening on the
    URL is the proxy, whose memory and CPU say nothing of the app servers (read each server's own)."""
    try:
        return process if process is not None \
            and "python" in " ".join(process.cmdline()[:1] + [process.name()]).lower() else None
    except Exception:  # psutil.Error: gone or not ours to read
        return None


def _cpu_seconds(process) -> float:
    """CPU time the server process (and its children) has used so far."""
    if process is None:
        return 0.0
    try:
        return sum(sum(p.cpu_times()[:2]) for p in [process, *process.children(recursive=True)])
    except Exception:  # psutil.Error: the process is gone
        return 0.0


async def _level(url, n, pages, widgets, query, think, timeout, start_within, runs) -> None:
    await asyncio.gather(*(user(url, i, n, pages, widgets, query, think, timeout, start_within, runs)
                           for i in range(n)))


def report_markdown(results: list[dict]) -> str:
    """The load-test section of docs/benchmarks.md: one table per run (data set and scope), with its command."""
    lines = ["## Load test (websocket sessions, no browser)", "",
             "Each simulated user opens the app, then on every page: navigates to it and changes the sidebar year "
             "and the page's own filter, over Streamlit's websocket protocol (`BackMsg.rerun_script`, read until "
             "`script_finished`). Script time is from the rerun request to `script_finished`: the server's work "
             "and transport, not the browser's drawing. Errors: exception elements, compile errors, runs that "
             "did not finish. The load generator runs on the same 2 shared cores as the server.", ""]
    for result in results:
        lines += [f"### {result.get('title') or result['url']}", "",
                  f"`{result.get('command', 'junheng loadtest')}` on {result.get('when', '')}, load average "
                  f"{result.get('load_average', '—')} at the start.", "",
                  f"Think time {result['think_s']} s between actions; users start within "
                  f"{result['start_within_s']} s. " + (
                      f"Server memory at start: {_n(result['server_rss_start_mb'])} MB; "
                      f"{result.get('settle_s', 5):.0f} s after the last level: "
                      f"{_n(result.get('server_rss_settled_mb'))} MB (Streamlit keeps a closed session's state for "
                      "`server.disconnectedSessionTTL`, 120 s)." if result.get("server_rss_start_mb") is not None else
                      "Server memory and CPU not measured: the URL is not a local app server's (behind a proxy, "
                      "read each server's own)."), "",
                  "| sessions | runs | errors | p50 ms | p95 ms | max ms | slowest page (p95 ms) | server peak MB "
                  "| server MB after close | wall s | server CPU s per run |",
                  "|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---:|"]
        for row in result["levels"]:
            lines.append(f"| {row['sessions']} | {row['runs']} | {row['errors']} | {_n(row['p50_ms'])} | "
                         f"{_n(row['p95_ms'])} | {_n(row['max_ms'])} | {_page_name(row['slowest_page'])} "
                         f"({_n(row['slowest_page_p95_ms'])}) | {_n(row['peak_rss_mb'])} | "
                         f"{_n(row['rss_after_close_mb'])} | {row['wall_s']} | {_per_run(row)} |")
        first = result["levels"][0]
        lines += ["", f"Script time p95 per page with {first['sessions']} "
                  f"session{'s' if first['sessions'] > 1 else ''}: "
                  + ", ".join(f"{_page_name(page)} {ms:,} ms" for page, ms in first["per_page_p95_ms"].items()) + "."]
        target = next((r for r in result["levels"] if r["sessions"] == 25), None)
        if target:
            met = target["errors"] == 0 and target["p95_ms"] is not None and target["p95_ms"] <= 3000
            lines += ["", f"Target 25 sessions, p95 ≤ 3,000 ms, no errors: p95 {_n(target['p95_ms'])} ms, "
                      f"{target['errors']} errors — {'met' if met else '**not met**'}."]
        samples = sorted({s for row in result["levels"] for s in row["error_samples"]})
        if samples:
            lines += ["", "Errors seen: " + "; ".join(f"`{s}`" for s in samples[:5]) + "."]
        lines.append("")
    return "\n".join(lines)


def _page_name(path: str | None) -> str:
    """A page as the report names it: the frame's file stem when it is one of Junheng's pages, else its path."""
    from junheng.tools.browser import frame_pages
    stems = {("/" + p) if p else "/": stem for stem, p in frame_pages().items()}
    return stems.get("/" + (path or "").lstrip("/"), path or "—")


def _per_run(row: dict) -> str:
    cpu = row.get("server_cpu_s")
    return "—" if cpu is None or not row["finished"] else f"{cpu / row['finished']:.2f}"


def _n(value) -> str:
    return "—" if value is None else f"{value:,}"


BEGIN, END = "<!-- loadtest: written by junheng loadtest --report -->", "<!-- /loadtest -->"


def _inner(section: str) -> str:
    """section without any load-test markers (a kept section may carry them)."""
    return "\n".join(line for line in section.splitlines() if line.strip() not in (BEGIN, END)).strip("\n")


def with_section(document: str, section: str) -> str:
    """The document with its load-test section replaced by section (added at the end if it has none). Everything
    from the first begin marker to the last end marker is the section, so doubled markers are repaired."""
    block = f"{BEGIN}\n{_inner(section)}\n{END}\n"
    if BEGIN in document and END in document:
        head, rest = document.split(BEGIN, 1)
        return head + block + rest.rsplit(END, 1)[1].lstrip("\n")
    return document.rstrip("\n") + "\n\n" + block if document.strip() else block


def section_of(document: str) -> str | None:
    """The load-test section of a document, without its markers, or None."""
    if BEGIN in document and END in document:
        return _inner(document.split(BEGIN, 1)[1].rsplit(END, 1)[0]) + "\n"
    return None

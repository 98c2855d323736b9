"""The load test: real Streamlit servers driven over the websocket protocol, no browser."""
import json

import pytest

from junheng.tools import cli, loadtest
from junheng.tools.browser import streamlit_server

TEST_APP = "tests/apps/loadtest_app.py"


def test_two_sessions_run_every_page_and_widget_change_without_errors(demo_data):
    with streamlit_server(demo_data) as url:
        result = loadtest.run(url, sessions=(2,), query="county=370724", think=0, start_within=0.5, settle=0)
    level, = result["levels"]
    # Per session, by hand: open the overview (1), change its year and map metric (2); then for 均衡评估,
    # 城乡差距, 留守儿童 and 标准化建设: navigate, change the year and the page's filter (3 each); 队列分析: navigate
    # and change the year (2). 1 + 2 + 4 * 3 + 2 = 17 runs, 34 for two sessions.
    assert (level["runs"], level["finished"], level["errors"]) == (34, 34, 0), level["error_samples"]
    assert set(level["per_page_p95_ms"]) == {"/", "pinggu", "chengxiang", "liushou", "biaozhun", "yanjiu"}
    assert 0 < level["p50_ms"] <= level["p95_ms"] <= level["max_ms"]
    assert level["peak_rss_mb"] > 50 and level["rss_after_close_mb"] > 50  # the server's memory was read


def test_an_exception_in_a_page_is_reported_as_an_error(tiny_data):
    with streamlit_server(tiny_data, TEST_APP) as url:
        broken = loadtest.run(url, sessions=(2,), widgets=("year", "shown"), think=0, start_within=0, settle=0)
        fine = loadtest.run(url, sessions=(2,), pages=[""], widgets=("year", "shown"), think=0, start_within=0,
                            settle=0)
    level, = broken["levels"]
    # Per session: open Fine (1), change year and shown (2); Broken: navigate and change the year (2), both raise.
    assert (level["runs"], level["finished"], level["errors"]) == (10, 10, 4)
    # The app hides error details from users (client.showErrorDetails), so the message itself may be redacted.
    assert [s.split(":")[0] for s in level["error_samples"]] == ["broken navigation", "broken year"]
    level, = fine["levels"]
    assert (level["runs"], level["errors"]) == (6, 0)


def test_a_run_that_does_not_finish_in_time_is_an_error_and_the_visit_goes_on(tiny_data):
    with streamlit_server(tiny_data, TEST_APP) as url:
        result = loadtest.run(url, sessions=(1,), pages=[""], widgets=("year",), query="sleep=3", think=0,
                              timeout=1, start_within=0, settle=0)
    level, = result["levels"]
    # The first run times out and is stopped; the year change after it is asked for (and times out too).
    assert (level["runs"], level["finished"], level["errors"]) == (2, 0, 2)
    assert level["error_samples"] == ["/ fresh: no script_finished within 1 s", "/ year: no script_finished within 1 s"]


def test_a_widget_change_sends_another_option_as_the_browser_would():
    from streamlit.proto.ButtonGroup_pb2 import ButtonGroup
    from streamlit.proto.Selectbox_pb2 import Selectbox
    session = loadtest.Session("http://localhost:1")
    year = Selectbox(id="$$ID-abc-year", options=["2025", "2024", "2023"], default=0)
    session.pick_another(year)
    assert session.values[year.id].string_value == "2024"
    session.pick_another(year)  # from 2024, the first other option
    assert session.values[year.id].string_value == "2025"
    shown = ButtonGroup(id="$$ID-def-shown", options=[ButtonGroup.Option(content="a"), ButtonGroup.Option(content="b")],
                        default=[0])
    session.pick_another(shown)
    assert list(session.values[shown.id].string_array_value.data) == ["b"]
    session.widgets = {year.id: year, shown.id: shown}
    assert session.widget("shown") is shown and session.widget("own") is None


def test_the_report_section_is_replaced_and_the_rest_kept():
    doc = "# Benchmarks\n\ntext\n"
    once = loadtest.with_section(doc, "## Load test\n\nfirst\n")
    assert once.startswith(doc) and "first" in once
    twice = loadtest.with_section(once + "\n## After\n", "## Load test\n\nsecond\n")
    assert "first" not in twice and "second" in twice and twice.endswith("## After\n")
    assert loadtest.section_of(twice).count("second") == 1


def test_a_kept_section_is_not_wrapped_twice():
    doc = loadtest.with_section("# Benchmarks\n", "## Load test\n\nrun\n")
    kept = loadtest.with_section("# Benchmarks\n\nnew queries\n", loadtest.section_of(doc))
    again = loadtest.with_section(kept, loadtest.section_of(kept))
    for text in (kept, again):
        assert text.count(loadtest.BEGIN) == 1 and text.count(loadtest.END) == 1 and "run" in text
    doubled = f"# B\n\n{loadtest.BEGIN}\n{loadtest.BEGIN}\nold\n{loadtest.END}\n{loadtest.END}\n\n## After\n"
    repaired = loadtest.with_section(doubled, "## Load test\n\nnew\n")
    assert repaired.count(loadtest.BEGIN) == 1 and repaired.count(loadtest.END) == 1
    assert "old" not in repaired and repaired.endswith("## After\n")


def test_cli_writes_runs_and_the_section(tiny_data, tmp_path):
    runs, report = tmp_path / "loadtest.json", tmp_path / "benchmarks.md"
    report.write_text("# Benchmarks\n\nqueries\n", encoding="utf-8")
    code = cli.main(["loadtest", "--data-dir", str(tiny_data), "--script", TEST_APP, "--sessions", "1",
                     "--pages", "/", "--widgets", "year", "--think", "0", "--start-within", "0", "--settle", "0",
                     "--title", "test app", "--json", str(runs), "--report", str(report)])
    assert code == 0
    saved = json.loads(runs.read_text(encoding="utf-8"))["runs"]
    assert [r["title"] for r in saved] == ["test app"] and saved[0]["levels"][0]["runs"] == 2
    text = report.read_text(encoding="utf-8")
    assert text.startswith("# Benchmarks\n\nqueries\n") and "### test app" in text and "| 1 | 2 | 0 |" in text
    other = tmp_path / "other.md"  # --render writes the section from the saved runs, running nothing
    assert cli.main(["loadtest", "--render", "--json", str(runs), "--report", str(other)]) == 0
    assert loadtest.section_of(other.read_text(encoding="utf-8")) == loadtest.section_of(text)


@pytest.mark.parametrize("sessions", ["0", "ten", ""])
def test_cli_refuses_bad_session_counts(sessions, tiny_data, capsys):
    assert cli.main(["loadtest", "--data-dir", str(tiny_data), "--sessions", sessions]) == 2
    assert "--sessions" in capsys.readouterr().err


def test_memory_is_read_from_an_app_server_never_from_a_proxy():
    import os
    import subprocess

    import psutil
    assert loadtest.app_server(psutil.Process(os.getpid())) is not None  # this test runs in Python
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        assert loadtest.app_server(psutil.Process(sleeper.pid)) is None  # e.g. nginx in front of the servers
    finally:
        sleeper.kill()
        sleeper.wait()
    assert loadtest.app_server(None) is None
    proxied = {"title": "behind a proxy", "url": "http://127.0.0.1:1", "think_s": 1.0, "start_within_s": 2.0,
               "server_rss_start_mb": None, "server_rss_settled_mb": None, "levels": [
                   {"sessions": 1, "runs": 2, "errors": 0, "p50_ms": 10, "p95_ms": 20, "max_ms": 20,
                    "slowest_page": "/", "slowest_page_p95_ms": 20, "peak_rss_mb": None, "rss_after_close_mb": None,
                    "wall_s": 1.0, "server_cpu_s": None, "finished": 2, "per_page_p95_ms": {"/": 20},
                    "error_samples": []}]}
    text = loadtest.report_markdown([proxied])
    assert "not measured" in text and "| — | — |" in text

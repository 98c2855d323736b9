"""The launcher's production settings (junheng/tools/serve.py): no file watcher, no full garbage collection after
every script run (two thirds of the server's CPU per run), a periodic one instead; the command line wins."""
import threading
import time

import pytest

from junheng.tools import serve


def test_production_defaults_and_the_command_line_wins():
    config = serve.server_config(["--server.port", "8600"])
    assert config == {**serve.project_options(), "server.fileWatcherType": "none", "runner.postScriptGC": False,
                      "logger.hideWelcomeMessage": True, "server.port": 8600}
    assert serve.server_config(["--runner.postScriptGC", "true"])["runner.postScriptGC"] is True
    assert serve.server_config(["--server.fileWatcherType=auto"])["server.fileWatcherType"] == "auto"


def test_the_projects_config_holds_wherever_the_server_is_started(tmp_path, monkeypatch):
    # Streamlit reads .streamlit/config.toml from the working directory alone; started elsewhere, the server showed
    # tracebacks (showErrorDetails), offered the tables' own CSV export and served no static files (no map)
    monkeypatch.chdir(tmp_path)
    config = serve.server_config([])
    assert config["client.showErrorDetails"] == "none" and config["client.disableDataExport"] is True
    assert config["server.enableStaticServing"] is True and config["theme.primaryColor"] == "#1f5fa8"
    assert serve.server_config(["--client.showErrorDetails", "full"])["client.showErrorDetails"] == "full"
    # every option is one App.run accepts (known, not a secret that must come from the file or the environment)
    from streamlit.web.server.starlette.starlette_app import _validate_run_config
    assert _validate_run_config(config) == config


def test_the_collector_collects_every_interval_until_stopped(monkeypatch):
    calls = []
    monkeypatch.setattr(serve.gc, "collect", lambda *a: calls.append(time.monotonic()))
    stop = threading.Event()
    worker = threading.Thread(target=serve.collect_garbage, args=(stop, 0.02))
    worker.start()
    time.sleep(0.25)
    stop.set()
    worker.join(1)
    assert not worker.is_alive()
    assert 3 <= len(calls) <= 13   # about one per 20 ms, none before the first interval
    done = len(calls)
    time.sleep(0.1)
    assert len(calls) == done      # none after the stop


def test_the_server_starts_without_asking_the_internet_for_its_address(tmp_path):
    """A headless Streamlit's welcome banner asks checkip.amazonaws.com for the machine's address before it serves
    (seconds on an intranet without internet): the launcher's server never does."""
    import os
    import subprocess
    import sys
    import urllib.request

    from junheng.tools.browser import ROOT, free_port
    asked = tmp_path / "asked"
    port = free_port()
    code = ("import sys; from pathlib import Path; from streamlit import net_util\n"
            "def ask(url, timeout=5):\n"
            f"    Path({str(asked)!r}).write_text(url); return None\n"
            "net_util._make_blocking_http_get = ask\n"
            "from junheng.tools import serve\n"
            f"serve.main(['--server.port', '{port}', '--server.headless', 'true'])\n")
    proc = subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            env={**os.environ, "JUNHENG_DATA_DIR": str(tmp_path / "no-data")})
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"http://localhost:{port}/_stcore/health", timeout=2) as r:
                    assert r.status == 200
                    break
            except OSError:
                assert proc.poll() is None and time.monotonic() < deadline, "the server did not start"
                time.sleep(0.1)
    finally:
        proc.terminate()
        output = proc.communicate(timeout=20)[0].decode()
    assert not asked.exists(), asked.read_text()
    assert f"open http://localhost:{port}" in output


def test_the_prompt_check_the_launcher_skips_is_still_streamlits():
    """The launcher marks Streamlit's "run it with streamlit run" warning as shown, which spares the first page an
    inspect.stack() of the script thread; the flag must still be the one Streamlit reads (renamed, the setting
    would do nothing without a word)."""
    import inspect

    from streamlit import delta_generator
    assert "_use_warning_has_been_displayed" in inspect.getsource(delta_generator._maybe_print_use_warning)
    assert hasattr(delta_generator, "_use_warning_has_been_displayed")


@pytest.mark.browser
def test_streamlit_run_app_py_stops_at_once_and_names_the_launcher(tmp_path, browser):
    """`streamlit run app.py` serves the frame without the launcher's login routes (a login would be lost at the
    next reload): the page says, in both languages, how to start the app, and shows nothing else."""
    from junheng.tools.browser import ROOT, streamlit_server, wait_for_page
    seen = {}
    with streamlit_server(tmp_path, script=str(ROOT / "app.py")) as url:  # a path, not "app.py": `streamlit run`
        page = browser.new_page()
        try:
            # the frame's address, and a pages/ file's own address (Streamlit's pages/-directory navigation)
            for path in ("/", "/accounts"):
                page.goto(url + path)
                wait_for_page(page)
                seen[path] = (page.locator('[data-testid="stAlertContentError"]').all_inner_texts(),
                              page.locator('[data-testid="stSidebarNav"]').count(),
                              page.locator('[data-testid="stTextInput"]').count())
        finally:
            page.close()
    for path, (errors, navigation, inputs) in seen.items():
        assert len(errors) == 1, (path, errors)
        assert "python -m junheng.tools.serve" in errors[0] and "make run" in errors[0]
        assert "启动均衡" in errors[0] and "a login is lost on reload" in errors[0]
        assert navigation == 0 and inputs == 0, path  # no page list, no login box, no account form


@pytest.mark.browser
def test_the_launcher_serves_the_frame_with_its_login_routes(tmp_path, browser):
    """The same app.py started by the launcher runs on (its navigation is drawn, no launcher message) and its
    session route answers a forged ticket with 400, so the check does not stop the real server."""
    import urllib.error
    import urllib.request

    from junheng.access.routes import SESSION_ROUTE
    from junheng.tools.browser import streamlit_server, wait_for_page
    with streamlit_server(tmp_path) as url:
        page = browser.new_page()
        try:
            page.goto(url)
            wait_for_page(page)
            errors = page.locator('[data-testid="stAlertContentError"]').all_inner_texts()
            navigation = page.locator('[data-testid="stSidebarNav"]').count()
        finally:
            page.close()
        request = urllib.request.Request(url + SESSION_ROUTE, data=b"forged", method="POST")
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(request, timeout=10)
    assert not any("junheng.tools.serve" in e for e in errors), errors
    assert navigation == 1
    assert refused.value.code == 400

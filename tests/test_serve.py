"""The launcher's production settings (junheng/tools/serve.py): no file watcher, no full garbage collection after
every script run (two thirds of the server's CPU per run), a periodic one instead; the command line wins."""
import threading
import time

from junheng.tools import serve


def test_production_defaults_and_the_command_line_wins():
    config = serve.server_config(["--server.port", "8600"])
    assert config == {"server.fileWatcherType": "none", "runner.postScriptGC": False, "logger.hideWelcomeMessage": True,
                      "server.port": 8600}
    assert serve.server_config(["--runner.postScriptGC", "true"])["runner.postScriptGC"] is True
    assert serve.server_config(["--server.fileWatcherType=auto"])["server.fileWatcherType"] == "auto"


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

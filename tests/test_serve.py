"""The launcher's production settings (junheng/tools/serve.py): no file watcher, no full garbage collection after
every script run (two thirds of the server's CPU per run), a periodic one instead; the command line wins."""
import threading
import time

from junheng.tools import serve


def test_production_defaults_and_the_command_line_wins():
    config = serve.server_config(["--server.port", "8600"])
    assert config == {"server.fileWatcherType": "none", "runner.postScriptGC": False, "server.port": 8600}
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

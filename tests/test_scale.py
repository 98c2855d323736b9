"""Scale-out for real: app servers sharing one store and one PostgreSQL, imports serialised across processes,
a process killed mid-import, and nginx with sticky sessions in front of two servers driving a browser."""
from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from pathlib import Path

import polars as pl
import pytest
from playwright import sync_api as playwright

from junheng.access import audit
from junheng.data import dictionary, store
from junheng.tools.browser import ROOT, free_port, login, streamlit_server, wait_for_page
from tests.conftest import PASSWORD, add_account

ZH = {c.name: c.zh for c in dictionary.columns()}


@pytest.fixture()
def shared(tmp_path, demo_data, postgres_url) -> Path:
    """A store on one filesystem shared by every server of the test, accounts in PostgreSQL."""
    out = tmp_path / "shared"
    shutil.copytree(demo_data, out, ignore=shutil.ignore_patterns("access.sqlite3*"))
    add_account(out, "chief", "admin")
    return out


def county_csv(data: Path, county: str, rows: int, path: Path) -> Path:
    """A bureau's file: the first rows of one county's 2025 schools, Chinese headers, GBK."""
    mine = pl.read_parquet(store.current_path(data, 2025)).filter(pl.col("county_code") == county).head(rows)
    path.write_bytes(mine.drop("year").rename(ZH, strict=False).write_csv().encode("gbk"))
    return path


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "junheng.tools.cli", *args]


def _main(page) -> str:
    return page.inner_text('[data-testid="stMain"]')


def test_two_imports_through_two_processes_at_once_are_serialised(shared, tmp_path):
    first = county_csv(shared, "370724", 3, tmp_path / "临朐县.csv")
    second = county_csv(shared, "370305", 2, tmp_path / "临淄区.csv")
    before = store.read_manifest(shared)["years"]["2025"]["current"]
    with store.lock(shared):  # both start while the lock is taken: they must wait, then go one after the other
        procs = [subprocess.Popen(cli("import", str(f), "--year", "2025", "--data-dir", str(shared),
                                      "--allow-removal"), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
                 for f in (first, second)]
        time.sleep(3)
        assert all(p.poll() is None for p in procs)  # still waiting
        assert store.read_manifest(shared)["years"]["2025"]["current"] == before
    assert [p.wait(120) for p in procs] == [0, 0], [p.stderr.read().decode()[-500:] for p in procs]
    versions = store.read_manifest(shared)["years"]["2025"]["versions"]
    assert len(versions) == 3
    assert versions[1]["base"] == before and versions[2]["base"] == versions[1]["id"]  # one on top of the other
    now = pl.read_parquet(store.current_path(shared, 2025))
    assert now.filter(pl.col("county_code") == "370724").height == 3  # neither write lost the other's rows
    assert now.filter(pl.col("county_code") == "370305").height == 2
    assert store.consistency_problems(shared) == []
    log = audit.entries(shared)
    assert log.filter(pl.col("action") == "import").height == 2  # both in the shared (PostgreSQL) audit log


KILL_AFTER_COMMIT = """
import os, signal, sys
from junheng.data import importer, store
def die(*_):
    os.kill(os.getpid(), signal.SIGKILL)  # after the manifest's commit, before the snapshot is swapped in
store._swap_in = die
importer.import_file(sys.argv[1], 2025, sys.argv[2], allow_removal=True)
"""


def test_a_process_killed_mid_import_leaves_the_store_consistent_and_unlocked(shared, tmp_path):
    path = county_csv(shared, "370724", 3, tmp_path / "临朐县.csv")
    original = pl.read_parquet(store.current_path(shared, 2025))
    killed = subprocess.run([sys.executable, "-c", KILL_AFTER_COMMIT, str(path), str(shared)], cwd=ROOT,
                            capture_output=True)
    assert killed.returncode == -signal.SIGKILL
    manifest = store.read_manifest(shared)["years"]["2025"]
    assert len(manifest["versions"]) == 2  # committed: the manifest names the new version ...
    assert store.consistency_problems(shared) == [f"2025: current is not {manifest['current']}"]  # ... not yet current
    with store.lock(shared, timeout=5):  # the dead process's advisory lock went with its connection
        pass
    assert store.recover(shared) == [2025]  # what every server runs at start and before every write
    assert store.consistency_problems(shared) == []
    now = pl.read_parquet(store.current_path(shared, 2025))
    assert now.filter(pl.col("county_code") == "370724").height == 3
    assert now.filter(pl.col("county_code") != "370724").sort("school_id").equals(
        original.filter(pl.col("county_code") != "370724").sort("school_id"))
    # killed from outside at whatever point it has reached: the store stays consistent, and the next import works
    for delay in (0.5, 2.0):
        proc = subprocess.Popen(cli("import", str(path), "--year", "2025", "--data-dir", str(shared),
                                    "--allow-removal"), cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep(delay)
        proc.kill()
        proc.wait()
        store.recover(shared, timeout=5)
        assert store.consistency_problems(shared) == []
    done = subprocess.run(cli("import", str(path), "--year", "2025", "--data-dir", str(shared), "--allow-removal"),
                          cwd=ROOT, capture_output=True, timeout=120)
    assert done.returncode == 0, done.stderr.decode()[-500:]
    assert store.consistency_problems(shared) == []


@pytest.mark.browser
def test_an_import_through_one_server_is_seen_on_the_other_without_a_restart(shared, tmp_path, browser):
    csv = county_csv(shared, "370724", 12, tmp_path / "临朐县.csv")
    with streamlit_server(shared) as one, streamlit_server(shared) as two:
        context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
        page = context.new_page()
        login(page, one, "chief", PASSWORD)
        # the other server knows the login: the cookie is signed with the shared data directory's secret and
        # names a session kept in PostgreSQL (both servers are on localhost, so the browser sends it to both)
        page.goto(f"{two}/?county=370724")
        wait_for_page(page)
        assert "chief（" in page.inner_text('[data-testid="stSidebar"]')
        assert "示例数据" in _main(page)
        page.goto(f"{one}/shuju")
        wait_for_page(page)
        page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(csv))
        page.get_by_text("我确认删除上述数据").click()
        confirm = page.get_by_role("button", name="确认导入为 2025 年数据")
        playwright.expect(confirm).to_be_enabled(timeout=30_000)
        confirm.click()
        page.get_by_text("已导入 2025 年数据").wait_for(timeout=60_000)
        assert store.read_manifest(shared)["years"]["2025"]["source"] == "临朐县.csv"
        page.goto(f"{two}/?county=370724")  # the other server, never restarted
        wait_for_page(page)
        body = _main(page)
        assert "本地导入的统计数据" in body and "示例数据" not in body
        page.goto(f"{two}/shuju")
        wait_for_page(page)
        page.get_by_role("button", name="撤销所选导入").wait_for(timeout=30_000)
        # the newest version of the newest year is offered for undo: the import made through the other server
        offered = page.get_by_role("combobox", name="版本").input_value()
        assert re.search(r"临朐县\.csv · \d+ 行数 · 当前$", offered), offered
        context.close()
    imports = audit.entries(shared).filter(pl.col("action") == "import")
    assert imports["account"].to_list() == ["chief"]


NGINX_MAIN = """
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 512; }}
http {{
    log_format routed '$cookie_junheng_route $upstream_addr $status $request_uri';
    access_log {d}/access.log routed;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    include {d}/junheng.conf;
}}
"""


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next((p for p in ("/usr/sbin/nginx",) if os.access(p, os.X_OK)), None)


@contextmanager
def nginx(upstreams: list[str]):
    """docs/nginx.conf, its app servers and port replaced, run by nginx in a temporary folder; yields its URL."""
    binary = nginx_binary()
    if binary is None:
        pytest.skip("nginx not found (Debian package nginx; `make system` installs it)")
    folder = Path(tempfile.mkdtemp(prefix="junheng-nginx-"))
    port = free_port()
    conf = (ROOT / "docs" / "nginx.conf").read_text(encoding="utf-8")
    servers = "".join(f"    server 127.0.0.1:{u.rsplit(':', 1)[1]};\n" for u in upstreams)
    conf = re.sub(r"(    server 127\.0\.0\.1:\d+;\n)+", servers, conf)
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{port};")
    (folder / "junheng.conf").write_text(conf, encoding="utf-8")
    (folder / "nginx.conf").write_text(NGINX_MAIN.format(d=folder), encoding="utf-8")
    proc = subprocess.Popen([binary, "-p", str(folder), "-c", str(folder / "nginx.conf"), "-g", "daemon off;"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"nginx did not start: {proc.stderr.read().decode()[-1000:]}") from None
                time.sleep(0.2)
        yield url, folder / "access.log"
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.parametrize("proxy, peer, forwarded, expected", [
    ("", None, "6.6.6.6", ""),                          # no proxy configured: the header is ignored
    ("", "10.1.2.3", "6.6.6.6", "10.1.2.3"),
    ("127.0.0.1", None, "6.6.6.6, 10.0.0.5", "10.0.0.5"),  # the proxy appended the last one; the first is claimed
    ("127.0.0.1", "10.1.2.3", "6.6.6.6", "10.1.2.3"),    # not from the proxy: its own address
    ("127.0.0.1", "::ffff:127.0.0.1", "10.0.0.5", "10.0.0.5"),  # the proxy seen by a dual-stack server
    ("10.9.9.9", "10.9.9.9", "10.0.0.7", "10.0.0.7"),
    ("10.9.9.9", "10.9.9.9", None, "10.9.9.9"),
])
def test_the_login_address_behind_a_trusted_proxy(monkeypatch, proxy, peer, forwarded, expected):
    from junheng.access import accounts
    monkeypatch.setenv("JUNHENG_TRUSTED_PROXY", proxy)
    assert accounts.client_address(peer, forwarded) == expected


@pytest.mark.browser
def test_nginx_in_front_of_two_servers_keeps_each_browser_on_one(shared, browser, monkeypatch):
    monkeypatch.setenv("JUNHENG_TRUSTED_PROXY", "127.0.0.1")
    with ExitStack() as stack:
        servers = [stack.enter_context(streamlit_server(shared)) for _ in range(2)]
        proxy, access_log = stack.enter_context(nginx(servers))
        seen: dict[str, str] = {}  # upstream -> route cookie of a browser that landed there
        logged_in = False
        for _ in range(16):  # new browsers until each server has one (each first request picks at random)
            context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
            page = context.new_page()
            upstreams = set()
            page.on("response", lambda r, upstreams=upstreams: upstreams.add(r.headers.get("x-junheng-upstream")))
            page.goto(proxy)
            wait_for_page(page)  # the page ran: its websocket went through the proxy
            assert "示例数据" in _main(page)
            route = next(c["value"] for c in context.cookies() if c["name"] == "junheng_route")
            if len(seen) == 1 and next(iter(seen)) not in upstreams:
                login(page, proxy, "chief", PASSWORD)  # a login through the proxy survives a reload
                page.reload()
                wait_for_page(page)
                assert "chief（" in page.inner_text('[data-testid="stSidebar"]')
                logged_in = True
            upstreams.discard(None)
            assert len(upstreams) == 1, upstreams  # every response from one server
            seen.setdefault(upstreams.pop(), route)
            context.close()
            if len(seen) == 2:
                break
        assert len(seen) == 2 and logged_in
        lines = [line.split() for line in access_log.read_text().splitlines()]
        for route in seen.values():
            mine = [line for line in lines if line[0] == route]
            assert {line[1] for line in mine} and len({line[1] for line in mine}) == 1
            assert any("/_stcore/stream" in line[3] and line[2] == "101" for line in mine)  # the websocket too
    logins = audit.entries(shared).filter(pl.col("action") == "login")
    assert logins["details"].to_list() == ['{"ip": "127.0.0.1"}']  # the browser's address, as nginx saw it


def at_once(prepare: str, act: str, n: int, *args: str) -> list[tuple[int, str, str]]:
    """Run `prepare` (imports) and then `act` in n processes (arguments in sys.argv[1:]) that all start `act` at
    the same moment: each says it is ready and waits for a go file. (returncode, stdout, stderr) for each."""
    go = Path(tempfile.mkdtemp(prefix="junheng-go-")) / "go"
    code = (f"import os, sys, time\n{prepare}\nprint('ready', flush=True)\n"
            f"while not os.path.exists({str(go)!r}): time.sleep(0.002)\n{act}\n")
    procs = [subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True) for _ in range(n)]
    for proc in procs:
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()[-500:]
    go.touch()
    out = [(proc.wait(60), proc.stdout.read(), proc.stderr.read()) for proc in procs]
    shutil.rmtree(go.parent)
    return out


def test_servers_starting_at_once_share_one_cookie_secret(tmp_path):
    from junheng.access import sessions
    results = at_once("from junheng.access import sessions", "sys.stdout.write(sessions.secret(sys.argv[1]).hex())",
                      4, str(tmp_path))
    secrets_seen = {out for _, out, _ in results}
    assert secrets_seen == {sessions.secret(tmp_path).hex()} and len(next(iter(secrets_seen))) == 64
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]  # no draft left behind


def test_a_secret_made_by_another_server_between_look_and_write_is_kept(tmp_path, monkeypatch):
    from junheng.access import sessions
    (tmp_path / "secret.key").write_bytes(b"s" * 32)  # another server made it just after this one looked
    real_exists = Path.exists
    monkeypatch.setattr(Path, "exists", lambda p: False if p.name == "secret.key" else real_exists(p))
    assert sessions.secret(tmp_path) == b"s" * 32
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]

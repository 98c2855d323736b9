"""Open tabs do not outlive their session (issue 22, part 2): every script run checks the server-side session
again, so a logged-out, disabled or re-passworded session loses its rights at the next click."""
import io
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cachetools import TTLCache

from junheng.access import accounts, database, sessions
from junheng.access.accounts import Account
from junheng.i18n import t
from tests.conftest import add_account

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture()
def data_dir(tmp_path, boundary_dir):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    yield tmp_path
    database.dispose()


@pytest.fixture()
def clock(monkeypatch):
    """The session check's cache on a clock the test moves (another process's change shows after it ticks)."""
    now = [0.0]
    monkeypatch.setattr(sessions, "_checked", TTLCache(maxsize=100, ttl=sessions.CHECK_SECONDS, timer=lambda: now[0]))
    return now


def users(data_dir, *args, stdin: str = "") -> int:
    """`junheng users ...` through the command line's own function (which acts as the system administrator)."""
    import sys

    from junheng.tools import cli
    saved, sys.stdin = sys.stdin, io.StringIO(stdin)
    try:
        return cli.main(["users", *args, "--data-dir", str(data_dir), "--lang", "en"])
    finally:
        sys.stdin = saved


def signed_in(data_dir, name="chief", role="admin", region="") -> tuple[Account, str]:
    add_account(data_dir, name, role, region)
    account = accounts.get(data_dir, name)
    sid, _ = sessions.start(data_dir, account)
    return account, sid


def elsewhere(data_dir, statement, **values) -> None:
    """A change made by another process (another app server, a database console): this process is not told."""
    with database.engine(data_dir).begin() as con:
        con.execute(statement.values(**values) if values else statement)


def test_a_disabled_account_loses_its_session_at_the_next_check(data_dir, clock):
    account, sid = signed_in(data_dir)
    assert sessions.check(data_dir, sid) == (account, None)
    assert users(data_dir, "disable", "chief") == 0
    assert sessions.check(data_dir, sid) == (None, "session_ended")  # same process: forgotten at once


def test_a_new_password_ends_the_open_session(data_dir, clock):
    account, sid = signed_in(data_dir)
    assert sessions.check(data_dir, sid) == (account, None)
    assert users(data_dir, "passwd", "chief", "--password-stdin", stdin="another horse 9\n") == 0
    assert sessions.check(data_dir, sid) == (None, "session_ended")


def test_a_log_out_in_one_tab_ends_the_session_of_every_tab(data_dir, clock):
    account, sid = signed_in(data_dir)
    other, other_sid = signed_in(data_dir, "linqu", "viewer", "370724")
    assert sessions.check(data_dir, sid) == (account, None)
    sessions.end(data_dir, sid)  # the logout route names the cookie every tab of the browser shares
    assert sessions.check(data_dir, sid) == (None, "session_ended")
    assert sessions.check(data_dir, other_sid) == (other, None)  # another account's session is untouched


def test_a_change_made_by_another_process_is_seen_within_the_check_interval(data_dir, clock):
    account, sid = signed_in(data_dir)
    assert sessions.check(data_dir, sid) == (account, None)
    elsewhere(data_dir, database.accounts.update().where(database.accounts.c.name == "chief"), disabled=True)
    clock[0] += sessions.CHECK_SECONDS - 0.5
    assert sessions.check(data_dir, sid) == (account, None)  # the remembered answer, still young enough
    clock[0] += 1
    assert sessions.check(data_dir, sid) == (None, "session_ended")


def test_a_changed_role_or_region_comes_back_as_the_changed_account(data_dir, clock):
    account, sid = signed_in(data_dir)
    elsewhere(data_dir, database.accounts.update().where(database.accounts.c.name == "chief"),
              role="viewer", region="370724")
    clock[0] += sessions.CHECK_SECONDS + 0.1
    assert sessions.check(data_dir, sid) == (Account("chief", "viewer", "370724"), None)


def test_an_expired_session_is_refused_even_with_a_valid_cookie(data_dir, clock):
    account, sid = signed_in(data_dir)
    elsewhere(data_dir, database.sessions.update().where(database.sessions.c.id == sid),
              expires_at=datetime.now(UTC) - timedelta(minutes=1))
    assert sessions.check(data_dir, sid) == (None, "session_expired")


def test_an_unknown_session_is_ended(data_dir, clock):
    assert sessions.check(data_dir, "no such session") == (None, "session_ended")


def test_a_single_sign_on_account_is_read_again(data_dir, clock):
    add_account(data_dir, "chief@example.org", "admin")
    assert sessions.account_named(data_dir, "chief@example.org") == Account("chief@example.org", "admin", "")
    assert users(data_dir, "disable", "chief@example.org") == 0
    assert sessions.account_named(data_dir, "chief@example.org").disabled
    assert sessions.account_named(data_dir, "nobody@example.org") is None


# The tab: the frame (app.py) on 数据管理, then the account disabled from the command line, then one more click.


@pytest.fixture()
def app_data(monkeypatch, demo_data, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(demo_data, data, ignore=shutil.ignore_patterns("access.sqlite3*", "secret.key"))
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(data))
    monkeypatch.chdir(ROOT)
    yield data
    database.dispose()


def _tab(data_dir, name: str, sid: str):
    """An open tab signed in as name, as login() leaves it (a browser's cookie is what AppTest cannot send)."""
    from streamlit.testing.v1 import AppTest
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=120)
    at.session_state["account"] = accounts.get(data_dir, name)
    at.session_state["session_id"], at.session_state["account_via"] = sid, "session"
    at.session_state["scope"] = at.session_state["account"].scope
    return at


def _admin_page_shown(at) -> bool:
    return any(s.value == t("data_title", "zh") for s in at.subheader)


def test_a_disabled_admins_open_tab_has_no_admin_page_at_its_next_click(app_data):
    add_account(app_data, "ops", "admin")  # the one who stays, so that chief is not the last administrator
    _, sid = signed_in(app_data)
    at = _tab(app_data, "chief", sid)
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    assert not at.exception and _admin_page_shown(at)
    assert users(app_data, "disable", "chief") == 0
    at.run()  # the next click in the same tab
    assert not at.exception
    assert not _admin_page_shown(at)
    assert any(t("role_required", "zh", role=t("role_admin", "zh")) in e.value for e in at.error)
    assert at.session_state["account"] is None and at.session_state["session_id"] is None
    assert any(t("session_ended", "zh") in w.value for w in at.sidebar.warning)


def test_a_tab_whose_role_was_lowered_elsewhere_loses_the_admin_page(app_data, clock):
    _, sid = signed_in(app_data)
    at = _tab(app_data, "chief", sid)
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    assert _admin_page_shown(at)
    elsewhere(app_data, database.accounts.update().where(database.accounts.c.name == "chief"), role="viewer")
    clock[0] += sessions.CHECK_SECONDS + 0.1
    at.run()
    assert not _admin_page_shown(at)
    assert at.session_state["account"] == Account("chief", "viewer", "")
    assert any(t("session_changed", "zh") in w.value for w in at.sidebar.warning)


def test_an_account_in_session_state_with_no_session_behind_it_is_not_trusted(app_data):
    add_account(app_data, "chief", "admin")
    at = _tab(app_data, "chief", None)
    at.session_state["account_via"] = None
    at.run()
    at.switch_page("pages/data.py")
    at.run()
    assert not _admin_page_shown(at) and at.session_state["account"] is None


def test_a_guests_runs_import_no_account_database(app_data):
    """A guest without a cookie has nothing to check again and pays nothing for it: two script runs of the frame
    in a fresh interpreter leave SQLAlchemy unimported (its import cost is why views/login.py imports late)."""
    import subprocess
    import sys
    script = ("import sys\n"
              "from streamlit.testing.v1 import AppTest\n"
              "at = AppTest.from_file('app.py', default_timeout=120)\n"
              "at.run(); at.run()\n"
              "assert not at.exception, at.exception\n"
              "print(at.session_state['account'], 'sqlalchemy' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["None", "False"]


@pytest.mark.browser
def test_in_the_browser_a_disabled_admins_open_tab_loses_the_data_page_at_its_next_click(browser, demo_data,
                                                                                          tmp_path):
    from junheng.tools.browser import login, screenshot, streamlit_server, wait_for_page
    from tests.conftest import PASSWORD
    data = tmp_path / "data"
    shutil.copytree(demo_data, data, ignore=shutil.ignore_patterns("access.sqlite3*", "secret.key"))
    add_account(data, "chief", "admin")
    add_account(data, "ops", "admin")
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    page = context.new_page()
    try:
        with streamlit_server(data) as url:
            login(page, url, "chief", PASSWORD)
            page.goto(f"{url}/shuju")
            wait_for_page(page)
            main = page.locator('[data-testid="stMain"]')
            assert t("data_title", "zh") in main.inner_text()
            assert users(data, "disable", "chief") == 0  # another process than the server: seen within 2 s
            page.wait_for_timeout(sessions.CHECK_SECONDS * 1000 + 500)
            main.get_by_text(t("replace_year", "zh")).click()  # the next click, in the same tab
            page.get_by_text("此页面需要“管理员”权限").wait_for(timeout=60_000)
            wait_for_page(page)
            screenshot(page, ROOT / "tests" / "screenshots" / "access_disabled_admin_next_click.png")
            assert t("data_title", "zh") not in main.inner_text()
            assert page.locator('[data-testid="stFileUploader"]').count() == 0
            sidebar = page.locator('[data-testid="stSidebar"]').inner_text()
            assert "chief（" not in sidebar and "登录已结束" in sidebar
            nav = page.inner_text('[data-testid="stSidebarNav"]')
            assert "数据管理" not in nav and "账户管理" not in nav
    finally:
        context.close()

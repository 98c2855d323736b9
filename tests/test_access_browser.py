"""Accounts in the real browser: a guest sees the demo and no upload; a county viewer keeps its login across a
reload and cannot reach another county by link, map or region table; an admin manages accounts; all audited."""
import shutil

import pytest

from junheng.access import audit
from junheng.tools.browser import ROOT, login, screenshot, streamlit_server, wait_for_page
from tests.conftest import PASSWORD, add_account

pytestmark = pytest.mark.browser
SHOTS = ROOT / "tests" / "screenshots"


@pytest.fixture(scope="module")
def data(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("access") / "data"
    shutil.copytree(demo_data, out, ignore=shutil.ignore_patterns("access.sqlite3*", "secret.key"))
    add_account(out, "chief", "admin")
    add_account(out, "linqu", "viewer", "370724")
    add_account(out, "analyst", "analyst", "3707")
    return out


@pytest.fixture(scope="module")
def server(data):
    with streamlit_server(data) as url:
        yield url


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN",
                                  accept_downloads=True)
    yield context.new_page()
    context.close()


def _main(page) -> str:
    return page.inner_text('[data-testid="stMain"]')


def _cells(page, n: int = 0) -> list[str]:
    """The cells of the n-th table shown (Streamlit draws tables on a canvas; its grid cells carry the text). A
    table's phone copy (views/phone.py: key columns in a narrow_* container) is hidden on a laptop and not counted."""
    return page.locator('[data-testid="stDataFrame"]:visible').nth(n).locator('[role="gridcell"]').all_inner_texts()


def test_a_guest_sees_the_demo_and_no_upload(server, page):
    page.goto(server)
    wait_for_page(page)
    assert "示例数据" in _main(page)
    nav = page.inner_text('[data-testid="stSidebarNav"]')
    assert "数据管理" not in nav and "账户管理" not in nav
    page.goto(f"{server}/shuju")
    page.get_by_text("此页面需要“管理员”权限").wait_for(timeout=60_000)
    screenshot(page, SHOTS / "access_guest_data_page.png")
    assert "此页面需要“管理员”权限" in _main(page) and "Page not found" not in page.inner_text("body")
    assert page.locator('[data-testid="stFileUploader"]').count() == 0


def test_a_wrong_password_gets_one_clear_message(server, page, data):
    page.goto(server)
    wait_for_page(page)
    sidebar = page.locator('[data-testid="stSidebar"]')
    sidebar.get_by_label("用户名").fill("linqu")
    sidebar.get_by_label("密码").fill("not the password")
    sidebar.get_by_role("button", name="登录").click()
    page.get_by_text("用户名或密码不正确。").wait_for(timeout=30_000)
    assert "linqu（" not in sidebar.inner_text()
    assert "login_failed" in audit.entries(data).filter(audit.entries(data)["account"] == "linqu")["action"].to_list()


def test_a_county_viewer_stays_in_its_county(server, page, data):
    login(page, server, "linqu", PASSWORD)
    assert "临朐县" in _main(page)
    page.reload()
    wait_for_page(page)
    assert "linqu（" in page.locator('[data-testid="stSidebar"]').inner_text()  # the login survives a reload
    page.goto(f"{server}/pinggu?county=341202")  # another county by link
    wait_for_page(page)
    body = _main(page)
    screenshot(page, SHOTS / "access_county_viewer_link.png")
    assert "不在您的权限范围内" in body and "颍州区" not in body and "临朐县" in body
    county_box = page.locator('[data-testid="stSidebar"] [data-testid="stSelectbox"]').nth(2)
    county_box.click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    assert options == ["临朐县"] or set(options) <= {"全部", "临朐县"}  # no other county to pick
    page.locator('[data-testid="stMain"]').get_by_text("地区排名", exact=True).click()  # the region table
    wait_for_page(page)
    table = _cells(page)
    assert "临朐县" in table and "寿光市" not in table and "颍州区" not in table
    frame = page.locator('iframe[src*="map_component.county_map"]').first  # the county-map component
    frame.wait_for(state="attached")
    assert frame.evaluate("f => f.contentWindow.junhengMap.state().counties") <= 1  # only the account's county


def test_an_analyst_export_is_audited_and_a_viewer_gets_none(server, page, data):
    login(page, server, "linqu", PASSWORD)
    page.goto(f"{server}/liushou?county=370724")
    wait_for_page(page)
    assert "导出学校明细需要" in _main(page)
    page.goto(server)
    page.context.clear_cookies()
    login(page, server, "analyst", PASSWORD)
    page.goto(f"{server}/liushou?county=370724")
    wait_for_page(page)
    with page.expect_download() as download:
        page.get_by_role("button", name="下载 CSV").first.click()
    assert download.value.suggested_filename.endswith(".csv")
    log = audit.entries(data)
    exports = log.filter((log["action"] == "export") & (log["account"] == "analyst"))
    assert exports.height >= 1 and '"format": "csv"' in exports["details"][0]


def test_an_admin_adds_an_account_and_sees_the_audit_log(server, page, data):
    login(page, server, "chief", PASSWORD)
    page.goto(f"{server}/zhanghu")
    wait_for_page(page)
    form = page.locator('[data-testid="stForm"]').filter(has_text="添加账户")
    form.get_by_label("用户名").fill("weifang")
    form.get_by_role("textbox", name="地区代码", exact=True).fill("3707")
    form.get_by_label("密码").fill(PASSWORD)
    form.get_by_role("button", name="添加账户").click()
    page.get_by_text("已添加账户“weifang”").wait_for(timeout=30_000)
    wait_for_page(page)
    screenshot(page, SHOTS / "access_accounts_page.png")
    assert "weifang" in _cells(page)
    log = audit.entries(data)
    added = log.filter(log["action"] == "account_add")
    assert "chief" in added["account"].to_list() and any("weifang" in d for d in added["details"])
    assert {"login", "login_failed", "account_add", "export"} <= set(log["action"])

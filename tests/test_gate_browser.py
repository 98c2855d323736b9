"""The one gate in the real browser (issue 22): a county administrator neither sees nor changes accounts outside
its county and cannot create a wider one; it cannot import another county's self-assessment; its imports and
rollbacks of the self-assessment are in the audit log, which shows it its own county's entries only."""
import json
import shutil

import polars as pl
import pytest

from junheng.access import accounts, audit
from junheng.data import county_table
from junheng.tools.browser import ROOT, login, screenshot, streamlit_server, wait_for_page
from tests.conftest import PASSWORD, add_account

pytestmark = pytest.mark.browser
SHOTS = ROOT / "tests" / "screenshots"


@pytest.fixture(scope="module")
def data(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("gate") / "data"
    shutil.copytree(demo_data, out, ignore=shutil.ignore_patterns("access.sqlite3*", "secret.key"))
    add_account(out, "chief", "admin")
    add_account(out, "lq_admin", "admin", "370724")
    add_account(out, "lq_view", "viewer", "370724")
    add_account(out, "cl_view", "viewer", "370725")
    return out


@pytest.fixture(scope="module")
def server(data):
    with streamlit_server(data) as url:
        yield url


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN")
    yield context.new_page()
    context.close()


def _cells(page, n: int = 0) -> list[str]:
    return page.locator('[data-testid="stDataFrame"]').nth(n).locator('[role="gridcell"]').all_text_contents()


def _add(page, name: str, region: str) -> None:
    form = page.locator('[data-testid="stForm"]').filter(has_text="添加账户")
    form.get_by_label("用户名").fill(name)
    form.get_by_role("textbox", name="地区代码", exact=True).fill(region)
    form.get_by_label("密码").fill(PASSWORD)
    form.get_by_role("button", name="添加账户").click()
    wait_for_page(page)


def test_a_county_admin_sees_and_manages_only_its_countys_accounts(server, page, data):
    login(page, server, "lq_admin", PASSWORD)
    page.goto(f"{server}/zhanghu")
    wait_for_page(page)
    page.locator('[data-testid="stDataFrame"] [role="gridcell"]').first.wait_for(state="attached", timeout=30_000)
    screenshot(page, SHOTS / "gate_county_admin_accounts.png")
    cells = _cells(page)
    assert "lq_view" in cells and "lq_admin" in cells
    assert not {"chief", "cl_view"} & set(cells)
    page.locator(".st-key-account_chosen").click()
    options = page.get_by_role("option").all_inner_texts()
    page.keyboard.press("Escape")
    assert set(options) == {"lq_admin", "lq_view"}
    for region in ("", "37", "370725"):  # wider than the county, or another county: refused, nothing made
        _add(page, f"grab{region or 'all'}", region)
        page.get_by_text("不能创建超出本账户权限的账户").first.wait_for(timeout=30_000)
        assert accounts.get(data, f"grab{region or 'all'}") is None
    screenshot(page, SHOTS / "gate_county_admin_refused.png")
    _add(page, "lq_clerk", "370724")
    page.get_by_text("已添加账户“lq_clerk”").wait_for(timeout=30_000)
    assert accounts.get(data, "lq_clerk").region == "370724"
    assert accounts.verify(data, "chief", PASSWORD).role == "admin"  # the national admin's password is as it was


def _upload(page, path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
    wait_for_page(page)


def test_a_county_admin_cannot_import_another_countys_self_assessment_and_its_own_is_audited(server, page, data,
                                                                                          tmp_path):
    sample = pl.read_csv(county_table.SAMPLE, infer_schema=False)
    sample = sample.filter(pl.col("county_code") == sample["county_code"][0])  # one county's items
    other, own = tmp_path / "changle.csv", tmp_path / "linqu.csv"
    other.write_text(sample.with_columns(pl.lit("370725").alias("county_code")).write_csv(), encoding="utf-8")
    own.write_text(sample.with_columns(pl.lit("370724").alias("county_code")).write_csv(), encoding="utf-8")
    login(page, server, "lq_admin", PASSWORD)
    page.goto(f"{server}/shuju")
    wait_for_page(page)
    page.locator(".st-key-import_table").get_by_text("县级自评表").click()
    wait_for_page(page)
    _upload(page, other)
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("370725").first.wait_for(state="attached", timeout=60_000)
    screenshot(page, SHOTS / "gate_county_admin_other_county.png")
    assert page.get_by_role("button", name="确认导入").count() == 0  # no import offered for a file with errors
    assert not county_table.versions(data).height
    _upload(page, own)
    page.get_by_role("button", name="确认导入").first.click()
    wait_for_page(page)
    page.get_by_text("已导入").first.wait_for(timeout=60_000)
    versions = county_table.versions(data)
    assert versions.height == 1
    page.get_by_role("button", name="回退到此版本").click()
    wait_for_page(page)
    log = audit.entries(data).filter(pl.col("account") == "lq_admin")
    acted = log.filter(pl.col("action").is_in(["import", "rollback"]))
    assert acted["action"].to_list()[:2] == ["rollback", "import"]
    assert all(json.loads(d)["table"] == "county" for d in acted["details"]) and set(acted["region"]) == {"370724"}
    shown = page.locator('[data-testid="stDataFrame"]').last.locator('[role="gridcell"]').all_text_contents()
    # the audit list on the data page: this county's entries only
    assert "lq_admin" in shown and "chief" not in shown and "cl_view" not in shown

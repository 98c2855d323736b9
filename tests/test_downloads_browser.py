"""Every reader takes away what they see (issue 27 item 1): a guest and a county viewer open 均衡评估 for 临朐 2025,
download the 整改清单 and the 达标方案 (and its years) as Excel, and get the page's rows; each file is audited."""
import json
import shutil

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from junheng import settings
from junheng.access import audit
from junheng.figures import evaluation_tables as tables
from junheng.rules import plan as plans
from junheng.rules import rectification
from junheng.tools.browser import ROOT, login, screenshot, streamlit_server, wait_for_page
from junheng.views import rectification_views as views
from tests.conftest import PASSWORD, add_account

pytestmark = pytest.mark.browser
SHOTS = ROOT / "tests" / "screenshots"
COUNTY, YEAR = "370724", 2025


@pytest.fixture(scope="module")
def data(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("downloads") / "data"
    shutil.copytree(demo_data, out, ignore=shutil.ignore_patterns("access.sqlite3*", "secret.key"))
    add_account(out, "lq_view", "viewer", COUNTY)
    return out


@pytest.fixture(scope="module")
def server(data):
    with streamlit_server(data) as url:
        yield url


@pytest.fixture(scope="module")
def expected(demo_frame):
    """The page's tables, built by the views' own functions from the county's rows."""
    rules = settings.load_thresholds()
    rows = demo_frame.filter((pl.col("county_code") == COUNTY) & (pl.col("year") == YEAR))
    items, _ = rectification.rectification(rows, rules)
    best = plans.minimum_cost_plan(rows, rules)
    target, budget = plans.defaults(rules, YEAR)
    yearly = plans.schedule(rows, rules, YEAR, target, budget, None, "zh", best=best)
    names = dict(zip(rows["school_id"], rows["school_name"]))
    return {"list": views.school_list(items, "zh"), "plan": views.plan_table(best.changes, "zh"),
            "years": tables.schedule_years_frame(yearly, names, "zh")}


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN", accept_downloads=True)
    yield context.new_page()
    context.close()


def _download(page, key: str) -> pl.DataFrame:
    button = page.locator(f".st-key-{key} button")
    button.scroll_into_view_if_needed()
    with page.expect_download(timeout=120_000) as download:
        button.click()
    assert download.value.suggested_filename.endswith(".xlsx")
    return pl.read_excel(download.value.path())


def _open(page, server: str, view: str) -> None:
    page.goto(f"{server}/pinggu?county={COUNTY}&year={YEAR}&evaluation_view={view}")
    wait_for_page(page, timeout_ms=180_000)
    errors = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.all_inner_texts()


@pytest.mark.parametrize("who", ["guest", "lq_view"])
def test_a_guest_and_a_viewer_download_the_rectification_list_and_the_plan_as_shown(server, page, data, expected,
                                                                                      who):
    if who != "guest":
        login(page, server, who, PASSWORD)
    _open(page, server, "tab_rectification")
    shown = page.locator('.st-key-wide_rectification_1 [data-testid="stDataFrame"] [role="gridcell"]')
    shown.first.wait_for(state="attached", timeout=30_000)
    cells = shown.all_text_contents()
    screenshot(page, SHOTS / f"downloads_rectification_{who}.png")
    got = _download(page, "dl_rect_list_xlsx")
    assert got.height == expected["list"].height > 20  # the demo county has a long list: the test can fail
    assert_frame_equal(got, expected["list"], check_dtypes=False, rel_tol=1e-12)  # Excel keeps 15 digits
    # the rows the page's grid holds (those on screen), cell by cell as the page formats them, are the file's first
    width = len(got.columns)
    assert len(cells) >= 3 * width
    for n in range(len(cells) // width):
        row = got.row(n, named=True)
        on_page = cells[n * width:(n + 1) * width]
        assert on_page[:4] == [row["优先级"], row["学校名称"], row["学段"], row["指标"]], on_page
        assert on_page[7] == row["缺口"]
        for cell, column, digits in ((4, "现值", 2), (5, "最低标准", 2), (8, "估算费用（元）", 0)):  # as the grid shows
            assert abs(float(on_page[cell].replace(",", "")) - row[column]) <= 0.5 * 10 ** -digits, (on_page, column)
    _open(page, server, "tab_plan")
    plan = _download(page, "dl_plan_xlsx")
    assert plan.height == expected["plan"].height > 0
    assert_frame_equal(plan, expected["plan"], check_dtypes=False, rel_tol=1e-12)
    years = _download(page, "dl_plan_years_xlsx")
    assert_frame_equal(years, expected["years"], check_dtypes=False, rel_tol=1e-12)
    log = audit.entries(data).filter((pl.col("account") == who) & (pl.col("action") == "export"))
    files = [json.loads(d)["file"] for d in log["details"]]
    assert files[:3] == [f"分年度方案_{COUNTY}_{YEAR}", f"达标方案_{COUNTY}_{YEAR}", f"整改清单_{COUNTY}_{YEAR}"]
    assert set(log["region"].to_list()[:3]) == {COUNTY}

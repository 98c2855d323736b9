"""The county deck from the evaluation page in a real browser: an analyst downloads the PPTX and gets the same
CVs as `junheng evaluate --json`; a guest sees no deck section."""
import io
import json
import shutil

import pytest
from playwright import sync_api as playwright
from pptx import Presentation

from junheng.i18n import t
from junheng.tools import cli
from junheng.tools.browser import CHROMIUM, CHROMIUM_ARGS, ROOT, login, screenshot, streamlit_server, wait_for_page
from tests.conftest import PASSWORD, add_account

pytestmark = pytest.mark.browser
COUNTY, YEAR = "370724", 2025


@pytest.fixture(scope="module")
def data(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("deck") / "data"
    shutil.copytree(demo_data, out, ignore=shutil.ignore_patterns("access.sqlite3*", "secret.key"))
    add_account(out, "presenter", "analyst", "3707")
    return out


def test_analyst_downloads_the_deck_from_the_evaluation_page(data, capsys):
    assert cli.main(["evaluate", "--data-dir", str(data), "--county", COUNTY, "--year", str(YEAR), "--json"]) == 0
    expected = json.loads(capsys.readouterr().out)
    with streamlit_server(data) as url, playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1400, "height": 1000}, locale="zh-CN",
                                   accept_downloads=True).new_page()
        page.goto(f"{url}/pinggu?county={COUNTY}&year={YEAR}")
        wait_for_page(page)
        assert page.get_by_role("button", name="生成 PPTX").count() == 0  # a guest: no deck
        assert page.get_by_text(t("deck_download", "zh")).count() == 0
        login(page, url, "presenter", PASSWORD)
        page.goto(f"{url}/pinggu?county={COUNTY}&year={YEAR}")
        wait_for_page(page)
        button = page.get_by_role("button", name="生成 PPTX")
        (ROOT / "tests" / "screenshots").mkdir(exist_ok=True)
        screenshot(page, ROOT / "tests" / "screenshots" / "evaluation_deck_download.png")
        button.scroll_into_view_if_needed()
        with page.expect_download(timeout=120_000) as download:
            button.click()
        assert download.value.suggested_filename == f"督导报告_{COUNTY}_{YEAR}.pptx"
        deck = Presentation(io.BytesIO(download.value.path().read_bytes()))
        browser.close()
    cells = {cell.text for slide in deck.slides for shape in slide.shapes if shape.has_table
             for row in shape.table.rows for cell in row.cells}
    for level in expected["levels"].values():
        assert f"{level['basic']['composite']:.3f}" in cells
        assert all(f"{cv:.3f}" in cells for cv in level["quality"]["cv"].values())

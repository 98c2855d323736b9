"""The researcher's workbench in a real browser: a cohort built from facets, two cohorts compared, a pasted link
(reload, back and forward), and each export format — each checked against `junheng cohort` on the same data."""
import io
import json
import shutil
from urllib.parse import parse_qs, urlparse

import pandas as pd
import polars as pl
import pyarrow.parquet as pq
import pytest

from junheng.tools import cli
from junheng.tools.browser import ROOT, login, screenshot, streamlit_server, wait_for_page
from tests.conftest import PASSWORD, add_account

pytestmark = pytest.mark.browser
SHOTS = ROOT / "tests" / "screenshots"
COUNTY = "370724"  # 临朐县


@pytest.fixture(scope="module")
def data(demo_data, tmp_path_factory):
    out = tmp_path_factory.mktemp("cohort") / "data"
    shutil.copytree(demo_data, out, ignore=shutil.ignore_patterns("access.sqlite3*", "secret.key"))
    add_account(out, "researcher", "analyst")  # the whole country; analysts may export school rows
    return out


@pytest.fixture(scope="module")
def server(data):
    with streamlit_server(data) as url:
        yield url


@pytest.fixture()
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1100}, locale="zh-CN", accept_downloads=True)
    pg = context.new_page()
    pg.js_errors = []
    pg.on("pageerror", lambda e: pg.js_errors.append(str(e)))
    yield pg
    context.close()


def expected_rows(data, tmp_path, where: list[str], first=None, last=None) -> pl.DataFrame:
    """The cohort as the command line writes it (tests/test_cohort.py checks that against a hand-written query)."""
    out = tmp_path / "expected.parquet"
    argv = ["cohort", "--data-dir", str(data), "--region", COUNTY, "--out", str(out)]
    argv += ["--year-from", str(first)] if first else []
    argv += ["--year-to", str(last)] if last else []
    for w in where:
        argv += ["--where", w]
    assert cli.main(argv) == 0
    return pl.read_parquet(out)


def conditions_box(page, label: str = "条件（每行一个）") -> str:
    return page.get_by_role("textbox", name=label, exact=True).input_value()


def link(page) -> dict:
    return {k: v for k, v in parse_qs(urlparse(page.url).query).items()}


def main_text(page) -> str:
    return page.inner_text('[data-testid="stMain"]')


def no_errors(page) -> None:
    shown = page.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    assert shown.count() == 0, shown.all_inner_texts()
    assert page.js_errors == []


def schools_metric(page) -> int:
    metric = page.locator('[data-testid="stMetric"]').filter(has_text="学校").first
    return int(metric.locator('[data-testid="stMetricValue"]').inner_text().replace(",", ""))


def test_a_cohort_built_from_facets(server, data, page, tmp_path):
    from junheng.rules import cohort as grammar
    page.goto(f"{server}/yanjiu?county={COUNTY}")
    wait_for_page(page)
    everyone = expected_rows(data, tmp_path, [])
    assert schools_metric(page) == everyone["school_id"].n_unique()
    page.locator('[data-testid="stButtonGroup"] button').filter(has_text="乡村 ·").first.click()
    page.wait_for_function("() => location.search.includes('where=')", timeout=60_000)
    wait_for_page(page)
    where = conditions_box(page)
    assert where == "城乡 = 乡村", where  # written in the screen's language
    rural = expected_rows(data, tmp_path, where.splitlines())
    assert 0 < rural["school_id"].n_unique() < everyone["school_id"].n_unique()
    assert schools_metric(page) == rural["school_id"].n_unique()
    # the facet is in the link as the same condition, in its canonical form (the link reads the same in any language)
    assert link(page)["where"] == [grammar.parse(line).text for line in where.splitlines()] == ["urban_rural = rural"]
    SHOTS.mkdir(exist_ok=True)
    screenshot(page, SHOTS / "cohort_facets.png")
    no_errors(page)


def test_two_cohorts_compared(server, data, page, tmp_path):
    page.goto(f"{server}/yanjiu?county={COUNTY}&view=compare&compare=b"
              "&where=school_type%20%3D%20primary&bwhere=school_type%20%3D%20junior&measure=students_per_teacher")
    wait_for_page(page)
    assert conditions_box(page) == "school_type = primary"
    assert conditions_box(page, "队列 B 的条件（每行一个）") == "school_type = junior"
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for(timeout=30_000)
    charts = page.locator('[data-testid="stPlotlyChart"] .main-svg')
    page.wait_for_function("() => document.querySelectorAll('[data-testid=\"stPlotlyChart\"] .main-svg').length >= 2",
                           timeout=30_000)
    assert charts.count() >= 2  # both distributions overlaid and both trends on one chart
    legend = page.locator('[data-testid="stPlotlyChart"] .legend').first.text_content()
    assert "A" in legend and "B" in legend, legend
    assert expected_rows(data, tmp_path, ["school_type = primary"]).height > 0
    assert expected_rows(data, tmp_path, ["school_type = junior"]).height > 0
    screenshot(page, SHOTS / "cohort_compare.png")
    no_errors(page)


def test_a_pasted_link_reload_back_and_forward(server, page):
    url = (f"{server}/yanjiu?county={COUNTY}&from=2020&to=2024&where=urban_rural%20%3D%20rural"
           "&measures=students_per_teacher,left_behind_share&measure=left_behind_share&view=trend")
    page.goto(url)
    wait_for_page(page)

    def as_linked():
        assert conditions_box(page) == "urban_rural = rural"
        chosen = link(page)
        assert chosen["view"] == ["trend"] and chosen["from"] == ["2020"] and chosen["to"] == ["2024"]
        assert chosen["measures"] == ["students_per_teacher,left_behind_share"]
        page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=30_000)
        assert "留守儿童占比" in main_text(page)  # the chosen measure is the one drawn
    as_linked()
    page.reload()
    wait_for_page(page)
    as_linked()
    page.locator('[data-testid="stButtonGroup"] button').filter(has_text="汇总").first.click()
    page.wait_for_function("() => !location.search.includes('view=')", timeout=60_000)
    wait_for_page(page)
    page.go_back()
    page.wait_for_function("() => location.search.includes('view=trend')", timeout=60_000)
    wait_for_page(page)
    as_linked()
    page.go_forward()
    page.wait_for_function("() => !location.search.includes('view=')", timeout=60_000)
    wait_for_page(page)
    assert conditions_box(page) == "urban_rural = rural"
    no_errors(page)


def test_each_export_format_is_the_cohort_shown(server, data, page, tmp_path):
    where = "school_type = primary"
    login(page, server, "researcher", PASSWORD)
    page.goto(f"{server}/yanjiu?county={COUNTY}&view=rows&from=2023&where=school_type%20%3D%20primary")
    wait_for_page(page)
    expected = expected_rows(data, tmp_path, [where], first=2023).sort("school_id", "year")
    files = {}
    for kind, label in (("csv", "下载 CSV"), ("xlsx", "下载 Excel"), ("parquet", "下载 Parquet"),
                        ("dta", "下载 Stata (.dta)")):
        with page.expect_download(timeout=60_000) as download:
            page.get_by_role("button", name=label).click()
        files[kind] = download.value.path().read_bytes()
        assert download.value.suggested_filename.endswith(f".{kind}")
    assert files["csv"].startswith(b"\xef\xbb\xbf")  # UTF-8 with BOM, as Excel in China expects
    csv = pl.read_csv(io.BytesIO(files["csv"]), infer_schema=False)
    xlsx = pl.read_excel(io.BytesIO(files["xlsx"]), sheet_id=0)
    parquet = pl.read_parquet(io.BytesIO(files["parquet"]))
    for got in (csv, next(iter(xlsx.values())), parquet):
        got = got.with_columns(pl.col("year").cast(pl.Int64), pl.col("school_id").cast(pl.String))
        assert got.sort("school_id", "year").select("school_id", "year").rows() == \
            expected.select(pl.col("school_id").cast(pl.String), pl.col("year").cast(pl.Int64)).rows()
    assert len(xlsx) == 2  # the rows and the data dictionary
    meta = pq.read_schema(io.BytesIO(files["parquet"])).metadata
    assert b"$c0" in meta[b"junheng.query"] and json.loads(meta[b"junheng.params"])["c0"] == "primary"
    assert json.loads(meta[b"junheng.request"])["where"] == [where]
    (tmp_path / "c.dta").write_bytes(files["dta"])  # Stata's file: the same rows, the type as its label
    stata = pd.read_stata(tmp_path / "c.dta")
    stata_rows = [tuple(r) for r in stata[["school_id", "year"]].values.tolist()]
    assert stata_rows == parquet.select("school_id", "year").rows()
    assert set(stata["school_type"].astype(str)) == {"小学"}
    assert any(d["column"] == "school_id" for d in json.loads(meta[b"junheng.dictionary"]))
    no_errors(page)


def test_the_readme_example_link_opens_the_cohort_it_describes(server, data, page, tmp_path):
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    path = next(line.strip() for line in readme.splitlines() if line.strip().startswith("http://localhost:8501/yanjiu?"))
    page.goto(server + path.removeprefix("http://localhost:8501"))
    wait_for_page(page)
    # 乡村 in its canonical form
    assert conditions_box(page).splitlines() == ["urban_rural = rural", "students_per_teacher > 15"]
    assert "潍坊市" in main_text(page)
    table = page.locator('[data-testid="stDataFrame"]').first
    table.wait_for(timeout=30_000)  # the comparison with the rest of the prefecture
    no_errors(page)

"""Shared links and the region an account may read (issue 22, part 5): a link's region outside the account's is
refused with a notice, and what a page names is what it shows; a damaged year is named beside the cohort's files."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from junheng.i18n import t
from junheng.views import links
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def tiny_env(monkeypatch, tiny_data):
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(tiny_data))
    monkeypatch.chdir(ROOT)


def _page(name: str, account_region: str | None = None, **params) -> AppTest:
    """The page alone, opened from a link with params, as a viewer of account_region (None: a guest)."""
    at = AppTest.from_file(str(ROOT / "pages" / name), default_timeout=120)
    if account_region is not None:
        sign_in(at, "viewer", account_region)
    for key, value in params.items():
        at.query_params[key] = value
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def _warnings(at: AppTest) -> str:
    """The link notices among the warnings (the synthetic-data notice is one too)."""
    return "\n".join(w.value for w in at.warning if "链接" in w.value)


@pytest.mark.parametrize("wider", ["37", "3707"])
def test_a_link_to_a_region_wider_than_the_account_gets_the_outside_notice_and_the_accounts_region(wider):
    at = _page("overview.py", "370724", region=wider)
    assert t("link_outside_region", "zh", value=wider) in _warnings(at)
    heading = at.subheader[0].value
    assert "临朐县" in heading, heading  # it used to read 山东省 · 2025 年概况 over 临朐's figures
    # no level of the cascade offers a region wider than the account's
    assert at.sidebar.selectbox(key="province").options == ["山东省"]
    assert at.sidebar.selectbox(key="prefecture").options == ["潍坊市"]
    assert at.sidebar.selectbox(key="county").options == ["临朐县"]


def test_a_link_to_another_county_gets_the_county_notice():
    at = _page("overview.py", "370724", county="370305")
    assert t("link_outside", "zh", value="370305") in _warnings(at)
    assert "临朐县" in at.subheader[0].value


def test_a_prefecture_account_may_follow_a_link_into_its_county_and_choose_its_whole_prefecture():
    at = _page("overview.py", "3707", county="370724")
    assert not _warnings(at) and "临朐县" in at.subheader[0].value
    assert at.sidebar.selectbox(key="county").options == ["全部", "临朐县"]
    assert at.sidebar.selectbox(key="prefecture").options == ["潍坊市"]


def test_the_cohort_page_takes_a_county_as_its_region_link():
    at = _page("cohort.py", region="370724")
    assert not _warnings(at)  # refused as malformed before
    assert "临朐县" in at.subheader[0].value
    assert at.sidebar.selectbox(key="county").value == "370724"


@pytest.mark.parametrize("value, problem", [("37", None), ("3707", None), ("370724", None), ("370", "malformed"),
                                            ("3707241", "malformed"), ("999999", "unknown")])
def test_a_region_link_is_two_four_or_six_digits(value, problem):
    link = links.parse({"region": value}, "en", {"region": {"37", "3707", "370724"}})
    assert (link.notices == []) == (problem is None)
    if problem:
        assert link.notices == [t(f"link_{problem}", "en", name="region", value=value)]


def test_the_cohort_page_names_a_damaged_year_its_files_leave_out(tiny_data):
    import polars as pl

    from junheng.data import demo, store
    from tests.conftest import FIXTURE_ROWS, frame
    later = frame(FIXTURE_ROWS).filter(pl.col("year") == 2024).with_columns(pl.lit(2025, pl.Int32).alias("year"))
    demo.write_snapshot(tiny_data, 2025, later, source="tests", synthetic=True)
    path = store.current_path(tiny_data, 2024)
    path.write_bytes(path.read_bytes()[:100])
    at = AppTest.from_file(str(ROOT / "pages" / "cohort.py"), default_timeout=120)
    sign_in(at, "analyst")
    at.query_params["view"] = "rows"
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert any("2024 年数据暂不可用" in e.value for e in at.error)  # the sidebar names it on every page
    note = t("cohort_damaged_left_out", "zh", years="2024")
    assert any(note in w.value for w in at.warning)  # and the cohort's files say so beside their buttons
    assert at.session_state["cohort_years"] == (2023, 2025)

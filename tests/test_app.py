"""AppTest: the frame with every page, every page file alone, both languages, a selected county."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from junheng.i18n import t
from junheng.views import present
from tests.conftest import sign_in

ROOT = Path(__file__).resolve().parent.parent
REGIONLESS = {"pages/data.py", "pages/accounts.py"}  # data and account management show no region
ADMIN_PAGES = REGIONLESS
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "pages").glob("*.py"))


@pytest.fixture(autouse=True)
def demo_env(monkeypatch, demo_data):
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    monkeypatch.chdir(ROOT)


def _run(at: AppTest) -> AppTest:
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    # The frame catches a page's exception and shows one line instead: that is a failure too.
    assert not any(t("page_error", lang) in e.value for e in at.error for lang in ("zh", "en")), at.error
    return at


def _charts(at: AppTest) -> list[dict]:
    """The charts a run drew (present.chart: st.html elements carrying a figure and its config), each checked to
    be whole: a list of traces, a layout, and the PNG download named for the chart."""
    charts = [c for c in (present.chart_data(h.proto.body) for h in at.get("html")) if c is not None]
    for c in charts:
        assert isinstance(c["figure"]["data"], list) and isinstance(c["figure"]["layout"], dict), c
        assert c["config"]["toImageButtonOptions"]["filename"], c["config"]
    return charts


def _as_admin_for(at: AppTest, page: str) -> AppTest:
    """Administrator pages are tested signed in as an administrator (the login itself: test_access_browser)."""
    return sign_in(at) if page in ADMIN_PAGES else at


def _texts(at: AppTest) -> str:
    parts = [m.value for m in at.markdown] + [s.value for s in at.subheader] + [w.value for w in at.warning]
    parts += [m.label for m in at.metric] + [i.value for i in at.info]
    return "\n".join(str(p) for p in parts)


def test_every_page_is_in_the_frame():
    frame = (ROOT / "app.py").read_text(encoding="utf-8")
    for page in PAGES:
        assert f'"{page}"' in frame, page


def test_frame_shows_sidebar_and_synthetic_notice():
    at = _run(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120))
    assert "示例数据" in _texts(at)
    assert at.sidebar.selectbox(key="year").value == 2025


@pytest.mark.parametrize("page", PAGES)
def test_page_in_frame_runs(page):
    # AppTest drops the frame's own elements after switch_page; the browser test sees them.
    at = _run(_as_admin_for(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120), page))
    at.switch_page(page)
    _run(at)
    assert len(at.main.children) > 2


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_alone_with_defaults(page):
    at = _run(_as_admin_for(AppTest.from_file(str(ROOT / page), default_timeout=120), page))
    assert at.sidebar.selectbox(key="year").value == 2025
    assert "示例数据" in _texts(at)


@pytest.mark.parametrize("page", PAGES)
def test_page_alone_with_a_county_in_english(page):
    at = _as_admin_for(AppTest.from_file(str(ROOT / page), default_timeout=120), page)
    at.query_params["county"] = "370724"
    at.query_params["lang"] = "en"
    _run(at)
    assert at.sidebar.selectbox(key="county").value == "370724"
    text = _texts(at)
    assert "synthetic" in text
    if page not in REGIONLESS:
        assert "临朐县" in text


def test_missing_data_directory_says_so(monkeypatch, tmp_path):
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(tmp_path / "nothing"))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60)
    at.run()
    assert not at.exception
    assert any("没有任何年度快照" in e.value for e in at.error)


@pytest.mark.parametrize("view", ["tab_county", "tab_schools", "tab_movers", "tab_what_if", "tab_region"])
def test_every_evaluation_view_runs_for_a_county(view):
    at = AppTest.from_file(str(ROOT / "pages" / "evaluation.py"), default_timeout=120)
    at.query_params["county"] = "341202"
    at.session_state["evaluation_view"] = view
    _run(at)
    assert len(at.dataframe) + len(_charts(at)) > 0


def test_left_behind_breakdowns_and_map_metric_run():
    at = AppTest.from_file(str(ROOT / "pages" / "left_behind.py"), default_timeout=120)
    at.query_params["county"] = "370724"
    for by, metric in (("urban_rural_group", "left_behind_share"), ("is_boarding", "left_behind_students")):
        at.session_state["left_behind_by"] = by
        at.session_state["left_behind_metric"] = metric
        _run(at)


def test_a_damaged_year_is_named_and_the_others_keep_working(monkeypatch, tmp_path, demo_data):
    import shutil

    from junheng.data import store
    data = tmp_path / "data"
    shutil.copytree(demo_data, data)
    store.current_path(data, 2020).write_bytes(b"not parquet at all")
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(data))
    at = _run(AppTest.from_file(str(ROOT / "pages" / "overview.py"), default_timeout=120))
    assert any("2020 年数据暂不可用" in e.value and "快照文件损坏" in e.value for e in at.error)
    assert "2020" not in at.sidebar.selectbox(key="year").options and "2025" in at.sidebar.selectbox(key="year").options
    assert len(at.metric) == 6  # the headline figures of 2025 still show


@pytest.mark.parametrize("page", sorted(ADMIN_PAGES))
def test_a_guest_reaching_an_admin_page_is_refused_clearly(page):
    at = _run(AppTest.from_file(str(ROOT / page), default_timeout=120))
    assert any(t("role_required", "zh", role=t("role_admin", "zh")) in e.value for e in at.error)
    assert not at.get("file_uploader") and all(b.key in ("logout",) or "login" in str(b.key) for b in at.button)
    assert not at.dataframe  # no versions, no accounts, no audit log


def test_with_guest_access_off_only_the_login_form_shows(monkeypatch):
    monkeypatch.setenv("JUNHENG_GUEST_ACCESS", "0")
    at = _run(AppTest.from_file(str(ROOT / "app.py"), default_timeout=120))
    assert any(t("login_required", "zh") in i.value for i in at.info)
    assert not at.metric and at.text_input(key="login_name") is not None


@pytest.mark.parametrize("role, exact_setting, suppressed", [("analyst", "1", False), ("analyst", "0", True),
                                                              ("viewer", "1", True)])
def test_exact_small_counts_only_for_analysts_when_the_setting_allows(monkeypatch, role, exact_setting, suppressed):
    monkeypatch.setenv("JUNHENG_ANALYST_EXACT_COUNTS", exact_setting)
    # every row of the care-gap list on the page (it shows 100; its "<5" rows sort last, by name)
    from junheng.views import left_behind_data
    monkeypatch.setattr(left_behind_data, "GAP_ROWS", 5000)
    at = sign_in(AppTest.from_file(str(ROOT / "pages" / "left_behind.py"), default_timeout=120), role)
    at.query_params["county"] = "341221"  # 临泉县: many small schools
    _run(at)
    shown = "\n".join(str(v) for df in at.dataframe for v in df.value.to_numpy().ravel())
    assert ("<5" in shown) == suppressed


def _cohort_page(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "pages" / "cohort.py"), default_timeout=120)
    for name, value in params.items():
        at.query_params[name] = value
    return at


def test_a_cohort_link_opens_the_same_cohort_as_a_hand_written_query(demo_data):
    from tests.test_cohort import WHERE, _hand_written
    at = _cohort_page(region="3707", **{"from": "2016", "to": "2024"})
    at.query_params["where"] = WHERE
    _run(at)
    expected = _hand_written(demo_data)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["学校·年度"] == f"{expected.height:,}"
    assert metrics["学校"] == f"{expected['school_id'].n_unique():,}"
    assert at.session_state["cohort_years"] == (2016, 2024)
    assert at.text_area(key="cohort_where").value.splitlines() == [
        "urban_rural = rural", "school_type in (primary, teaching_point)", "students >= 50", "is_boarding = false",
        "books_per_student > 20"]


@pytest.mark.parametrize("view", ["summary", "distribution", "trend", "map", "compare", "similar", "rows"])
def test_every_cohort_view_runs(view):
    at = _run(_cohort_page(county="370724", view=view, where="school_type = 小学"))
    assert len(at.dataframe) + len(_charts(at)) + len(at.get("iframe")) > 0 or view == "map"


def test_bad_cohort_links_are_ignored_with_a_notice_naming_them():
    import time
    at = _cohort_page(view="nonsense", measures="books_per_student,drop_table", k="99", to="1999")
    at.query_params["where"] = ["foo > 3", "x" * 20_000, "school_type = 小学"]
    started = time.perf_counter()
    _run(at)
    assert time.perf_counter() - started < 60
    warnings = "\n".join(w.value for w in at.warning)
    assert "foo \\> 3" in warnings and "view" in warnings and "drop\\_table" in warnings and " k=" in warnings
    assert "too long" in warnings or "过长" in warnings
    assert at.text_area(key="cohort_where").value == "school_type = primary"
    assert at.multiselect(key="cohort_measures").value == ["books_per_student"]


def test_a_bad_condition_typed_in_says_so_and_the_rest_still_apply():
    at = _run(_cohort_page(county="370724"))
    at.text_area(key="cohort_where").set_value("school_type = 小学\nstudents > lots").run()
    assert any("students \\> lots" in e.value for e in at.error)  # markdown-escaped
    assert at.query_params["where"] in ("school_type = primary", ["school_type = primary"])


@pytest.mark.parametrize("page, key, value", [("overview.py", "overview_metric", "left_behind_share"),
                                              ("gaps.py", "gaps_indicator", "books_per_student"),
                                              ("left_behind.py", "left_behind_by", "school_type"),
                                              ("standardization.py", "class_profile", "anshan")])
def test_a_chosen_view_is_in_the_link_and_comes_back_from_it(page, key, value):
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
    at.query_params["county"] = "370724"
    at.query_params[key] = value
    _run(at)
    assert at.session_state[key] == value
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=120)
    at.query_params[key] = "<script>" + "x" * 20_000
    _run(at)
    assert any(key in w.value for w in at.warning)


def test_a_page_run_builds_no_download_file(monkeypatch):
    """The download buttons hand Streamlit a builder: a run of the left-behind page (an analyst sees its
    download buttons) makes no CSV or Excel; the builder, called as a click calls it, makes one."""
    import polars as pl

    from junheng.reports import exports
    from junheng.views import downloads
    built = []
    for name in ("csv_bytes", "xlsx_bytes"):
        real = getattr(exports, name)
        monkeypatch.setattr(exports, name,
                            lambda *a, _real=real, _name=name, **k: built.append(_name) or _real(*a, **k))
    at = sign_in(AppTest.from_file(str(ROOT / "pages" / "left_behind.py"), default_timeout=120), "analyst")
    at.query_params["county"] = "370724"
    _run(at)
    buttons = [b for b in at.get("download_button")]
    assert len(buttons) >= 2 and built == []
    maker = downloads._export(pl.DataFrame({"a": [1]}), "x", "csv", None, exports.csv_bytes, school_level=False,
                              regions=())
    assert maker().startswith(b"\xef\xbb\xbf") and built == ["csv_bytes"]

"""AppTest: the frame with every page, every page file alone, both languages, a selected county."""
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from junheng.i18n import t
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
    assert len(at.dataframe) + len(at.get("plotly_chart")) > 0


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
    at = sign_in(AppTest.from_file(str(ROOT / "pages" / "left_behind.py"), default_timeout=120), role)
    at.query_params["county"] = "341221"  # 临泉县: many small schools
    _run(at)
    shown = "\n".join(str(v) for df in at.dataframe for v in df.value.to_numpy().ravel())
    assert ("<5" in shown) == suppressed

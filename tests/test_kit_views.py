"""The meeting kit's pure parts: county search by pinyin, the 整改清单 and plan tables as shown, the school
pass/fail map rows, the Chinese chart toolbar, the ?present= link parameter."""
from __future__ import annotations

import polars as pl
import pytest

from junheng import settings
from junheng.i18n import t
from junheng.rules import evaluation, plan, rectification
from junheng.views import county_search, links, present
from junheng.views import rectification_views as views
from tests.conftest import frame
from tests.test_rectification_plan import HAND_ROWS

COUNTIES = pl.DataFrame({"county_code": ["370323", "370303", "370724", "370113", "341202"],
                         "county_name": ["沂源县", "张店区", "临朐县", "长清区", "颍州区"],
                         "prefecture_name": ["淄博市", "淄博市", "潍坊市", "济南市", "阜阳市"],
                         "province_name": ["山东省"] * 4 + ["安徽省"]})


@pytest.mark.parametrize("text, found", [
    ("yy", ["370323"]), ("YY", ["370323"]), ("yyx", ["370323"]), ("yiyuan", ["370323"]), ("沂源", ["370323"]),
    ("3703", ["370303", "370323"]), ("370724", ["370724"]), ("lq", ["370724"]),
    ("cq", ["370113"]), ("zq", ["370113"]),  # 长 is read chang and zhang: found under both
    ("z", ["370113", "370303"]), ("区", ["341202", "370113", "370303"]), ("xyz", []), ("", []), ("  ", []),
])
def test_county_search(text, found):
    assert [e["code"] for e in county_search.search(county_search.index(COUNTIES), text)] == found


def test_county_search_limits_results():
    many = pl.DataFrame({"county_code": [f"3701{i:02d}" for i in range(20)], "county_name": ["历下区"] * 20,
                         "prefecture_name": ["济南市"] * 20, "province_name": ["山东省"] * 20})
    assert len(county_search.search(county_search.index(many), "lxq")) == county_search.MAX_RESULTS


@pytest.fixture(scope="module")
def rules():
    return settings.load_thresholds()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_school_list_shows_the_hand_shortfalls_in_their_units(rules, lang):
    items, _ = rectification.rectification(frame(HAND_ROWS), rules)
    shown = views.school_list(items, lang)
    rows = {(r[t("school_name", lang)], r[t("kit_shortfall", lang)], r[t("kit_cost", lang)])
            for r in shown.iter_rows(named=True)}
    m2, rooms, teachers = (t(f"kit_unit_{k}", lang) for k in ("m2", "rooms", "teachers"))
    assert rows == {("甲小学", f"50 {m2}", 150_000.0), ("乙小学", f"150 {m2}", 60_000.0),
                    ("乙小学", f"1 {rooms}", 60_000.0), ("丙小学", f"1 {teachers}", 100_000.0)}
    assert shown[t("kit_priority", lang)].to_list()[-1] == t("kit_priority_3", lang)  # 甲 passes: last
    assert "370,000" in views.summary(items, _, "en") and "37.0 万元" in views.summary(items, _, "zh")


def test_county_list_names_the_movers(rules):
    _, county = rectification.rectification(frame(HAND_ROWS), rules)
    shown = views.county_list(county, "zh")
    assert shown.height == 2 and shown["影响最大的学校"].to_list()[0].startswith("丙小学")


def test_plan_table_and_line(rules):
    p = plan.minimum_cost_plan(frame(HAND_ROWS), rules)
    shown = views.plan_table(p.changes, "zh")
    assert shown["估算费用（元）"].sum() == p.cost == 365_888
    assert "36.6 万元" in views.plan_status(p, "zh")
    assert views.plan_status(plan.Plan(plan.EMPTY_CHANGES, 0, 0, "failed"), "zh") == t("kit_plan_failed", "zh")


def test_school_status_rows_pass_fail_and_what_is_lacking(rules):
    values = evaluation.level_values(frame(HAND_ROWS), rules)
    rows = {r["tooltip"].split(" · ")[0]: r for r in views.school_status_rows(evaluation.school_verdicts(values, rules),
                                                                             "zh")}
    assert {k: r["passes"] for k, r in rows.items()} == {"甲小学": True, "乙小学": False, "丙小学": False}
    assert "生均体育运动场馆面积 +150 平方米" in rows["乙小学"]["tooltip"]
    assert "每百名学生拥有网络多媒体教室数 +1 间" in rows["乙小学"]["tooltip"]
    assert "生均教学及辅助用房面积 +50 平方米" in rows["甲小学"]["tooltip"]


def test_chart_toolbar_speaks_chinese_in_chinese_only():
    zh, en = present.chart_config("zh", "trend"), present.chart_config("en", "trend")
    assert zh["locale"] == "zh-CN"
    assert zh["locales"]["zh-CN"]["dictionary"]["Download plot as a PNG"] == "下载为 PNG 图片"
    assert "locale" not in en and en["toImageButtonOptions"] == {"format": "png", "scale": 2, "filename": "trend"}


@pytest.mark.parametrize("value, problem", [("1", None), ("0", None), ("2", "malformed"), ("yes", "malformed"),
                                            ("1" * 100, "too_long")])
def test_present_link_parameter(value, problem):
    assert links.check("present", value) == problem


def test_steps_are_found_from_page_and_view():
    assert present.current_step("", None) == 0
    assert present.current_step("pinggu", None) == 1
    assert present.STEPS[present.current_step("pinggu", "tab_plan")].view == "tab_plan"
    assert present.current_step("yanjiu", None) == -1

"""The one formatting module: separators, decimals, no "-0.0", em dash for missing, plurals, Beijing time."""
from datetime import UTC, datetime

import pytest

from junheng import formats


@pytest.mark.parametrize(("value", "digits", "shown"), [
    (1234567.891, 2, "1,234,567.89"),
    (1234567.891, 0, "1,234,568"),
    (0.5, 0, "0"),              # round half to even, as Python does: 0.5 → 0
    (-0.04, 1, "0.0"),          # not "-0.0"
    (-0.0, 2, "0.00"),
    (-0.06, 1, "-0.1"),
    (-1234.5, 1, "-1,234.5"),
    (12, 1, "12.0"),            # the same decimals whether or not the value is whole
    (None, 1, "—"),
    (float("nan"), 1, "—"),
    (float("inf"), 1, "—"),
    ("", 1, "—"),
])
def test_a_number_has_separators_fixed_decimals_and_no_negative_zero(value, digits, shown):
    assert formats.number(value, digits) == shown


@pytest.mark.parametrize(("share", "shown"), [(0.1234, "12.3%"), (-0.0004, "0.0%"), (1, "100.0%"), (None, "—")])
def test_a_share_is_shown_as_a_percent(share, shown):
    assert formats.percent(share) == shown


@pytest.mark.parametrize(("n", "lang", "shown"), [
    (1, "en", "1 teacher"),
    (2, "en", "2 teachers"),
    (0, "en", "0 teachers"),
    (12345, "en", "12,345 teachers"),
    (1, "zh", "1 人"),
    (12345, "zh", "12,345 人"),
    (None, "en", "—"),
])
def test_a_count_takes_the_right_english_plural_and_no_plural_in_chinese(n, lang, shown):
    assert formats.count(n, "人", "teacher", lang) == shown


@pytest.mark.parametrize(("noun", "plural"), [("school", "schools"), ("class", "classes"), ("county", "counties"),
                                              ("day", "days"), ("box", "boxes")])
def test_english_plurals(noun, plural):
    assert formats.count(3, "", noun, "en") == f"3 {plural}"


def test_an_irregular_plural_can_be_given():
    assert formats.count(2, "所", "person", "en", plural_en="people") == "2 people"


@pytest.mark.parametrize(("moment", "shown"), [
    (datetime(2026, 12, 7, 0, 56, tzinfo=UTC), "2026-12-07 08:56"),
    (datetime(2026, 12, 31, 17, 30), "2027-01-01 01:30"),  # naive means UTC; past midnight in Beijing
    ("2026-06-30T20:05:09Z", "2026-07-01 04:05"),
    ("2026-06-30T20:05:09+00:00", "2026-07-01 04:05"),
    (None, "—"),
])
def test_times_are_shown_in_beijing_time(moment, shown):
    assert formats.beijing_time(moment) == shown


@pytest.mark.parametrize(("value", "lang", "shown"), [
    (None, "zh", "—"), (float("nan"), "zh", "—"), (260000, "zh", "260,000"), (3.0, "zh", "3.00"),
    (-0.001, "zh", "0.00"), (True, "zh", "是"), (False, "en", "no"), ("临朐县", "zh", "临朐县"),
])
def test_a_table_cell_never_shows_none_and_reads_evenly(value, lang, shown):
    assert formats.cell(value, 2, lang) == shown


@pytest.mark.parametrize(("yuan", "lang", "shown"), [
    (123_456, "zh", "12.3 万元"), (10_000, "zh", "1.0 万元"), (9_999.6, "zh", "1.0 万元"), (860, "zh", "860 元"),
    (-0.3, "zh", "0 元"), (None, "zh", "—"), (123_456, "en", "123,456 yuan"), (-0.3, "en", "0 yuan"),
])
def test_money_in_a_sentence(yuan, lang, shown):
    assert formats.money(yuan, lang) == shown


@pytest.mark.parametrize(("values", "digits"), [
    ([6.6, 9.0, 2.0, 1.6], 1), ([0.69, 0.5, 1.0], 2), ([12.0, 3.0], 0), ([0.123456], 2), ([None, float("nan")], 0),
    ([1.05, 2.0], 2),
])
def test_a_column_takes_the_fewest_decimals_that_show_every_value(values, digits):
    assert formats.decimals(values) == digits


def test_the_table_pattern_has_separators():
    assert (formats.printf(0), formats.printf(1)) == ("%,d", "%,.1f")


def test_a_displayed_frame_formats_its_number_columns_and_leaves_text_alone():
    import polars as pl

    from junheng.views import table_formats
    frame = pl.DataFrame({"县": ["临朐县", "临淄区"], "在校生数": [1163863, 365819], "占比": [6.6, 9.0],
                          "比值": [0.69, 0.5], "留守": ["<5", "12"]})
    config = table_formats.number_columns(frame)
    assert set(config) == {"在校生数", "占比", "比值"}
    assert [config[c]["type_config"]["format"] for c in ("在校生数", "占比", "比值")] == ["%,d", "%,.1f", "%,.2f"]


@pytest.mark.parametrize(("values", "digits"), [
    ([27.23, 26.9, 7.0, 41.2], 1), ([3.456, 0.52], 2), ([0.1234], 3), ([1234.5, 56.0], 0), ([None, -12.0], 1),
    ([], 3),
])
def test_figures_read_side_by_side_share_their_decimals_set_by_the_largest(values, digits):
    assert formats.shared_digits(values) == digits


@pytest.mark.parametrize(("noun", "plural"), [("school", "schools"), ("county", "counties"), ("class", "classes"),
                                              ("day", "days"), ("unmet minimum", "unmet minimums")])
def test_the_plural_helper_makes_regular_english_plurals(noun, plural):
    assert formats.plural(noun) == plural


@pytest.mark.parametrize(("n", "zh", "en"), [(1, "1 项", "1 item"), (2, "2 项", "2 items"), (0, "0 项", "0 items"),
                                             (1234, "1234 项", "1,234 items"), ("<5", "<5 项", "<5 items")])
def test_a_translated_count_has_the_right_english_noun(n, zh, en):
    from junheng.i18n import t
    assert (t("kit_rows", "zh", n=n), t("kit_rows", "en", n=n)) == (zh, en)
    assert t("kit_list_summary", "en", items=1, schools=1, cvs=2, total="9 yuan").startswith(
        "**Rectification list**: 1 unmet minimum at 1 school; 2 county CVs over the ceiling")


def test_no_english_text_puts_a_raw_count_before_a_plural_noun():
    """A count before a plural noun takes {n:~noun} (t counts it: 1 school, 2 schools), never "{n} schools"."""
    import re

    from junheng.i18n import TEXT
    nouns = ("schools", "items", "counties", "rows", "errors", "warnings", "parts", "notices", "characters", "minutes",
             "values", "additions", "teachers", "children", "pupils", "students")
    raw = re.compile(r"\{(n|total|items|schools|rows|before|after|errors|warnings|minutes|counties_\w+)\}\s+("
                     + "|".join(nouns) + r")\b")
    assert {key: en for key, (_zh, en) in TEXT.items() if raw.search(en)} == {}


def test_the_cohort_tables_give_a_measure_one_number_of_decimals_and_no_minus_zero():
    import polars as pl

    from junheng.views import cohort_views
    summary = pl.DataFrame({"measure": ["primary_class_size"], "schools": [1234], "mean": [27.23], "median": [26.94],
                            "p10": [7.0], "p90": [41.25]})
    row = cohort_views.summary_table(summary, "zh").row(0)
    assert row[2:] == (1234, "27.2", "26.9", "7.0", "41.2")  # not 7.000 beside 27.2
    compared = pl.DataFrame({"measure": ["primary_class_size"], "a_mean": [27.21], "b_mean": [27.25],
                             "difference": [-0.04], "ratio": [0.9985], "a_median": [27.0], "b_median": [27.5],
                             "a_schools": [10], "b_schools": [12]})
    assert cohort_views.compare_table(compared, "A", "B", "zh").row(0)[1:7] == (
        "27.2", "27.2", "0.0", "1.00", "27.0", "27.5")


def test_the_evaluation_tables_show_cvs_to_three_decimals_and_counts_whole():
    import polars as pl

    from junheng.figures import evaluation_tables as tables
    from junheng.i18n import t
    from junheng.rules import indicators
    from junheng.views import evaluation_views, table_formats
    keys = [i.key for i in indicators.basic_indicators()]
    level = {"basic": {"cv": dict(zip(keys, [0.4662, 0.2, 0.439] + [0.3] * (len(keys) - 3))), "composite": 0.439,
                       "threshold": 0.65, "pass": True}}
    config = table_formats.number_columns(tables.basic_table(level, "zh"), most=3)
    assert config[t("cv", "zh")]["type_config"]["format"] == "%,.3f"  # 0.466, 0.200, 0.439: not 0.4662, 0.2
    compared = pl.DataFrame({t(k, "zh"): v for k, v in (
        ("level", ["小学", "小学"]), ("indicator", ["生均图书册数", t("schools_passing", "zh")]),
        ("before", [0.4662, 40.0]), ("after", [0.2, 41.0]), ("threshold", [0.5, 84.0]),
        ("verdict_before", ["✓", "✗"]), ("verdict_after", ["✓", "✗"]))})
    html = evaluation_views._compare_styled(compared, "zh").to_html()
    for shown in (">0.466<", ">0.200<", ">0.50<", ">40<", ">41<", ">84<"):
        assert shown in html, shown
    assert "40.000" not in html and "84.00" not in html
    minimums = pl.DataFrame({t("kit_priority", "zh"): ["a", "b"], t("kit_minimum", "zh"): [0.9, 1.0]})
    html = evaluation_views._styled(minimums, "zh").to_html()
    assert ">0.9<" in html and ">1.0<" in html  # not 0.9 beside 1


def test_a_year_column_has_no_thousands_separator():
    import polars as pl

    from junheng.views import table_formats
    frame = pl.DataFrame({"统计年度": [2015, 2020], "学校数": [1234, 56]})
    config = table_formats.number_columns(frame)
    assert config["统计年度"]["type_config"]["format"] == "%d" and config["学校数"]["type_config"]["format"] == "%,d"


def test_a_published_count_with_its_marks_is_shown_with_separators_and_kept_plain_for_downloads():
    import polars as pl

    from junheng.i18n import t
    from junheng.views import table_formats
    frame = pl.DataFrame({t("school_id", "zh"): ["3707240001", "3707240002", "3707240003", "3707240004"],
                          t("left_behind_students", "zh"): ["19523", "<5", "*", None],
                          t("migrant_students", "en"): ["1234567", "0", "12", "<5"]})
    shown = table_formats.marked_counts(frame)
    assert shown[t("left_behind_students", "zh")].to_list() == ["19,523", "<5", "*", None]
    assert shown[t("migrant_students", "en")].to_list() == ["1,234,567", "0", "12", "<5"]
    assert shown[t("school_id", "zh")].to_list() == frame[t("school_id", "zh")].to_list()  # an id is no count
    assert frame[t("left_behind_students", "zh")][0] == "19523"  # the frame the downloads write is untouched


def test_a_table_caption_counts_its_rows_with_separators_in_both_languages():
    from junheng.i18n import t
    assert t("table_rows_note", "zh", n=100, total=2852).startswith("显示前 100 行（共 2,852 行）")
    assert t("table_rows_note", "en", n=100, total=2852).startswith("The first 100 of 2,852 rows")
    assert "共 12,345 项" in t("report_rows_cut", "zh", n=12, total=12345)

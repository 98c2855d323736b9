"""Verdicts from all four parts (issue 12 points 1 and 3): hand-worked counties, each rule able to fail."""
import copy

import polars as pl
import pytest

from junheng import settings
from junheng.data.scope import Scope
from junheng.rules import evaluation, verdicts
from tests.conftest import frame, school
from tests.test_evaluation import even_school

RULES = settings.load_thresholds()
YEAR = 2025


def county_verdicts(computed, assessed, rules, year=YEAR):
    """verdicts.county_verdicts of an evaluated year (the 优质均衡 prerequisite is judged against it)."""
    return verdicts.county_verdicts(computed, assessed, rules, year=year)


def every_item_met() -> dict:
    """A self-assessment meeting every self-assessed item: at the threshold (just under it for a '<' rule)."""
    out = {}
    for it in verdicts.items():
        if it.self_assessable:
            if it.kind == "year":  # recognised long before any year a test evaluates
                out[it.key] = 2015
                continue
            out[it.key] = float(verdicts.threshold(it, RULES, YEAR)) - (0.01 if it.op == "<" else 0)
    return out


def passing_rows() -> dict:
    """Computed items of a county whose school rows pass everything (both levels present)."""
    computed = {}
    for level in ("primary", "junior"):
        computed[f"composite_cv_{level}"] = (0.2, True)
        computed[f"resource_cvs_{level}"] = (7.0, True)
        computed[f"resource_schools_{level}"] = (1.0, True)
    computed.update({"class_size_cap": (0.0, None), "school_size_cap": (0.0, None),
                     "migrant_public_share": (0.9, None)})
    return computed


@pytest.mark.parametrize("statuses, verdict", [
    (["pass", "pass", "pass", "pass"], "pass"),
    (["pass", "incomplete", "pass", "pass"], "incomplete"),
    (["incomplete", "fail", "incomplete", "incomplete"], "fail"),   # a failed part beats missing ones
    (["fail", "incomplete"], "fail"),
    ([], "incomplete"),
])
def test_combine_fail_beats_incomplete_beats_pass(statuses, verdict):
    assert verdicts.combine(statuses) == verdict


def test_every_part_met_passes_both_evaluations():
    result, parts = county_verdicts(passing_rows(), every_item_met(), RULES)
    assert result == {"basic": "pass", "quality": "pass"}
    assert {p: v["status"] for p, v in parts["quality"].items()} == dict.fromkeys(
        ["prerequisite", "resources", "government", "quality", "social", "veto"], "pass")
    social = parts["quality"]["social"]["items"]["social_recognition_rate"]
    assert social == {"value": 0.85, "rule": ">= 0.85", "met": True, "source": "self-assessed"}


def test_resources_alone_are_incomplete_never_pass():
    result, parts = county_verdicts(passing_rows(), {}, RULES)
    assert result == {"basic": "incomplete", "quality": "incomplete"}
    assert parts["quality"]["resources"]["status"] == "pass"
    assert parts["quality"]["social"]["items"]["social_recognition_rate"]["source"] == "missing"


@pytest.mark.parametrize("key, value, part", [
    ("veto_key_classes", 1.0, "veto"),                  # 是 = 一票否决
    ("veto_unfilled_posts", 1.0, "veto"),
    ("veto_major_incident", 1.0, "veto"),
    ("veto_falsification", 1.0, "veto"),
    ("basic_recognized_year", 2023, "prerequisite"),    # two years before 2025: too recent
    ("social_recognition_rate", 0.84, "social"),
    ("junior_retention_rate", 0.94, "quality"),
    ("teacher_rotation_rate", 0.09, "government"),
    ("backbone_rotation_share", 0.19, "government"),
    ("teacher_pay_not_below_civil_servants", 0.0, "government"),
    ("monitoring_school_gap", 0.15, "quality"),         # must be below 0.15
])
def test_one_item_not_met_fails_quality_even_with_the_other_parts_missing(key, value, part):
    result, parts = county_verdicts(passing_rows(), {key: value}, RULES)
    assert result["quality"] == "fail"
    assert parts["quality"][part]["status"] == "fail"
    assert verdicts.failing(parts["quality"]) == [key]
    # With every other item met too, the same value still fails; at the threshold it passes.
    assessed = every_item_met() | {key: value}
    assert county_verdicts(passing_rows(), assessed, RULES)[0] == {"basic": "pass", "quality": "fail"}


def test_quality_needs_basic_balance_reached():
    assessed = every_item_met() | {"public_satisfaction_rate": 0.80}
    result, parts = county_verdicts(passing_rows(), assessed, RULES)
    assert result == {"basic": "fail", "quality": "fail"}
    assert parts["quality"]["prerequisite"]["items"]["basic_reached"] == {
        "value": "fail", "rule": "== pass", "met": False, "source": "computed"}
    # 基本均衡 not yet decidable: 优质均衡 cannot pass either, though every 优质 item is met.
    assessed = every_item_met()
    del assessed["public_satisfaction_rate"]
    assert county_verdicts(passing_rows(), assessed, RULES)[0] == {"basic": "incomplete",
                                                                            "quality": "incomplete"}


@pytest.mark.parametrize("recognized, met, verdict", [
    (2022, True, "pass"),            # three years before 2025: assessed
    (2023, False, "fail"),           # two years before: too early, whatever else is met
    (2025, False, "fail"),
    (None, None, "incomplete"),      # unknown: to be assessed, never pass
])
def test_quality_is_judged_only_three_years_after_basic_recognition(recognized, met, verdict):
    assessed = every_item_met() | {"basic_recognized_year": recognized}
    if recognized is None:
        del assessed["basic_recognized_year"]
    result, parts = county_verdicts(passing_rows(), assessed, RULES)
    assert result == {"basic": "pass", "quality": verdict}
    entry = parts["quality"]["prerequisite"]["items"]["basic_recognized_year"]
    assert (entry["met"], entry["rule"]) == (met, "<= 2022")
    # the same county evaluated with no year known cannot pass either
    assert verdicts.county_verdicts(passing_rows(), every_item_met(), RULES)[0]["quality"] == "incomplete"


def test_a_province_threshold_in_the_settings_file_counts():
    assessed = every_item_met() | {"quota_allocation_share": 0.55}
    assert county_verdicts(passing_rows(), assessed, RULES)[0]["quality"] == "pass"
    stricter = copy.deepcopy(RULES) | {"items": {"quota_allocation_share": 0.6}}
    result, parts = county_verdicts(passing_rows(), assessed, stricter)
    assert result["quality"] == "fail"
    assert parts["quality"]["government"]["items"]["quota_allocation_share"]["rule"] == ">= 0.6"


def test_registry_covers_the_four_parts_and_the_named_keys():
    quality_gov = {i.number for i in verdicts.items("quality", "government")}
    assert quality_gov == {str(n) for n in range(1, 16)}            # 15 items
    assert {i.number for i in verdicts.items("quality", "quality")} == {str(n) for n in range(1, 10)}  # 9 items
    assert [i.key for i in verdicts.items("quality", "social")] == ["social_recognition_rate"]
    assert len(verdicts.items("basic", "government")) == 17
    assert {i.key for i in verdicts.items("quality", "veto")} == {
        "veto_exam_admission", "veto_school_choice", "veto_key_classes",
        "veto_unfilled_posts", "veto_major_incident", "veto_falsification"}
    # every ground for refusal names where it is written
    assert all("教督〔2017〕6号" in i.cites for i in verdicts.items("quality", "veto"))
    named = {"social_recognition_rate": 0.85, "junior_retention_rate": 0.95, "teacher_rotation_rate": 0.10,
             "backbone_rotation_share": 0.20, "teacher_pay_not_below_civil_servants": True,
             "public_satisfaction_rate": 0.85}
    assert {k: verdicts.threshold(verdicts.item(k), RULES) for k in named} == named
    assert verdicts.item("public_satisfaction_rate").evaluation == "basic"
    assert {p.key for p in verdicts.parts("basic")} == {"standards", "balance", "government", "satisfaction"}


# ---------------------------------------------------------------- computed from the school rows (point 3)

def computed(rows, rules=RULES) -> dict:
    out = verdicts.school_row_items(frame(rows), rules)
    return {item: value for item, value in out.select("item", "value").iter_rows()}


def test_class_size_cap_share_of_classes_over_by_hand():
    rows = [
        # mean 100 / 2 = 50 > 45: at least one class over; no 56+ recorded → 1 class over
        school(school_id="3707240001", primary_students=100, primary_classes=2),
        # mean 40 ≤ 45, nothing over
        school(school_id="3707240002", primary_students=40, primary_classes=1),
        # junior mean 210 / 4 = 52.5 > 50 and two classes of 56–65 → max(2, 1) = 2 over
        school(school_id="3707240003", school_type="junior", primary_students=0, primary_classes=0,
               junior_students=210, junior_classes=4, classes_56_65=2),
    ]
    assert computed(rows)["class_size_cap"] == pytest.approx(3 / 7)
    # A junior mean of exactly 50 is within the cap; 45 < 50 for primary is not.
    rows[2] = school(school_id="3707240003", school_type="junior", primary_students=0, primary_classes=0,
                     junior_students=200, junior_classes=4)
    assert computed(rows)["class_size_cap"] == pytest.approx(1 / 7)


def test_school_size_cap_2000_and_2500_for_nine_and_twelve_year_schools():
    rows = [school(school_id="3707240001", primary_students=2001, primary_classes=45),
            school(school_id="3707240002", school_type="nine_year", primary_students=1600, junior_students=800,
                   junior_classes=16),                                        # 2400 ≤ 2500
            school(school_id="3707240003", school_type="twelve_year", primary_students=1600,
                   junior_students=901, junior_classes=18, senior_students=900),  # 2501 compulsory > 2500
            school(school_id="3707240004", school_type="complete_secondary", primary_students=0, primary_classes=0,
                   junior_students=1900, junior_classes=38, senior_students=1500)]  # senior not counted
    out = verdicts.school_row_items(frame(rows), RULES)
    assert out.filter(pl.col("item") == "school_size_cap")["value"].item() == 2


# The computed share counts public places only (a lower bound): it proves a pass at 85%, never a fail; below it
# the county's own figure (purchased places counted) decides, if it is not below the bound.
@pytest.mark.parametrize("private_migrants, share, met", [(30, 0.85, True), (31, 170 / 201, None)])
def test_migrant_children_in_public_schools(private_migrants, share, met):
    rows = [school(school_id="3707240001", migrant_students=100),
            school(school_id="3707240002", migrant_students=70),
            school(school_id="3707240003", is_public=False, migrant_students=private_migrants)]
    assert computed(rows)["migrant_public_share"] == pytest.approx(share)
    result = county_verdicts({"migrant_public_share": (computed(rows)["migrant_public_share"], None)},
                             {}, RULES)[1]
    assert result["quality"]["government"]["items"]["migrant_public_share"]["met"] is met


def test_art_rooms_only_where_the_rows_have_them():
    rows = [school(school_id="3707240001", primary_students=1000, primary_classes=24),
            school(school_id="3707240002", primary_students=500, primary_classes=12)]
    assert "art_rooms_per_12_classes" not in computed(rows)
    with_rooms = frame(rows).with_columns(pl.Series("music_rooms", [2, 1]), pl.Series("art_rooms", [1, 1]))
    out = verdicts.school_row_items(with_rooms, RULES).filter(pl.col("item") == "art_rooms_per_12_classes")
    assert out["value"].item() == pytest.approx(0.5)  # 24 classes need 2 art rooms: the first school has 1


def test_a_computed_lower_bound_over_the_cap_decides_a_fail_and_both_values_are_kept():
    rows = [school(school_id="3707240001", primary_students=100, primary_classes=2)]  # 1 of 2 classes over
    result, parts = county_verdicts(
        {"class_size_cap": (computed(rows)["class_size_cap"], None)}, {"class_size_cap": 0.0}, RULES)
    assert parts["quality"]["government"]["items"]["class_size_cap"] == {
        "value": 0.5, "rule": "<= 0.0", "met": False, "source": "computed", "bound": "lower", "computed": 0.5,
        "self_assessed": 0.0, "decided_by": "computed", "disagrees": True}
    assert result["quality"] == "fail"


def item_entry(key: str, computed_value, assessed) -> dict:
    got = county_verdicts({key: (computed_value, None)}, {} if assessed is None else {key: assessed}, RULES)[1]
    return got["quality"]["government"]["items"][key]


# Issue 24, point 1: every item with source `both`, the computed value at the favourable side of the rule.
@pytest.mark.parametrize("key, computed_value, assessed, met, decided_by", [
    # the rows see no class over the cap (a lower bound): the county's own 3% decides, a fail
    ("class_size_cap", 0.0, 0.03, False, "self-assessed"),
    ("class_size_cap", 0.0, 0.0, True, "self-assessed"),
    ("class_size_cap", 0.0, None, None, "computed"),          # nothing proven, nothing said: to be assessed
    ("class_size_cap", 0.02, 0.0, False, "computed"),         # the rows prove 2% over, whatever the county says
    # no school over the size cap among the schools counted: the county's own count decides
    ("school_size_cap", 0.0, 1.0, False, "self-assessed"),
    ("school_size_cap", 0.0, 0.0, True, "self-assessed"),
    ("school_size_cap", 0.0, None, None, "computed"),
    ("school_size_cap", 2.0, 0.0, False, "computed"),          # two are over whatever the county says
    # public places alone under 85% (a lower bound): purchased places may lift it
    ("migrant_public_share", 0.80, 0.90, True, "self-assessed"),
    ("migrant_public_share", 0.80, 0.84, False, "self-assessed"),
    ("migrant_public_share", 0.80, None, None, "computed"),
    ("migrant_public_share", 0.90, 0.50, True, "computed"),   # public places alone prove the pass
    ("migrant_public_share", 0.80, 0.70, None, "computed"),   # below what public places alone give: impossible
    # art rooms are counted exactly from the rows: the computed value decides both ways
    ("art_rooms_per_12_classes", 0.5, 1.0, False, "computed"),
    ("art_rooms_per_12_classes", 1.0, 0.5, True, "computed"),
])
def test_a_bound_never_overrides_a_self_assessed_value_in_the_favourable_direction(key, computed_value, assessed,
                                                                                     met, decided_by):
    entry = item_entry(key, computed_value, assessed)
    assert (entry["met"], entry["source"]) == (met, decided_by)
    if assessed is not None:
        assert (entry["computed"], entry["self_assessed"], entry["decided_by"]) == (
            pytest.approx(computed_value), pytest.approx(assessed), decided_by)
    assert entry.get("bound", "exact") == verdicts.item(key).bound


def test_both_kinds_of_item_declare_what_their_computed_value_is():
    assert {i.key: i.bound for i in verdicts.items() if i.source == "both"} == {
        "art_rooms_per_12_classes": "exact", "school_size_cap": "lower", "class_size_cap": "lower",
        "migrant_public_share": "lower"}


def test_self_assessed_counts_where_the_rows_cannot_show_the_item():
    entry = county_verdicts({}, {"art_rooms_per_12_classes": 1.0}, RULES)[1]["quality"]["government"][
        "items"]["art_rooms_per_12_classes"]
    assert (entry["source"], entry["met"]) == ("self-assessed", True)


# ---------------------------------------------------------------- a region of counties

def test_region_verdicts_status_from_all_parts():
    good = [even_school("3707240001"), even_school("3707240002", 200)]
    also_good = [even_school("3703050001", county_code="370305"), even_school("3703050002", county_code="370305")]
    weak = [even_school("3412020001", county_code="341202", building_area_m2=10.0, books=10, computers=1,
                        equipment_value_cny=1000.0, teachers=1, teachers_above_degree=1,
                        teachers_senior_title=1, sports_area_m2=10.0),
            even_school("3412020002", county_code="341202")]
    untouched = [even_school("3703060001", county_code="370306")]
    table = pl.DataFrame([{"county_code": c, "item": k, "value": v}
                          for c in ("370724", "370305") for k, v in every_item_met().items()]).with_columns(
        pl.when((pl.col("county_code") == "370305") & (pl.col("item") == "social_recognition_rate"))
        .then(0.8).otherwise(pl.col("value")).alias("value"))
    out = verdicts.region_verdicts(frame(good + also_good + weak + untouched), RULES, table)
    got = {c: (b, q, s) for c, b, q, s in out.select(
        "county_code", "basic_verdict", "quality_verdict", "status").iter_rows()}
    assert got == {"370724": ("pass", "pass", "both"),
                   "370305": ("pass", "fail", "basic"),              # social recognition 80%
                   "341202": ("fail", "fail", "neither"),            # composite CV over the ceiling
                   "370306": ("incomplete", "incomplete", "incomplete")}
    assert out.filter(pl.col("county_code") == "370305")["quality_failing"].item().to_list() == [
        "social_recognition_rate"]


# ---------------------------------------------------------------- what the page says

@pytest.mark.parametrize("lang, incomplete, reached", [
    ("zh", "**优质均衡：资源配置达标，其余部分待评估**", "达到优质均衡"),
    ("en", "**High-quality balance: Resources met; the other parts are still to be assessed**", "reached"),
])
def test_page_says_resources_met_rest_to_be_assessed_never_reached(lang, incomplete, reached):
    from junheng.figures import evaluation_tables as tables
    result, parts = county_verdicts(passing_rows(), {}, RULES)
    line = tables.verdict_line("quality", result["quality"], parts["quality"], RULES, lang)
    assert line == incomplete and reached not in line
    result, parts = county_verdicts(passing_rows(), every_item_met(), RULES)
    assert reached in tables.verdict_line("quality", result["quality"], parts["quality"], RULES, lang)


def test_page_names_the_reason_of_a_fail_and_shows_both_values_where_they_disagree():
    from junheng.figures import evaluation_tables as tables
    assessed = every_item_met() | {"social_recognition_rate": 0.8, "class_size_cap": 0.0}
    rows = passing_rows() | {"class_size_cap": (0.125, None)}
    result, parts = county_verdicts(rows, assessed, RULES)
    line = tables.verdict_line("quality", result["quality"], parts["quality"], RULES, "zh")
    assert line == ("**优质均衡：未达到** — 未达标："
                    "超过班额标准的班级比例（小学 >45 人，初中 >50 人）（12.5%，标准 ≤ 0%）、"
                    "社会认可度（80%，标准 ≥ 85%）")
    table = tables.parts_table("quality", parts["quality"], RULES, "zh")
    row = table.filter(pl.col("评估项目").str.starts_with("超过班额")).row(0, named=True)
    assert (row["值"], row["判定依据"], row["学校数据计算值"], row["县级自评值"]) == (
        "12.5%", "学校数据计算", "12.5%（下限：实际值不低于此）", "0%")
    assert table.height == sum(len(p["items"]) for p in parts["quality"].values())


def test_status_map_and_region_table_have_a_colour_and_words_for_incomplete():
    from junheng.figures import evaluation_tables as tables
    assert set(tables.STATUS_COLOURS) == {"both", "basic", "incomplete", "neither"}
    assert len(set(tables.STATUS_COLOURS.values())) == 4
    out = verdicts.region_verdicts(frame([even_school("3707240001")]), RULES)
    counties = pl.DataFrame({"county_code": ["370724"], "county_name": ["临朐县"]})
    row = tables.region_table(out, counties, "zh").row(0, named=True)
    assert (row["基本均衡结论"], row["优质均衡结论"], row["评估状态"]) == (
        "待评估", "待评估", "基本均衡待评估（部分未评估）")


def test_gaps_page_school_size_uses_the_combined_school_cap(tmp_path, boundary_dir):
    """The 城乡差距 size profile counts a 九年一贯制 school of 2,400 as within its 2,500 cap (it used 2,000 for all)."""
    import shutil

    from junheng.data import db, demo
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    rows = frame([school(school_id="3707240001", primary_students=2100, primary_classes=48),
                  school(school_id="3707240002", school_type="nine_year", primary_students=1600,
                         junior_students=800, junior_classes=16)])
    demo.write_snapshot(tmp_path, 2024, rows, source="tests", synthetic=True)
    sizes = db.run(db.connect(tmp_path), "urban_rural_sizes", Scope("370724"), years=[2024], region="",
                   large_school_max=2000, combined_school_max=2500, small_school_min=100)
    assert sizes["schools_over_max"].sum() == 1


def test_every_counting_rule_setting_is_read_by_some_code():
    """A setting in [rules] that no code reads is a promise the product does not keep."""
    from pathlib import Path
    root = Path(__file__).resolve().parent.parent
    files = [*root.glob("junheng/**/*.py"), *root.glob("pages/*.py")]
    # settings.py only lists the names it checks; reading a setting is indexing the rules with it elsewhere
    code = "\n".join(p.read_text(encoding="utf-8") for p in files if p.name != "settings.py")
    unread = [k for k in RULES["rules"] if f'["{k}"]' not in code]
    assert unread == []


def test_a_school_file_without_senior_students_imports_and_counts_it_as_0(tiny_data, tmp_path):
    from junheng.data import importer
    from tests.conftest import FIXTURE_ROWS
    rows = frame(FIXTURE_ROWS).filter(pl.col("year") == 2024).drop("year", "senior_students")
    path = tmp_path / "schools.csv"
    rows.write_csv(path)
    clean, report = importer.validate(path, 2024, tiny_data, "en")
    assert report.errors == [] and clean["senior_students"].null_count() == clean.height
    split = evaluation.level_values(clean, RULES)  # absent: the whole school is 小学 + 初中
    assert split["teachers"].sum() == pytest.approx(clean["teachers"].sum())

"""The official evaluation on hand-worked counties: CVs, per-school verdicts, leave-one-out, what-if, CLI."""
import copy
import json
import math

import polars as pl
import pytest

from junheng import settings
from junheng.rules import evaluation, indicators
from junheng.tools import cli
from tests.conftest import frame, school

RULES = settings.load_thresholds()


def even_school(school_id: str, students: int = 100, **values) -> dict:
    """A primary school above every 优质均衡 minimum, every resource proportional to students.

    Per 100 pupils: 6 teachers above degree (min 4.2), 2 backbone (1.0), 1 PE/arts (0.9), 540 m² (450),
    900 m² sports (750), 240,000 yuan (200,000), 3 multimedia rooms (2.3).
    """
    k = students // 100
    row = dict(school_id=school_id, primary_students=students, primary_classes=max(1, -(-students // 40)),
               teachers=6 * k, teachers_above_degree=6 * k, teachers_senior_title=3 * k, backbone_teachers=2 * k,
               pe_arts_teachers=k, building_area_m2=540.0 * k, sports_area_m2=900.0 * k,
               equipment_value_cny=240_000.0 * k, computers=12 * k, books=3000 * k, multimedia_rooms=3 * k)
    row.update(values)
    return school(**row)


def test_identical_schools_have_zero_cvs_and_pass_everything():
    result = evaluation.evaluate_county(frame([even_school("3707240001"), even_school("3707240002", 300)]), RULES)
    primary = result["primary"]
    assert set(result) == {"primary"}  # no junior schools: the level is absent
    assert all(v == pytest.approx(0, abs=1e-12) for v in primary["basic"]["cv"].values())
    assert primary["basic"]["pass"] and primary["quality"]["pass"]
    assert [s["meets"] for s in primary["quality"]["schools"]] == [7, 7]


def test_composite_passes_while_one_quality_cv_fails_alone():
    # Sports ground per student: 1 m² and 20 m² at two schools of 100 pupils.
    # X̄ = 2100 / 200 = 10.5; S = sqrt(0.5·9.5² + 0.5·9.5²) = 9.5; CV = 9.5 / 10.5 = 0.904762.
    schools = frame([even_school("3707240001", sports_area_m2=100.0), even_school("3707240002", sports_area_m2=2000.0)])
    primary = evaluation.evaluate_county(schools, RULES)["primary"]
    assert primary["basic"]["cv"]["sports_area_per_student"] == pytest.approx(9.5 / 10.5)
    assert primary["basic"]["composite"] == pytest.approx(9.5 / 10.5 / 8)  # the other seven are 0
    assert primary["basic"]["pass"] is True
    failing = [k for k, v in primary["quality"]["cv"].items() if v > primary["quality"]["threshold"]]
    assert failing == ["sports_area_per_student"]
    assert primary["quality"]["pass"] is False
    # School 1 has 1 m² of 7.5 (13%): it fails; school 2 meets all seven.
    assert [(s["school_id"], s["meets"], s["pass"]) for s in primary["quality"]["schools"]] == [
        ("3707240001", 6, False), ("3707240002", 7, True)]


@pytest.mark.parametrize("building, passes, meets", [
    (450.0, True, 7),    # exactly the minimum 4.5 m² × 100
    (400.0, True, 6),    # 4.0 = 89% of 4.5: six met, the seventh ≥ 85%
    (380.0, False, 6),   # 3.8 = 84% of 4.5: below 85%
])
def test_school_rule_six_of_seven_and_85_percent(building, passes, meets):
    verdicts = evaluation.school_verdicts(
        evaluation.level_values(frame([even_school("3707240001", building_area_m2=building)]), RULES), RULES)
    row = verdicts.row(0, named=True)
    assert (row["meets"], row["school_pass"]) == (meets, passes)
    assert row["gap_building_area_per_student"] == pytest.approx(max(0.0, 450.0 - building))


def test_two_minimums_missed_fails_even_when_both_are_close():
    row = evaluation.school_verdicts(evaluation.level_values(frame([even_school(
        "3707240001", building_area_m2=440.0, sports_area_m2=740.0)]), RULES), RULES).row(0, named=True)
    assert row["meets"] == 5 and row["school_pass"] is False
    assert sorted(row["failing"]) == ["building_area_per_student", "sports_area_per_student"]
    assert row["gap_sports_area_per_student"] == pytest.approx(10.0)


def test_teaching_points_under_50_are_left_out_of_both_evaluations_by_default():
    schools = frame([even_school("3707240001", 400),
                     even_school("3707240002", 30, school_type="teaching_point", building_area_m2=30.0),
                     even_school("3707240003", 100, school_type="teaching_point")])
    primary = evaluation.evaluate_county(schools, RULES)["primary"]
    assert [s["school_id"] for s in primary["quality"]["schools"]] == ["3707240001", "3707240003"]
    assert primary["basic"]["cv"]["building_area_per_student"] == pytest.approx(0, abs=1e-9)
    assert primary["quality"]["cv"]["building_area_per_student"] == pytest.approx(0, abs=1e-9)
    # A province that counts every teaching point in 基本均衡: the tiny point's 1 m² per pupil now counts there.
    counted = copy.deepcopy(RULES)
    counted["rules"]["basic_teaching_point_min_students"] = 0
    primary = evaluation.evaluate_county(schools, counted)["primary"]
    assert primary["basic"]["cv"]["building_area_per_student"] > 0.1
    assert primary["quality"]["cv"]["building_area_per_student"] == pytest.approx(0, abs=1e-9)


def test_private_schools_are_left_out_unless_the_setting_counts_them():
    # A private school with a quarter of the floor area: out by default (CV 0), in when counted.
    # Counted: x = 5.4, 1.35 m² per pupil, 100 pupils each: X̄ = 3.375, S = 2.025, CV = 0.6.
    schools = frame([even_school("3707240001"), even_school("3707240002", is_public=False, building_area_m2=135.0)])
    assert evaluation.evaluate_county(schools, RULES)["primary"]["basic"]["cv"][
        "building_area_per_student"] == pytest.approx(0, abs=1e-12)
    counted = copy.deepcopy(RULES)
    counted["rules"]["include_private_schools"] = True
    primary = evaluation.evaluate_county(schools, counted)["primary"]
    assert primary["basic"]["cv"]["building_area_per_student"] == pytest.approx(0.6)
    assert len(primary["quality"]["schools"]) == 2


def test_combined_school_counts_in_both_levels_with_split_resources():
    # 九年一贯制: 600 primary + 300 junior pupils. Facilities shared 600 : 1.1·300 = 600 : 330;
    # teachers by plain enrolment 600 : 300 (never weighted).
    nine = school(school_id="3707240009", school_type="nine_year", primary_students=600, junior_students=300,
                  primary_classes=12, junior_classes=6, teachers=93, building_area_m2=9300.0)
    values = evaluation.level_values(frame([nine]), RULES).sort("level", descending=True)
    primary, junior = values.row(0, named=True), values.row(1, named=True)
    assert (primary["level"], junior["level"]) == ("primary", "junior")
    assert primary["teachers"] == pytest.approx(62.0)
    assert junior["teachers"] == pytest.approx(31.0)
    assert junior["building_area_per_student"] == pytest.approx(9300 * 330 / 930 / 300)  # 11.0 m²
    result = evaluation.evaluate_county(frame([nine]), RULES)
    assert set(result) == {"primary", "junior"}


def test_leave_one_out_matches_the_domain_example_by_hand():
    # (students, computers) = (100, 10), (300, 12), (600, 30): CV 0.3195 (domain brief).
    # Without school 1: x = 4, 5 with weights 1/3, 2/3; X̄ = 4.6667; S = 0.4714; CV = 0.10102.
    rows = frame([school(school_id=f"370724000{i}", primary_students=p, computers=c)
                  for i, (p, c) in enumerate([(100, 10), (300, 12), (600, 30)], start=1)])
    out = evaluation.cv_contributions(evaluation.level_values(rows, RULES), "computers_per_100")
    first = out.filter(pl.col("school_id") == "3707240001").row(0, named=True)
    assert first["cv"] == pytest.approx(1.66132 / 5.2, rel=1e-4)
    assert first["cv_without"] == pytest.approx(math.sqrt(2 / 9) / (14 / 3), rel=1e-6)
    assert out["school_id"][0] == "3707240001"  # the outlier raises the CV most
    for row in out.iter_rows(named=True):  # every row agrees with recomputing the CV without the school
        rest = [(p, c / p * 100) for p, c, sid in zip([100, 300, 600], [10, 12, 30], out["school_id"].sort())
                if sid != row["school_id"]]
        assert row["cv_without"] == pytest.approx(indicators.weighted_cv([x for _, x in rest], [p for p, _ in rest]))


def test_what_if_raises_resources_without_touching_the_input():
    schools = frame([even_school("3707240001", sports_area_m2=100.0), even_school("3707240002")])
    changes = pl.DataFrame({"school_id": ["3707240001", "3707240001"], "column": ["sports_area_m2"] * 2,
                            "delta": [400.0, 400.0]})
    changed = evaluation.apply_changes(schools, changes)
    assert changed.filter(pl.col("school_id") == "3707240001")["sports_area_m2"][0] == 900.0
    assert schools["sports_area_m2"][0] == 100.0
    assert evaluation.evaluate_county(changed, RULES)["primary"]["quality"]["pass"] is True
    with pytest.raises(ValueError, match="not an adjustable resource"):
        evaluation.apply_changes(schools, changes.with_columns(pl.lit("school_name").alias("column")))


def test_region_status_gives_the_computed_parts_of_each_county():
    good = [even_school("3707240001"), even_school("3707240002", 200)]
    basic_only = [even_school("3703050001", county_code="370305", sports_area_m2=100.0),
                  even_school("3703050002", county_code="370305", sports_area_m2=2000.0)]
    neither = [even_school("3412020001", county_code="341202", building_area_m2=10.0, books=10, computers=1,
                           equipment_value_cny=1000.0, teachers=1, teachers_above_degree=1,
                           teachers_senior_title=1, sports_area_m2=10.0),
               even_school("3412020002", county_code="341202")]
    status = evaluation.region_status(frame(good + basic_only + neither), RULES)
    parts = {c: (b, q) for c, b, q in status.select("county_code", "basic_pass", "quality_pass").iter_rows()}
    assert parts == {"370724": (True, True), "370305": (True, False), "341202": (False, False)}
    assert "status" not in status.columns  # parts, not verdicts: see tests/test_verdicts.py
    assert status["county_code"].to_list() == ["370724", "370305", "341202"]  # ranked by composite


def test_cv_trend_has_every_cv_per_year():
    rows = frame([even_school("3707240001", year=y, sports_area_m2=100.0 * (y - 2020)) for y in (2021, 2022)]
                 + [even_school("3707240002", year=y) for y in (2021, 2022)])
    trend = evaluation.cv_trend(evaluation.level_values(rows, RULES), RULES)
    assert trend.filter(pl.col("evaluation") == "basic").height == 2 * 9
    assert trend.filter(pl.col("evaluation") == "quality").height == 2 * 7
    sports = trend.filter((pl.col("indicator") == "sports_area_per_student") & (pl.col("evaluation") == "basic"))
    assert sports["cv"].to_list() == pytest.approx([8 / 10, 7 / 11])  # (1, 9) → 0.8; (2, 9) → 3.5/5.5


def test_cli_evaluate_prints_the_published_shape(tiny_data, capsys):
    assert cli.main(["evaluate", "--data-dir", str(tiny_data), "--county", "341202", "--year", "2024",
                     "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["county_code"], out["year"], set(out["levels"])) == ("341202", 2024, {"primary", "junior"})
    assert set(out) == {"county_code", "year", "verdicts", "parts", "levels"}
    # No county table: 基本均衡 cannot pass; the fixture's two 66+ classes fail 优质均衡 whatever is missing.
    assert out["verdicts"] == {"basic": "incomplete", "quality": "fail"}
    assert out["parts"]["quality"]["government"]["items"]["class_size_cap"] == {
        "value": 2 / 18, "rule": "<= 0.0", "met": False, "source": "computed", "bound": "lower"}
    assert set(out["parts"]["quality"]) == {"prerequisite", "resources", "government", "quality", "social", "veto"}
    item = out["parts"]["quality"]["social"]["items"]["social_recognition_rate"]
    assert item == {"value": None, "rule": ">= 0.85", "met": None, "source": "missing"}
    level = out["levels"]["junior"]
    assert set(level) == {"basic", "quality"}
    assert set(level["basic"]) == {"cv", "composite", "threshold", "pass"}
    assert set(level["basic"]["cv"]) == {i.key for i in indicators.basic_indicators()}
    assert set(level["quality"]) == {"cv", "threshold", "pass", "schools"}
    assert set(level["quality"]["cv"]) == {i.key for i in indicators.quality_indicators()}
    assert level["basic"]["threshold"] == 0.55 and level["quality"]["threshold"] == 0.45
    assert set(level["quality"]["schools"][0]) == {"school_id", "meets", "pass", "failing"}


@pytest.mark.parametrize("county, year, message", [
    ("999999", "2024", "未知县级代码：999999"), ("370724", "2030", "没有 2030 年的数据")])
def test_cli_evaluate_refuses_unknown_county_or_year(tiny_data, capsys, county, year, message):
    code = cli.main(["evaluate", "--data-dir", str(tiny_data), "--county", county, "--year", year, "--json",
                     "--lang", "zh"])
    assert code != 0
    assert message in capsys.readouterr().err

import math

import polars as pl
import pytest

from junheng import settings
from junheng.rules import indicators
from tests.conftest import frame, school


def test_cv_matches_the_domain_brief_example():
    # (students, computers) = (100, 10), (300, 12), (600, 30): X = 10, 4, 5 per 100; X̄ = 5.2; S = 1.6613.
    assert indicators.weighted_cv([10, 4, 5], [100, 300, 600]) == pytest.approx(0.3195, abs=5e-5)


def test_cv_is_weighted_not_plain():
    values, weights = [10, 4, 5], [100, 300, 600]
    mean = sum(values) / 3
    plain = math.sqrt(sum((v - mean) ** 2 for v in values) / 3) / mean
    assert plain == pytest.approx(0.4145, abs=5e-4)
    assert indicators.weighted_cv(values, weights) != pytest.approx(plain, abs=0.01)


@pytest.mark.parametrize("values, weights, expected", [
    ([5, 5, 5], [10, 20, 30], 0.0),
    # two equal schools at 2 and 6: mean 4, S = 2, CV = 0.5
    ([2, 6], [50, 50], 0.5),
    # weights 1:3 at 0 and 4: mean 3, S = sqrt(.25·9 + .75·1) = sqrt(3)
    ([0, 4], [1, 3], math.sqrt(3) / 3),
])
def test_cv_hand_worked(values, weights, expected):
    assert indicators.weighted_cv(values, weights) == pytest.approx(expected)


@pytest.mark.parametrize("code, group", [
    ("111", "urban"), ("112", "urban"), ("121", "town"), ("122", "town"), ("123", "town"),
    ("210", "rural"), ("220", "rural"), ("999", None),
])
def test_urban_rural_group(code, group):
    out = pl.DataFrame({"c": [code]}).select(indicators.urban_rural_group(pl.col("c"))).item()
    assert out == group


def test_split_levels_of_a_nine_year_school_facilities_weighted_teachers_by_enrolment():
    # 600 primary, 300 junior. Facilities by weight 1.1: primary share 600 / (600 + 330) → 9300 m² = 6000 + 3300.
    # Teachers by plain enrolment 600 : 300 → 90 = 60 + 30 (weighted, it would be 58.06 + 31.94).
    rows = frame([school(school_type="nine_year", primary_students=600, junior_students=300,
                         primary_classes=12, junior_classes=6, building_area_m2=9300.0, teachers=90,
                         backbone_teachers=9, multimedia_rooms=18)])
    levels = indicators.split_levels(rows, junior_weight=1.1).sort("level", descending=True)
    assert levels["level"].to_list() == ["primary", "junior"]
    assert levels["students"].to_list() == [600, 300]
    assert levels["classes"].to_list() == [12, 6]
    assert levels["building_area_m2"].to_list() == pytest.approx([6000.0, 3300.0])
    assert levels["teachers"].to_list() == pytest.approx([60.0, 30.0])
    assert levels["backbone_teachers"].to_list() == pytest.approx([6.0, 3.0])
    assert levels["multimedia_rooms"].to_list() == pytest.approx([12.0, 6.0])  # not a facility indicator


def test_split_levels_takes_the_senior_share_out_of_a_twelve_year_school():
    # 600 primary, 300 junior, 250 senior. Weighted 600 : 330 : 330 (1.32 × 250) of 1260 → 12600 m² gives
    # 6000 and 3300 m², the 高中 3300 m² out. Teachers 115 by 600 : 300 : 250 of 1150 → 60 and 30, 25 out.
    rows = frame([school(school_type="twelve_year", primary_students=600, junior_students=300,
                                senior_students=250, primary_classes=12, junior_classes=6, building_area_m2=12600.0,
                                teachers=115)])
    levels = indicators.split_levels(rows, junior_weight=1.1, senior_weight=1.32).sort("level", descending=True)
    assert levels["building_area_m2"].to_list() == pytest.approx([6000.0, 3300.0])
    assert levels["teachers"].to_list() == pytest.approx([60.0, 30.0])
    without = indicators.split_levels(rows.drop("senior_students"), 1.1, 1.32)  # an old snapshot: no column
    assert without["teachers"].sum() == pytest.approx(115.0)


def test_facility_columns_are_the_five_2012_facility_indicators():
    assert set(indicators.facility_columns()) == {"building_area_m2", "sports_area_m2", "equipment_value_cny",
                                                  "computers", "books"}


def test_split_levels_keeps_single_level_schools_whole():
    rows = frame([school(school_id="1", primary_students=100), school(school_id="2", school_type="junior",
                  primary_students=0, junior_students=200, primary_classes=0, junior_classes=4)])
    levels = indicators.split_levels(rows, junior_weight=1.1)
    assert levels.height == 2
    assert levels["level_share"].to_list() == [1.0, 1.0]


def test_county_cv_groups_by_county_and_level():
    rows = frame([
        school(school_id="1", primary_students=100, computers=10),
        school(school_id="2", primary_students=300, computers=12),
        school(school_id="3", primary_students=600, computers=30),
        school(school_id="4", county_code="370305", primary_students=50, computers=5),
    ])
    values = indicators.school_values(indicators.split_levels(rows, 1.1))
    cvs = indicators.county_cv(values, ["computers_per_100"])
    linqu = cvs.filter(pl.col("county_code") == "370724")
    assert linqu["computers_per_100"].item() == pytest.approx(0.3195, abs=5e-5)
    assert linqu["school_count"].item() == 3
    assert cvs.filter(pl.col("county_code") == "370305")["computers_per_100"].item() == 0.0


def test_registry_has_the_official_indicators():
    basic = [i.key for i in indicators.basic_indicators()]
    quality = [i.key for i in indicators.quality_indicators()]
    assert len(basic) == 8 and len(quality) == 7
    assert set(quality) == {"above_degree_teachers_per_100", "backbone_teachers_per_100",
                            "pe_arts_teachers_per_100", "building_area_per_student",
                            "sports_area_per_student", "equipment_value_per_student", "multimedia_rooms_per_100"}
    assert set(basic) & set(quality) == {"building_area_per_student", "sports_area_per_student",
                                         "equipment_value_per_student"}
    # Each evaluation names teachers above the required degree its own way: 2012 per student, 2017 per 100.
    per_student, per_100 = (indicators.by_key("above_degree_teachers_per_student"),
                            indicators.by_key("above_degree_teachers_per_100"))
    assert (per_student.zh, per_student.scale, per_student.basic) == ("生均高于规定学历教师数", 1, True)
    assert (per_100.zh, per_100.scale, per_100.quality) == ("每百名学生拥有高于规定学历教师数", 100, True)
    rules = settings.load_thresholds()
    for key in quality:
        assert set(rules["minimums"][key]) == {"primary", "junior"}
    assert rules["minimums"]["sports_area_per_student"] == {"primary": 7.5, "junior": 10.2}
    assert rules["basic"] == {"primary": 0.65, "junior": 0.55}


def test_registry_numerators_are_data_model_columns():
    from tests.conftest import SCHEMA
    for ind in indicators.registry():
        assert ind.numerator in SCHEMA, ind.key
        assert ind.zh and ind.en and ind.unit_zh and ind.unit_en


def _combined_schools():
    return frame([
        school(school_id="3707240001", school_type="nine_year", primary_students=600, junior_students=300,
               primary_classes=12, junior_classes=6, teachers=90, building_area_m2=9300.0, multimedia_rooms=18),
        school(school_id="3707240002", school_type="twelve_year", primary_students=600, junior_students=300,
               senior_students=250, primary_classes=12, junior_classes=6, teachers=115, building_area_m2=12600.0),
        school(school_id="3707240003", school_type="complete_secondary", primary_students=0, primary_classes=0,
               junior_students=500, junior_classes=10, senior_students=400, teachers=80, books=40000),
    ])


@pytest.mark.parametrize("with_senior_column", [True, False])
def test_sql_aggregate_splits_combined_schools_like_the_rules(tmp_path, boundary_dir, with_senior_column):
    """queries/county_level_group_totals.sql and split_levels: the same split, the same sums (an old
    snapshot without senior_students reads it as 0)."""
    import shutil

    from junheng.data import db, demo
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    rows = _combined_schools() if with_senior_column else _combined_schools().drop("senior_students")
    demo.write_snapshot(tmp_path, 2024, rows, source="tests", synthetic=True)
    sql = db.connect(tmp_path).sql("select * from _county_level_group_totals order by level").pl()  # raw, unscoped
    rules = settings.load_thresholds()
    split = indicators.split_levels(rows, rules["rules"]["junior_weight"], rules["rules"]["senior_weight"])
    expected = split.group_by("level").agg(pl.len().alias("schools"), pl.col("students").sum(),
                                           *[pl.col(c).sum() for c in indicators.RESOURCE_COLUMNS]).sort("level")
    for column in ["schools", "students", *indicators.RESOURCE_COLUMNS]:
        assert sql[column].to_list() == pytest.approx(expected[column].cast(pl.Float64).to_list()), column
    junior = sql.filter(pl.col("level") == "junior").row(0, named=True)
    if with_senior_column:  # teachers 30 + 30 + 80·500/900; books 40000·550/(550 + 528) of the 完全中学
        assert junior["teachers"] == pytest.approx(60 + 80 * 500 / 900)
        assert junior["books"] == pytest.approx(3000 * 330 / 930 + 3000 * 330 / 1260 + 40000 * 550 / 1078)

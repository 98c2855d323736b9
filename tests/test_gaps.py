"""Urban–rural gaps on hand-worked schools: weighted group values, ratios, sizes, the plain summary."""
import shutil

import polars as pl
import pytest

from junheng import settings
from junheng.data import db, demo
from junheng.data.scope import EVERYTHING, Scope
from junheng.rules import evaluation, gaps, indicators
from tests.conftest import frame, school

RULES = settings.load_thresholds()
# Urban: 2 schools, 1000 + 1000 pupils, 3,000,000 + 1,000,000 yuan → 2000 yuan/pupil.
# Rural: 100 pupils with 150,000 and 300 with 330,000 → 480,000 / 400 = 1200 yuan/pupil (ratio 60%).
# The year before, rural had 400,000 / 400 = 1000 (ratio 50%): up 10 points.
ROWS = [
    school(year=2024, school_id="3707240001", urban_rural_code="111", primary_students=1000, primary_classes=20,
           classes_56_65=4, equipment_value_cny=3_000_000.0),
    school(year=2024, school_id="3707240002", urban_rural_code="112", primary_students=1000, primary_classes=20,
           classes_66_plus=2, equipment_value_cny=1_000_000.0),
    school(year=2024, school_id="3707240003", urban_rural_code="220", primary_students=100, primary_classes=6,
           equipment_value_cny=150_000.0),
    school(year=2024, school_id="3707240004", urban_rural_code="210", primary_students=300, primary_classes=10,
           equipment_value_cny=330_000.0),
    school(year=2023, school_id="3707240001", urban_rural_code="111", primary_students=1000, equipment_value_cny=2e6),
    school(year=2023, school_id="3707240002", urban_rural_code="112", primary_students=1000, equipment_value_cny=2e6),
    school(year=2023, school_id="3707240003", urban_rural_code="220", primary_students=100, equipment_value_cny=1e5),
    school(year=2023, school_id="3707240004", urban_rural_code="210", primary_students=300, equipment_value_cny=3e5),
]


@pytest.fixture()
def con(tmp_path, boundary_dir):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    rows = frame(ROWS)
    for year in (2023, 2024):
        demo.write_snapshot(tmp_path, year, rows.filter(pl.col("year") == year), source="tests", synthetic=True)
    return db.connect(tmp_path)


def totals(con, years=(2023, 2024)):
    return db.run(con, "level_group_totals", Scope("370724"), years=list(years), region="")


@pytest.fixture()
def ratios(con):
    return gaps.rural_urban_ratio(gaps.group_values(totals(con)))


def test_sql_level_totals_match_the_school_level_split(demo_frame, demo_data):
    """The SQL split of combined schools gives the same group values as the tested Polars split."""
    con = db.connect(demo_data)
    sql = gaps.group_values(db.run(con, "level_group_totals", EVERYTHING, years=[2025], region="3412"))
    values = evaluation.level_values(demo_frame.filter((pl.col("year") == 2025)
                                                       & pl.col("county_code").str.starts_with("3412")), RULES)
    keys = [i.key for i in indicators.registry()]
    by_hand = values.group_by("level", "urban_rural_group").agg(*[
        (pl.col(indicators.by_key(k).numerator).sum() / pl.col("students").sum() * indicators.by_key(k).scale)
        .alias(k) for k in keys]).unpivot(keys, index=["level", "urban_rural_group"], variable_name="indicator")
    joined = sql.join(by_hand, on=["level", "urban_rural_group", "indicator"])
    assert joined.height == by_hand.height > 0
    assert joined.select((pl.col("value") - pl.col("value_right")).abs().max()).item() < 1e-9


def test_group_values_are_student_weighted_totals(ratios):
    row = ratios.filter((pl.col("indicator") == "equipment_value_per_student") & (pl.col("year") == 2024)).row(
        0, named=True)
    assert (row["urban"], row["rural"], row["town"]) == (pytest.approx(2000), pytest.approx(1200), None)
    assert row["ratio"] == pytest.approx(0.6)


def test_summary_sentence_agrees_with_the_table(ratios):
    lines = gaps.summary(ratios, 2024, "primary", "zh", keys=["equipment_value_per_student"])
    assert lines == ["乡村小学生均教学仪器设备值为城区的 60%，比上年提高 10 个百分点。"]
    table = gaps.ratio_table(ratios, 2024, "primary", "zh")
    assert table.filter(pl.col("指标") == "生均教学仪器设备值")["乡村/城区"][0] == "60%"
    assert gaps.summary(ratios, 2023, "primary", "zh", keys=["equipment_value_per_student"]) == [
        "乡村小学生均教学仪器设备值为城区的 50%。"]  # no 2022 to compare with


def test_summary_in_english_names_the_change(ratios):
    line = gaps.summary(ratios, 2024, "primary", "en", keys=["equipment_value_per_student"])[0]
    assert "60% of urban" in line and "up 10 points" in line


def test_county_scatter_values(con):
    out = gaps.county_urban_rural(totals(con), "equipment_value_per_student", "primary", 2024).row(0, named=True)
    assert (out["county_code"], out["urban"], out["rural"]) == ("370724", pytest.approx(2000), pytest.approx(1200))


def test_size_profile_counts_by_hand(con):
    sizes = db.run(con, "urban_rural_sizes", Scope("370724"), years=[2024], region="", large_school_max=2000,
                   combined_school_max=2500, small_school_min=100)
    profile = gaps.size_profile(sizes).filter(pl.col("year") == 2024)
    urban = profile.filter(pl.col("urban_rural_group") == "urban").row(0, named=True)
    rural = profile.filter(pl.col("urban_rural_group") == "rural").row(0, named=True)
    assert urban["share_56_65"] == pytest.approx(4 / 40) and urban["share_66_plus"] == pytest.approx(2 / 40)
    assert urban["share_over_2000"] == 0 and rural["share_under_100"] == 0  # 100 is not under 100
    assert urban["mean_class_size"] == pytest.approx(2000 / 40)
    assert rural["mean_class_size"] == pytest.approx(400 / 16)

"""Left-behind children: care capacity by hand, breakdowns, and that no suppressed school count leaks anywhere."""
import io

import polars as pl
import pytest

from junheng import settings
from junheng.reports import exports
from junheng.rules import left_behind, privacy
from tests.conftest import frame, school

RULES = settings.load_thresholds()
MIN = RULES["privacy"]["min_count"]


def test_care_capacity_by_hand():
    # 20 classes, 1 mental-health teacher: 0.5 per 10 classes (target 1); 40 left-behind children:
    # 40 per teacher; care gap 40 × (1 − 0.5) = 20. Boarding 10 of 40 left-behind: cover 0.25.
    care = left_behind.school_care(frame([school(primary_students=800, primary_classes=20, psych_teachers=1,
                                                 left_behind_students=40, boarding_students=10)]), RULES)
    row = care.row(0, named=True)
    assert row["psych_per_10_classes"] == pytest.approx(0.5)
    assert row["left_behind_per_psych_teacher"] == pytest.approx(40)
    assert row["care_gap"] == pytest.approx(20)
    assert row["boarding_cover"] == pytest.approx(0.25)
    assert row["left_behind_share"] == pytest.approx(0.05)


def test_school_at_the_target_has_no_care_gap_and_one_without_a_teacher_has_all():
    care = left_behind.school_care(frame([
        school(school_id="3707240001", primary_classes=10, psych_teachers=2, left_behind_students=30),
        school(school_id="3707240002", primary_classes=10, psych_teachers=0, left_behind_students=30)]), RULES)
    assert care["care_gap"].to_list() == [0, 30]
    assert care["left_behind_per_psych_teacher"].to_list() == [15, None]


def test_breakdown_totals_are_exact_sums():
    rows = frame([school(school_id="3707240001", township="城关街道", left_behind_students=10),
                  school(school_id="3707240002", township="城关街道", left_behind_students=7),
                  school(school_id="3707240003", township="柳山乡", left_behind_students=30)])
    out = left_behind.breakdown(left_behind.school_care(rows, RULES), "township")
    assert dict(zip(out["township"], out["left_behind_students"])) == {"柳山乡": 30, "城关街道": 17}


@pytest.mark.parametrize("count, shown", [(0, "0"), (1, f"<{MIN}"), (MIN - 1, f"<{MIN}"), (MIN, str(MIN))])
def test_suppression_threshold(count, shown):
    out = privacy.suppress(frame([school(left_behind_students=count)]), MIN, ("left_behind_share",))
    assert out["left_behind_students"][0] == shown


def _small(care: pl.DataFrame) -> pl.DataFrame:
    return care.filter((pl.col("left_behind_students") > 0) & (pl.col("left_behind_students") < MIN))


def test_no_suppressed_count_leaks_from_tables_maps_or_exports(demo_frame):
    schools = demo_frame.filter(pl.col("year") == 2025)
    care = left_behind.school_care(schools, RULES)
    small = _small(care)
    assert small.height > 20  # the demo data has such schools, so the test can fail
    hidden_ids = set(small["school_id"])

    table = left_behind.care_gap_table(care, RULES, "zh")
    hidden_rows = table.filter(pl.col("学校标识码").is_in(hidden_ids))
    assert set(hidden_rows["留守儿童数"]) == {f"<{MIN}"}
    for derived in ("留守儿童占比（%）", "每名心理教师对应留守儿童", "关爱缺口（估算人数）"):
        assert hidden_rows[derived].null_count() == hidden_rows.height

    for name, data in (("csv", exports.csv_bytes(table)), ("xlsx", exports.xlsx_bytes({"t": table}))):
        back = (pl.read_csv(io.BytesIO(data), schema_overrides={"学校标识码": pl.String, "留守儿童数": pl.String})
                if name == "csv" else pl.read_excel(io.BytesIO(data), engine="openpyxl", schema_overrides={
                    "学校标识码": pl.String, "留守儿童数": pl.String}))
        leaked = back.filter(pl.col("学校标识码").is_in(hidden_ids))
        assert set(leaked["留守儿童数"]) == {f"<{MIN}"}, name

    for row in left_behind.school_map_rows(care.filter(pl.col("school_id").is_in(hidden_ids)), RULES, "zh"):
        assert row["size"] == 0 and row["tooltip"].endswith(f"<{MIN}")

    for by in left_behind.BREAKDOWNS:
        shown = left_behind.breakdown_table(left_behind.breakdown(care, by), by, RULES, "zh")
        numbers = shown["留守儿童数"].cast(pl.Int64, strict=False).drop_nulls()
        assert not numbers.is_between(1, MIN - 1).any(), by


def test_county_totals_stay_exact(demo_frame):
    schools = demo_frame.filter((pl.col("year") == 2025) & (pl.col("county_code") == "370724"))
    totals = pl.DataFrame({"county_code": ["370724"], "students": [schools.select(
        pl.col("primary_students").sum() + pl.col("junior_students").sum()).item()],
        "left_behind_students": [schools["left_behind_students"].sum()], "classes": [100],
        "psych_teachers": [5], "boarding_students": [10]})
    out = left_behind.county_care_table(totals, pl.DataFrame({"county_code": ["370724"], "county_name": ["临朐县"]}),
                                        RULES, "zh")
    assert out["留守儿童数"][0] == schools["left_behind_students"].sum()


def test_migrants_by_group_and_public_share():
    rows = frame([school(school_id="3707240001", urban_rural_code="111", migrant_students=80, is_public=True),
                  school(school_id="3707240002", urban_rural_code="111", migrant_students=20, is_public=False),
                  school(school_id="3707240003", urban_rural_code="220", migrant_students=100, is_public=True)])
    out = left_behind.migrant_where(rows)
    urban = out.filter(pl.col("urban_rural_group") == "urban").row(0, named=True)
    assert (urban["migrant_students"], urban["share_of_migrants"], urban["public_share"]) == (100, 0.5, 0.8)

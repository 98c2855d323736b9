"""The synthetic data: contract columns, determinism, internal consistency and the patterns it must show."""

import numpy as np
import polars as pl
import pytest
import shapely

from junheng import settings
from junheng.data import boundaries, demo, dictionary
from junheng.rules import evaluation
from tests.conftest import SCHEMA


def test_has_every_contract_column_with_its_type(demo_frame):
    for name, dtype in SCHEMA.items():
        assert demo_frame.schema[name] == dtype, name
    assert [c.name for c in dictionary.columns()] == list(SCHEMA)


def test_covers_the_demo_places_and_years(demo_frame):
    counties = set(demo_frame["county_code"])
    assert {"370724", "370305", "341202", "341226", "210302", "210323"} <= counties
    assert {c[:4] for c in counties} == set(demo.DEMO_PREFECTURES)
    years = sorted(set(demo_frame["year"]))
    assert years[0] <= 2013 and years[-1] == 2025 and years == list(range(years[0], 2026))


def test_same_seed_same_data_other_seed_other_data(tmp_path, boundary_dir):
    import shutil
    frames = []
    for name, seed in (("a", 7), ("b", 7), ("c", 8)):
        shutil.copytree(boundary_dir, tmp_path / name / "boundaries")
        demo.generate(tmp_path / name, scope="demo", seed=seed, years=[2020], log=lambda *_: None)
        frames.append(pl.read_parquet(tmp_path / name / "snapshots" / "year=2020" / "part-0.parquet"))
    assert frames[0].equals(frames[1])
    assert not frames[0].equals(frames[2])


def test_identifiers_and_codes_are_well_formed(demo_frame):
    assert demo_frame["school_id"].str.contains(r"^\d{10}$").all()
    assert demo_frame.select(pl.struct("year", "school_id").is_duplicated().sum()).item() == 0
    assert set(demo_frame["urban_rural_code"]) <= {"111", "112", "121", "122", "123", "210", "220"}
    tp = demo_frame.filter(pl.col("school_type") == "teaching_point")
    assert tp["parent_school_id"].is_not_null().all()
    assert (tp["parent_school_id"].str.slice(0, 6) == tp["county_code"]).all()


def test_counts_are_consistent(demo_frame):
    f = demo_frame.with_columns(
        students=pl.col("primary_students") + pl.col("junior_students"),
        classes=pl.col("primary_classes") + pl.col("junior_classes"))
    assert (f["classes_56_65"] + f["classes_66_plus"] <= f["classes"]).all()
    for kind in ("teachers_above_degree", "teachers_senior_title", "backbone_teachers", "pe_arts_teachers",
                 "psych_teachers"):
        assert (f[kind] <= f["teachers"]).all(), kind
    for part in ("left_behind_students", "boarding_students", "migrant_students"):
        assert (f[part] <= f["students"]).all(), part
    assert (f.filter(~pl.col("is_boarding"))["boarding_students"] == 0).all()
    assert (f["standardized_year"].drop_nulls() <= f.filter(pl.col("standardized_year").is_not_null())["year"]).all()


def test_schools_lie_inside_their_county_and_urban_ones_near_the_seat(demo_frame, demo_data):
    counties = boundaries.read(demo_data).set_index("county_code")
    f = demo_frame.filter(pl.col("year") == 2020)
    near = {"urban": [], "rural": []}
    for code, group in f.group_by("county_code"):
        polygon = counties.loc[code[0], "geometry"]
        assert shapely.contains_xy(polygon, group["lon"].to_numpy(), group["lat"].to_numpy()).mean() > 0.99
        seat = polygon.representative_point()
        dist = np.hypot(group["lon"].to_numpy() - seat.x, group["lat"].to_numpy() - seat.y)
        ur = group["urban_rural_code"].str.slice(0, 1).to_numpy()
        if (ur == "1").any() and (ur == "2").any():
            near["urban"].append(np.median(dist[group["urban_rural_code"].is_in(["111", "112"]).to_numpy()]))
            near["rural"].append(np.median(dist[ur == "2"]))
    assert np.median(near["urban"]) < 0.5 * np.median(near["rural"])


def _shares(f: pl.DataFrame, by) -> pl.DataFrame:
    return f.with_columns(students=pl.col("primary_students") + pl.col("junior_students"),
                          classes=pl.col("primary_classes") + pl.col("junior_classes")).group_by(by).agg(
        (pl.col("left_behind_students").sum() / pl.col("students").sum()).alias("left_behind"),
        (pl.col("migrant_students").sum() / pl.col("students").sum()).alias("migrant"),
        ((pl.col("classes_56_65") + pl.col("classes_66_plus")).sum() / pl.col("classes").sum()).alias("large"),
        (pl.col("classes_66_plus").sum() / pl.col("classes").sum()).alias("huge"),
        (pl.col("students").sum() / pl.col("classes").sum()).alias("class_size"),
        pl.col("standardized_year").is_not_null().mean().alias("standardized"),
        pl.col("students").median().alias("median_students"),
        pl.len().alias("schools"),
    )


def test_left_behind_high_in_anhui_rural_boarding_and_falling(demo_frame):
    province = _shares(demo_frame.with_columns(p=pl.col("county_code").str.slice(0, 2)), "p")
    share = dict(zip(province["p"], province["left_behind"]))
    assert share["34"] > 3 * share["21"]
    ur = _shares(demo_frame.with_columns(g=pl.col("urban_rural_code").str.slice(0, 1)), "g")
    by_ur = dict(zip(ur["g"], ur["left_behind"]))
    assert by_ur["2"] > 2 * by_ur["1"]
    assert dict(zip(ur["g"], ur["migrant"]))["1"] > 3 * dict(zip(ur["g"], ur["migrant"]))["2"]
    boarding = _shares(demo_frame.filter(pl.col("urban_rural_code").str.starts_with("2")), "is_boarding")
    b = dict(zip(boarding["is_boarding"], boarding["left_behind"]))
    assert b[True] > b[False]
    years = _shares(demo_frame, "year").sort("year")
    assert years["left_behind"][-1] < 0.75 * years["left_behind"][0]


def test_town_schools_crowded_then_large_classes_cut_after_2017(demo_frame):
    f = demo_frame.with_columns(g=pl.col("urban_rural_code").str.slice(0, 2))
    y2016 = _shares(f.filter(pl.col("year") == 2016), "g")
    size = dict(zip(y2016["g"], y2016["class_size"]))
    assert size["12"] > size["11"] > size["22"]
    years = _shares(demo_frame, "year").sort("year")
    large = dict(zip(years["year"], years["large"]))
    huge = dict(zip(years["year"], years["huge"]))
    assert large[2016] > 0.05 and huge[2016] > 0.01
    assert huge[2018] < 0.5 * huge[2017]
    assert large[2020] < 0.05 and huge[2019] <= 0.02


def test_many_small_rural_schools_and_teaching_points(demo_frame):
    f = demo_frame.filter(pl.col("year") == 2020).with_columns(g=pl.col("urban_rural_code").str.slice(0, 1))
    tp = f.filter(pl.col("school_type") == "teaching_point")
    assert (tp["g"] == "2").mean() > 0.5
    by = _shares(f.filter(pl.col("school_type") == "primary"), "g")
    med = dict(zip(by["g"], by["median_students"]))
    assert med["1"] > 4 * med["2"]


def test_standardization_spreads_urban_first(demo_frame):
    years = _shares(demo_frame, "year").sort("year")["standardized"].to_list()
    assert years == sorted(years) and years[0] < 0.8 and years[-1] > 0.9
    ur = _shares(demo_frame.filter(pl.col("year") == 2016)
                 .with_columns(g=pl.col("urban_rural_code").str.slice(0, 1)), "g")
    s = dict(zip(ur["g"], ur["standardized"]))
    assert s["1"] > s["2"]


def test_some_counties_pass_and_some_fail_each_evaluation(demo_frame):
    rules = settings.load_thresholds()
    values = evaluation.level_values(demo_frame, rules)
    basic = evaluation.basic_cvs(values, rules).group_by("county_code", "year").agg(pl.col("pass").all())
    quality_cv = evaluation.quality_cvs(values, rules)
    schools = evaluation.school_verdicts(values, rules).group_by("county_code", "year", "level").agg(
        pl.col("school_pass").all())
    quality = quality_cv.join(schools, on=["county_code", "year", "level"]).group_by("county_code", "year").agg(
        (pl.col("cv_pass") & pl.col("school_pass")).all().alias("pass"))
    basic_2016 = basic.filter(pl.col("year") == 2016)["pass"]
    assert 0 < basic_2016.sum() < basic_2016.len()
    latest = quality.filter(pl.col("year") == 2025)["pass"]
    assert 0 < latest.sum() < latest.len()
    # gaps narrow: the median composite CV falls over the decade
    composite = evaluation.basic_cvs(values, rules).group_by("year").agg(pl.col("composite").median()).sort("year")
    assert composite["composite"][-1] < composite["composite"][0]


# Published national figures the demo data are held to (docs/demo_data.md has them side by side).
NATIONAL = {
    "migrant_share_2017": 0.0968,       # 1,406.63万 随迁子女 of 14,535.87万 students
    "migrant_public_2017": 0.7967,      # of them in public schools
    "primary_class_2017": 38.0,         # mean primary class
    "huge_2017": 0.024, "large_2017": 0.101,   # 66+ and 56+ shares of classes
    "huge_2018": 0.005, "large_2018": 0.0706,
    "large_2019": 0.0398,
    "primary_per_school_2016": 558,     # 9,913万 primary pupils in 17.76万 primary schools
    "left_behind_2014": 0.150, "left_behind_2017": 0.107, "left_behind_2021": 0.076,
}


def _year(f: pl.DataFrame, year: int) -> pl.DataFrame:
    return f.filter(pl.col("year") == year).with_columns(
        students=pl.col("primary_students") + pl.col("junior_students"),
        classes=pl.col("primary_classes") + pl.col("junior_classes"),
        is_point=pl.col("school_type") == "teaching_point")


def _share(f: pl.DataFrame, num: str, den: str = "students") -> float:
    return f[num].sum() / f[den].sum()


@pytest.mark.parametrize("year, key, tolerance", [(2017, "migrant_share_2017", 0.025)])
def test_migrant_children_about_a_tenth_mostly_in_public_schools(demo_frame, year, key, tolerance):
    f = _year(demo_frame, year)
    assert _share(f, "migrant_students") == pytest.approx(NATIONAL[key], abs=tolerance)
    public = f.filter(pl.col("is_public"))["migrant_students"].sum() / f["migrant_students"].sum()
    assert public == pytest.approx(NATIONAL["migrant_public_2017"], abs=0.08)


def test_mean_primary_class_and_primary_school_size(demo_frame):
    schools = _year(demo_frame, 2017).filter(~pl.col("is_point"))
    assert (_share(schools, "primary_students", "primary_classes")
            == pytest.approx(NATIONAL["primary_class_2017"], abs=3))
    primary = _year(demo_frame, 2016).filter(pl.col("school_type") == "primary")
    assert primary["primary_students"].mean() == pytest.approx(NATIONAL["primary_per_school_2016"], rel=0.15)


@pytest.mark.parametrize("year, band, key, tolerance", [
    (2017, "huge", "huge_2017", 0.008), (2017, "large", "large_2017", 0.025),
    (2018, "huge", "huge_2018", 0.004), (2018, "large", "large_2018", 0.02), (2019, "large", "large_2019", 0.015)])
def test_large_classes_follow_the_national_path(demo_frame, year, band, key, tolerance):
    f = _year(demo_frame, year).with_columns(large=pl.col("classes_56_65") + pl.col("classes_66_plus"),
                                             huge=pl.col("classes_66_plus"))
    assert _share(f, band, "classes") == pytest.approx(NATIONAL[key], abs=tolerance)


@pytest.mark.parametrize("year", [2014, 2017, 2021])
def test_left_behind_share_follows_the_national_decline(demo_frame, year):
    assert _share(_year(demo_frame, year), "left_behind_students") == pytest.approx(
        NATIONAL[f"left_behind_{year}"], abs=0.035)


def test_county_size_follows_its_real_population(demo_frame, demo_data):
    counties = boundaries.read(demo_data)
    population = demo.county_populations(counties[counties["in_statistics"]])
    size = _year(demo_frame, 2020).group_by("county_code").agg(pl.col("students").sum()).with_columns(
        pl.col("county_code").replace_strict(population, return_dtype=pl.Float64).alias("population"))
    rank = size.select(pl.corr("students", "population", method="spearman")).item()
    assert rank > 0.8
    students = dict(zip(size["county_code"], size["students"]))
    largest = sorted(students, key=students.get, reverse=True)
    assert "341221" in largest[:3]                      # 临泉县, one of China's most populous counties
    assert students["370704"] < students["341221"] / 2  # 坊子区 is small


def test_schools_close_and_merge_and_new_ones_open(demo_frame):
    ids = {y: set(g["school_id"]) for (y,), g in demo_frame.group_by("year")}
    first, last = min(ids), max(ids)
    closed = ids[first] - ids[last]
    assert 0.15 < len(closed) / len(ids[first]) < 0.5      # 撤点并校: a school_id disappears ...
    assert ids[last] - ids[first]                          # ... and new schools open
    # ... and its pupils go to a neighbour: the township keeps most of the pupils of a school that closes.
    f = demo_frame.with_columns(students=pl.col("primary_students") + pl.col("junior_students"))
    kept = lost = 0
    for year in range(first + 1, last + 1):
        before, now = f.filter(pl.col("year") == year - 1), f.filter(pl.col("year") == year)
        gone = before.filter(~pl.col("school_id").is_in(now["school_id"].implode())
                             & (pl.col("school_type") != "teaching_point"))
        for (county, township), g in gone.group_by("county_code", "township"):
            area = [pl.col("county_code") == county, pl.col("township") == township]
            change = now.filter(*area)["students"].sum() - before.filter(*area)["students"].sum()
            kept += change + g["students"].sum()
            lost += g["students"].sum()
    assert lost > 0 and kept > 0.6 * lost


def test_teaching_points_belong_to_a_school_open_that_year(demo_frame):
    for (year,), f in demo_frame.group_by("year"):
        parents = set(f.filter(pl.col("school_type") == "teaching_point")["parent_school_id"])
        assert parents <= set(f["school_id"]), year


def test_rural_enrolment_falls_as_towns_grow(demo_frame):
    f = demo_frame.with_columns(students=pl.col("primary_students") + pl.col("junior_students"),
                                rural=pl.col("urban_rural_code").str.starts_with("2"))
    by = f.group_by("year", "rural").agg(pl.col("students").sum())
    value = {(r["year"], r["rural"]): r["students"] for r in by.iter_rows(named=True)}
    first, last = int(f["year"].min()), int(f["year"].max())
    assert value[(last, True)] < 0.75 * value[(first, True)]
    assert value[(last, False)] > 1.05 * value[(first, False)]


def test_senior_students_only_in_schools_with_a_senior_section(demo_frame):
    f = demo_frame.filter(pl.col("year") == 2020)
    with_senior = pl.col("school_type").is_in(["complete_secondary", "twelve_year"])
    assert (f.filter(~with_senior)["senior_students"] == 0).all()
    senior = f.filter(with_senior)
    assert senior.height > 10 and (senior["senior_students"] > 0).all()
    ratio = senior["senior_students"] / senior["junior_students"]
    assert ratio.min() > 0.4 and ratio.max() < 1.7


def test_milestones_both_met_and_missed_by_counties(demo_data):
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    from junheng.rules import standardization as std
    con = db.connect(demo_data)
    years = list(range(2013, 2026))
    totals = db.run(con, "county_totals", EVERYTHING, years=years, region="")
    rules = settings.load_thresholds()
    checks = std.milestone_checks(std.progress(totals), rules, "anshan")
    for milestone in ("standardized_share", "1:2018"):  # 85% standardized in 2015; no 66+ classes in 2018
        met = checks.filter(pl.col("milestone") == milestone)["met"]
        assert 0 < met.sum() < met.len(), milestone

"""The synthetic data: contract columns, determinism, internal consistency and the patterns it must show."""
from pathlib import Path

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
    assert sorted(set(demo_frame["year"])) == list(range(2016, 2026))


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
    ur = _shares(demo_frame.filter(pl.col("year") == 2016).with_columns(g=pl.col("urban_rural_code").str.slice(0, 1)), "g")
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

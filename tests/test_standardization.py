"""Standardization and large classes: pace projections, the rule profiles' milestones, teaching points apart,
by hand."""
import copy
import shutil
from pathlib import Path

import polars as pl
import pytest

from junheng import settings
from junheng.data import db, demo
from junheng.data.scope import Scope
from junheng.rules import standardization as std
from junheng.views import present
from tests.conftest import frame, school

RULES = settings.load_thresholds()
ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("remaining, pace, expected", [
    (0, None, 2025), (6, 2.0, 2028), (7, 2.0, 2029), (5, 0.0, None), (5, None, None), (1, 3.0, 2026)])
def test_projected_year(remaining, pace, expected):
    assert std.projected_year(2025, remaining, pace) == expected


def totals(rows):
    base = {"schools": 10, "standardized_schools": 0, "public_schools": 10, "public_standardized_schools": 0,
            "classes": 100, "classes_56_65": 0, "classes_66_plus": 0, "teaching_points": 0,
            "standardized_teaching_points": 0}
    return pl.DataFrame([{**base, **r} for r in rows])


def test_roadmap_pace_and_lateness():
    # County A: 4 → 7 standardized of 10 public schools in 3 years: pace 1 a year, 3 left → 2028, late
    # (deadline 2020). Large classes 40 → 10 of 100 in 3 years: pace 10; national goal ≤ 5% → 5 to go → 2026,
    # late (2020). County B: all standardized, 3 large classes of 100 (≤ 5%): nothing late.
    frame_ = std.progress(totals([
        {"county_code": "A", "year": 2022, "public_standardized_schools": 4, "classes_56_65": 40},
        {"county_code": "A", "year": 2025, "public_standardized_schools": 7, "classes_56_65": 8, "classes_66_plus": 2},
        {"county_code": "B", "year": 2022, "public_standardized_schools": 10, "classes_56_65": 5},
        {"county_code": "B", "year": 2025, "public_standardized_schools": 10, "classes_56_65": 3}]))
    plan = {r["county_code"]: r for r in std.roadmap(frame_, 2025, RULES, "national").iter_rows(named=True)}
    a, b = plan["A"], plan["B"]
    assert (a["remaining_public"], a["standardization_pace"], a["standardization_year"]) == (3, 1.0, 2028)
    assert a["standardization_late"] is True
    assert (a["large_class_pace"], a["large_class_year"], a["large_class_late"]) == (10.0, 2026, True)
    assert (b["remaining_public"], b["standardization_late"], b["large_class_late"]) == (0, False, False)
    # Under 鞍山's rules 56+ classes must be gone by 2020: B's 3 left are late too (no pace: 5 → 3 is 2/3 a year,
    # 3 left → 2030).
    plan = {r["county_code"]: r for r in std.roadmap(frame_, 2025, RULES, "anshan").iter_rows(named=True)}
    assert (plan["B"]["large_class_year"], plan["B"]["large_class_late"]) == (2030, True)


def test_region_shares_come_from_summed_counts():
    frame_ = totals([{"county_code": "A", "year": 2020, "schools": 10, "standardized_schools": 10},
                     {"county_code": "B", "year": 2020, "schools": 90, "standardized_schools": 0}])
    assert std.region_progress(frame_)["standardized_share"][0] == pytest.approx(0.1)  # not the mean 0.5


CLASS_YEARS = [  # 66+ and 56–65 classes of 100, hand-made to meet some milestones and miss others
    {"year": 2016, "classes_66_plus": 40, "classes_56_65": 40},
    {"year": 2017, "classes_66_plus": 20, "classes_56_65": 40},   # 66+ cut 50% ✓; 56+ 80 → 60 cut 25% ✓
    {"year": 2018, "classes_66_plus": 1, "classes_56_65": 45},    # 66+ 1%: ≤ 2% ✓ but not zero ✗; 56+ 60 → 46 ✗
    {"year": 2019, "classes_56_65": 20},                          # 56+ 46 → 20 ✓
    {"year": 2020, "classes_56_65": 6, "public_standardized_schools": 10},  # 6%: > 5% ✗, not zero ✗
    {"year": 2021, "classes_56_65": 8},                           # rose by 2 ✗ (鞍山: no increase)
]


def checks(profile):
    region = std.region_progress(totals([{"county_code": "A", **r} for r in CLASS_YEARS]))
    return {r["milestone"] if r["rule"] is None else f"{r['band']} {r['rule']} {r['year']}": r
            for r in std.milestone_checks(region, RULES, profile).iter_rows(named=True)}


def test_national_profile_by_hand():
    c = checks("national")
    assert c["66+ share_max 2018"]["value"] == pytest.approx(0.01) and c["66+ share_max 2018"]["met"]
    assert c["56+ share_max 2020"]["value"] == pytest.approx(0.06) and not c["56+ share_max 2020"]["met"]
    assert c["all_public"]["met"]
    assert not any(k.startswith("66+ zero") or "cut_min" in k for k in c)


def test_anshan_profile_by_hand_shows_met_and_missed_milestones():
    c = checks("anshan")
    assert c["66+ cut_min 2017"]["value"] == pytest.approx(0.5) and c["66+ cut_min 2017"]["met"]
    assert c["66+ zero 2018"]["value"] == 1 and not c["66+ zero 2018"]["met"]  # 1% passes nationally, not here
    assert c["56+ cut_min 2017"]["value"] == pytest.approx(0.25) and c["56+ cut_min 2017"]["met"]
    assert c["56+ cut_min 2018"]["value"] == pytest.approx(1 - 46 / 60) and not c["56+ cut_min 2018"]["met"]
    assert c["56+ cut_min 2019"]["met"]
    assert not c["56+ zero 2020"]["met"]
    assert c["56+ no_increase 2021"]["value"] == 2 and not c["56+ no_increase 2021"]["met"]
    assert "56+ cut_min 2020" not in c  # the yearly cuts run 2017–2019, then zero in 2020


def test_cut_from_nothing_is_met_only_when_nothing_is_left():
    region = std.region_progress(totals([
        {"county_code": "A", "year": 2016}, {"county_code": "A", "year": 2017, "classes_66_plus": 2}]))
    row = std.milestone_checks(region, RULES, "anshan").filter(pl.col("band") == "66+").row(0, named=True)
    assert row["value"] is None and row["met"] is False


def test_standardized_by_2015_met_in_one_county_missed_in_another():
    # 85% of schools by 2015: A 9 of 10 (90% ✓), B 8 of 10 (80% ✗); B's 5 teaching points are not schools.
    frame_ = std.progress(totals([
        {"county_code": "A", "year": 2015, "standardized_schools": 9},
        {"county_code": "B", "year": 2015, "standardized_schools": 8, "teaching_points": 5,
         "standardized_teaching_points": 5}]))
    rows = std.milestone_checks(frame_, RULES, "national").filter(pl.col("milestone") == "standardized_share")
    assert dict(zip(rows["county_code"], rows["met"])) == {"A": True, "B": False}
    assert rows.filter(pl.col("county_code") == "B")["value"][0] == pytest.approx(0.8)


def test_allowed_counts_follow_the_profile():
    region = std.region_progress(totals([{"county_code": "A", **r} for r in CLASS_YEARS]))
    allowed = {(r["band"], r["year"]): r["allowed"] for r in std.allowed_counts(region, RULES, "anshan").iter_rows(
        named=True)}
    assert allowed[("66+", 2017)] == 20 and allowed[("66+", 2018)] == 0
    assert allowed[("56+", 2018)] == pytest.approx(60 * 0.75) and allowed[("56+", 2020)] == 0
    assert allowed[("56+", 2021)] == 6  # no more than the year before
    national = std.allowed_counts(region, RULES, "national")
    assert national.filter(pl.col("band") == "66+")["allowed"].to_list() == [2.0]


TP_ROWS = [  # 临朐县 2024: two schools and three teaching points (two standardized)
    school(school_id="3707240001", standardized_year=2015, primary_students=460, primary_classes=10),  # 46 > 45
    school(school_id="3707240002", school_type="junior", standardized_year=None, primary_students=0,
           junior_students=500, primary_classes=0, junior_classes=10),  # 50: not over 50
    school(school_id="3707240003", school_type="teaching_point", standardized_year=2020, primary_students=30,
           primary_classes=1),  # 30 in one class: a teaching point is never counted
    school(school_id="3707240004", school_type="teaching_point", standardized_year=2021, primary_students=60,
           primary_classes=1),
    school(school_id="3707240005", school_type="teaching_point", standardized_year=None, primary_students=20,
           primary_classes=1),
]


@pytest.fixture()
def tp_con(tmp_path, boundary_dir):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    demo.write_snapshot(tmp_path, 2024, frame(TP_ROWS), source="tests", synthetic=True)
    return db.connect(tmp_path)


def test_teaching_points_are_not_counted_as_schools(tp_con):
    row = db.run(tp_con, "county_totals", Scope("370724"), years=[2024], region="").row(0, named=True)
    assert (row["schools"], row["standardized_schools"], row["public_schools"]) == (2, 1, 2)
    assert (row["teaching_points"], row["standardized_teaching_points"]) == (3, 2)
    shares = std.progress(pl.DataFrame([row])).row(0, named=True)
    assert shares["standardized_share"] == pytest.approx(0.5)  # 1 of 2 schools; with points it would be 3 of 5
    assert shares["teaching_point_standardized_share"] == pytest.approx(2 / 3)


def test_class_size_caps_by_hand(tp_con):
    caps = db.run(tp_con, "class_size_caps", Scope("370724"), years=[2024], region="", primary_max=45,
                  junior_max=50).row(0, named=True)
    assert (caps["primary_level_schools"], caps["primary_over_cap_schools"]) == (1, 1)  # 46 a class > 45
    assert (caps["junior_level_schools"], caps["junior_over_cap_schools"]) == (1, 0)    # 50 a class: not over
    totals_ = db.run(tp_con, "county_totals", Scope("370724"), years=[2024], region="")
    region = std.region_progress(totals_, db.run(tp_con, "class_size_caps", Scope("370724"), years=[2024], region="",
                                                 primary_max=45, junior_max=50))
    c = {r["band"]: r for r in std.milestone_checks(region.with_columns(pl.lit(2020).alias("year")), RULES,
                                                     "national").iter_rows(named=True) if r["band"]}
    assert c["primary_cap"]["value"] == 1.0 and not c["primary_cap"]["met"]
    assert c["junior_cap"]["value"] == 0.0 and c["junior_cap"]["met"]


def test_the_old_class_bound_settings_are_gone():
    text = (ROOT / "junheng" / "rules" / "thresholds.toml").read_text(encoding="utf-8")
    assert "large_class_min" not in text and "huge_class_min" not in text


def test_an_invalid_profile_is_refused_clearly(tmp_path):
    import tomllib
    rules = tomllib.loads((ROOT / "junheng" / "rules" / "thresholds.toml").read_text(encoding="utf-8"))
    bad = copy.deepcopy(rules)
    bad["class_profiles"]["anshan"]["milestones"][0]["band"] = "77+"
    path = tmp_path / "t.toml"
    path.write_text(_toml(bad), encoding="utf-8")
    with pytest.raises(settings.SettingsError, match=r"class_profiles.anshan.*77\+"):
        settings.load_thresholds(path)
    bad = copy.deepcopy(rules)
    bad["targets"]["class_profile"] = "nowhere"
    path.write_text(_toml(bad), encoding="utf-8")
    with pytest.raises(settings.SettingsError, match="class_profiles.nowhere"):
        settings.load_thresholds(path)


def _toml(rules: dict) -> str:
    """A small TOML writer for the thresholds layout (tables of numbers, strings and milestone lists)."""
    def value(v):
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, str):
            return '"' + v.replace('"', '\\"') + '"'
        if isinstance(v, list):
            return "[" + ", ".join("{ " + ", ".join(f"{k} = {value(x)}" for k, x in m.items()) + " }" for m in v) + "]"
        return repr(v)

    out = []

    def table(name, body):
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict)}
        out.append(f"[{name}]")
        out.extend(f"{k} = {value(v)}" for k, v in scalars.items())
        for k, v in body.items():
            if isinstance(v, dict):
                table(f"{name}.{k}", v)
    for name, body in rules.items():
        table(name, body)
    return "\n".join(out) + "\n"


def test_page_checks_the_default_profile_and_switches_to_anshan(monkeypatch, demo_data):
    from streamlit.testing.v1 import AppTest
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    monkeypatch.chdir(ROOT)
    at = AppTest.from_file(str(ROOT / "pages" / "standardization.py"), default_timeout=120)
    at.run()
    assert not at.exception, [e.value for e in at.exception]

    def milestones():  # the whole table (views/phone.py: the phone's key columns come first, the whole one next)
        return " ".join(str(v) for v in at.dataframe[1].value.iloc[:, 1])
    assert "≤ 2%" in milestones() and "清零" not in milestones()  # no link needed: the file's default profile
    at.session_state["class_profile"] = "anshan"
    at.run()
    assert not at.exception
    assert "超大班额（66人及以上）清零" in milestones() and "≤ 2%" not in milestones()


def test_the_page_parts_kept_per_view_are_what_the_page_built_before(demo_data, monkeypatch):
    """A second visit shows what is kept from the first (cache.memo) and it equals the page built from the rules:
    the same figures and tables."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from junheng.views import standardization_views
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    page = str(Path(__file__).resolve().parent.parent / "pages" / "standardization.py")
    built = []
    real = standardization_views.page_parts
    monkeypatch.setattr(standardization_views, "page_parts", lambda *a: built.append(a) or real(*a))
    runs = []
    for _ in range(2):
        at = AppTest.from_file(page, default_timeout=120)
        at.query_params["region"] = "37"
        at.run()
        assert not at.exception
        runs.append(at)
    assert len(built) <= 1  # the second visit built nothing (the first may find it kept by an earlier test)
    first, second = runs
    assert len(first.dataframe) == len(second.dataframe) >= 3
    for a, b in zip(first.dataframe, second.dataframe):
        assert a.value.equals(b.value)
    charts = [[h.proto.body for h in run.get("html") if present.chart_data(h.proto.body)] for run in runs]
    assert charts[0] == charts[1]  # the same elements: the browser draws nothing anew
    assert len(charts[0]) == 5  # two trends, class counts, two small multiples
    figures = [present.chart_data(body)["figure"] for body in charts[0]]
    assert all(figure["data"] for figure in figures)

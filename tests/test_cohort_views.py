"""The cohort page's tables and charts as shown: missing values and the trend bands."""
import polars as pl

from junheng.figures import charts
from junheng.views import cohort_views


def test_a_measure_no_school_of_a_cohort_has_shows_a_dash_not_none():
    compared = pl.DataFrame({"measure": ["primary_class_size"], "a_mean": [41.6], "b_mean": [None],
                             "difference": [None], "ratio": [None], "a_median": [31.8], "b_median": [None],
                             "a_schools": [3], "b_schools": [0]},
                            schema_overrides={"b_mean": pl.Float64, "difference": pl.Float64, "ratio": pl.Float64,
                                              "b_median": pl.Float64})
    row = cohort_views.compare_table(compared, "A", "B", "zh").row(0)
    assert row[1:7] == ("41.6", "—", "—", "—", "31.8", "—")


def test_the_p10_p90_bands_are_see_through_so_the_lines_show():
    trend = pl.DataFrame({"year": [2024, 2025], "mean": [14.0, 15.0], "median": [13.0, 14.0], "p10": [9.0, 10.0],
                          "p90": [20.0, 21.0]})
    fig = charts.cohort_trend_chart({"a": trend, "b": trend}, {"a": "队列 A", "b": "队列 B"}, "生师比", "zh")
    bands = [tr for tr in fig.data if tr.fill == "tonexty"]
    assert len(bands) == 2
    for band in bands:
        assert band.fillcolor.startswith("rgba(") and float(band.fillcolor.rstrip(")").split(",")[-1]) < 0.5


def test_similar_counties_show_measures_as_the_summary_does():
    similar = pl.DataFrame({"county_code": ["370724", "370783"], "rank": [0, 1], "distance": [0.0, 0.3361],
                            "schools": [149, 183], "left_behind_share": [0.0264, None],
                            "students_per_teacher": [15.6287, 16.2366]})
    counties = pl.DataFrame({"county_code": ["370724", "370783"], "county_name": ["临朐县", "寿光市"],
                             "prefecture_name": ["潍坊市", "潍坊市"], "province_name": ["山东省", "山东省"]})
    table = cohort_views.similar_table(similar, counties, ["left_behind_share", "students_per_teacher"], "zh")
    assert table.row(0)[-2:] == ("2.6%", "15.6")
    assert table.row(1)[-2:] == ("—", "16.2")


def test_similar_counties_fall_back_to_the_pooled_range_when_the_chosen_year_has_no_cohort():
    import polars as pl

    from junheng.views.cohort_views import similar_counties, years_label

    pooled = pl.DataFrame({"county_code": ["341221", "341222", "341223"], "left_behind_share": [0.4, 0.38, 0.1]})
    last_year = pl.DataFrame({"county_code": ["341222", "341223"], "left_behind_share": [0.3, 0.1]})  # 临泉: none
    asked = []

    def values_of(years):
        asked.append(years)
        return last_year if years == (2025, 2025) else pooled

    nearest, values, used, fell_back = similar_counties(values_of, "341221", ["left_behind_share"], (2016, 2025),
                                                        2025, k=1)
    assert fell_back and used == (2016, 2025) and asked == [(2025, 2025), (2016, 2025)]
    assert nearest["county_code"].to_list() == ["341221", "341222"]  # 0.38 is nearer 0.40 than 0.10
    nearest, _, used, fell_back = similar_counties(values_of, "341222", ["left_behind_share"], (2016, 2025), 2025, 1)
    assert not fell_back and used == (2025, 2025) and nearest["county_code"].to_list() == ["341222", "341223"]
    assert similar_counties(values_of, "341221", ["left_behind_share"], (2016, 2025), None, 1)[2] == (2016, 2025)
    assert years_label((2016, 2025), "zh") == "2016–2025 年合并" and years_label((2025, 2025), "en") == "2025"


def test_the_similar_view_pools_the_range_by_default_and_says_so(monkeypatch, demo_data):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest
    root = Path(__file__).resolve().parent.parent
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    monkeypatch.chdir(root)
    at = AppTest.from_file(str(root / "pages" / "cohort.py"), default_timeout=180)
    at.query_params.update({"county": "370724", "from": "2020", "view": "similar"})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.selectbox(key="syear").value == ""
    assert any("2020–2025 年合并" in c.value for c in at.caption)
    at.selectbox(key="syear").set_value(2025).run()
    assert not at.exception and any(c.value.startswith("2025 年") for c in at.caption)

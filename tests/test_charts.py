"""Every chart has a title and axis labels in the chosen language, and plots the numbers it is given."""
import polars as pl
import pytest

from junheng.views import charts


def trend():
    return pl.DataFrame({"year": [2024, 2025] * 2, "level": ["primary"] * 4, "evaluation": ["basic"] * 4,
                         "indicator": ["books_per_student"] * 2 + ["composite"] * 2, "cv": [0.3, 0.2, 0.4, 0.35],
                         "threshold": [0.65] * 4})


def ratios():
    return pl.DataFrame({"year": [2024, 2025], "level": ["primary"] * 2, "indicator": ["books_per_student"] * 2,
                         "urban": [30.0, 31.0], "town": [25.0, 26.0], "rural": [20.0, 24.0], "ratio": [2 / 3, 24 / 31]})


BUILDERS = {
    "cv_trend": lambda lang: charts.cv_trend_chart(trend(), "basic", "primary", lang),
    "gap_trend": lambda lang: charts.gap_trend_chart(ratios(), "books_per_student", "primary", lang),
    "gap_scatter": lambda lang: charts.gap_scatter_chart(pl.DataFrame({
        "county_code": ["370724"], "county_name": ["临朐县"], "urban": [30.0], "rural": [20.0], "ratio": [2 / 3]}),
        "books_per_student", "primary", 2025, lang),
    "size_profile": lambda lang: charts.size_profile_chart(pl.DataFrame({
        "year": [2025], "urban_rural_group": ["town"], "share_56_65": [0.1], "share_66_plus": [0.01],
        "share_over_2000": [0.2], "share_under_100": [0.0]}), 2025, lang),
    "share_trend": lambda lang: charts.share_trend_chart(pl.DataFrame({"year": [2024, 2025], "s": [0.8, 0.9]}),
                                                         {"s": "x"}, "T", lang, [(0.85, "target")]),
    "count_share": lambda lang: charts.count_share_chart(pl.DataFrame({"year": [2024], "c": [10], "s": [0.1]}),
                                                         "c", "s", {"c": "count", "s": "share"}, "T", lang),
    "small_multiples": lambda lang: charts.small_multiples_chart(pl.DataFrame({
        "county_code": ["A", "A"], "year": [2024, 2025], "s": [0.5, 0.6]}), {"s": "x"}, {"A": "a"}, "T", lang),
}


@pytest.mark.parametrize("name", BUILDERS)
@pytest.mark.parametrize("lang, year_word", [("zh", "统计年度"), ("en", "Statistical year")])
def test_chart_has_title_and_axis_labels(name, lang, year_word):
    fig = BUILDERS[name](lang)
    assert fig.layout.title.text
    assert fig.layout.yaxis.title.text
    if name not in ("size_profile", "gap_scatter"):
        assert fig.layout.xaxis.title.text == year_word


def test_gap_scatter_plots_the_given_values_and_the_diagonal():
    fig = BUILDERS["gap_scatter"]("zh")
    assert list(fig.data[0].x) == [30.0] and list(fig.data[0].y) == [20.0]
    assert fig.data[1].x[0] == 0 and fig.data[1].x[1] == fig.data[1].y[1]  # the no-gap line


def test_small_multiples_draw_each_target_once_per_panel_on_its_own_axes():
    frame = pl.DataFrame({"county_code": ["A", "A", "B", "B", "C"], "year": [2024, 2025, 2024, 2025, 2025],
                          "s": [0.5, 0.6, 0.2, 0.3, 0.9]})
    fig = charts.small_multiples_chart(frame, {"s": "x"}, {"A": "a"}, "T", "zh", [(0.85, "t1"), (0.5, "t2")])
    # B is furthest behind (0.3), then A (0.6), then C (0.9): panels 1, 2, 3 on axes y, y2, y3
    assert [(tr.yaxis, list(tr.y)) for tr in fig.data] == [("y", [0.2, 0.3]), ("y2", [0.5, 0.6]), ("y3", [0.9])]
    lines = sorted((s.yref, s.y0, s.xref) for s in fig.layout.shapes)
    assert lines == sorted((f"y{n}", v, f"x{n} domain") for n in ("", "2", "3") for v in (0.85, 0.5))

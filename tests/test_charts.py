"""Every chart has a title and axis labels in the chosen language, and plots the numbers it is given."""
import polars as pl
import pytest

from junheng.figures import charts


def trend():
    return pl.DataFrame({"year": [2024, 2025] * 2, "level": ["primary"] * 4, "evaluation": ["basic"] * 4,
                         "indicator": ["books_per_student"] * 2 + ["composite"] * 2, "cv": [0.3, 0.2, 0.4, 0.35],
                         "threshold": [0.65] * 4})


def both_levels():
    """trend() for 小学 and 初中 (初中 with its own ceiling and one year fewer of one CV)."""
    junior = trend().with_columns(pl.lit("junior").alias("level"), pl.lit(0.55).alias("threshold"),
                                  (pl.col("cv") + 0.1).alias("cv"))
    return pl.concat([trend(), junior.filter(~((pl.col("indicator") == "composite") & (pl.col("year") == 2024)))])


def ratios():
    return pl.DataFrame({"year": [2024, 2025], "level": ["primary"] * 2, "indicator": ["books_per_student"] * 2,
                         "urban": [30.0, 31.0], "town": [25.0, 26.0], "rural": [20.0, 24.0], "ratio": [2 / 3, 24 / 31]})


BUILDERS = {
    "cv_trend": lambda lang: charts.cv_trend_chart(trend(), "basic", "primary", lang),
    "cv_trends": lambda lang: charts.cv_trends_chart(both_levels(), "basic", ["primary", "junior"], lang),
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
    fig = charts.small_multiples_grid(frame, {"s": "x"}, {"A": "a"}, "T", "zh", [(0.85, "t1"), (0.5, "t2")])
    # B is furthest behind (0.3), then A (0.6), then C (0.9): panels 1, 2, 3 on axes y, y2, y3
    assert [(tr.yaxis, list(tr.y)) for tr in fig.data] == [("y", [0.2, 0.3]), ("y2", [0.5, 0.6]), ("y3", [0.9])]
    lines = sorted((s.yref, s.y0, s.xref) for s in fig.layout.shapes)
    assert lines == sorted((f"y{n}", v, f"x{n} domain") for n in ("", "2", "3") for v in (0.85, 0.5))


def test_small_multiples_as_one_plot_place_each_county_in_its_panel():
    """Worked by hand: years 2024-2025 (span 1), values and targets up to 0.9, so the scale's top is 1.0; a panel
    is 1 wide and 1 high with its curves in the lower left 0.82 × 0.7; 3 panels: one row, columns 0, 1, 2."""
    frame = pl.DataFrame({"county_code": ["A", "A", "B", "B", "C"], "year": [2024, 2025, 2024, 2025, 2025],
                          "s": [0.5, 0.6, 0.2, 0.3, 0.9]})
    fig = charts.small_multiples_chart(frame, {"s": "x"}, {"A": "a"}, "T", "zh", [(0.85, "t1"), (0.5, "t2")])
    assert len(fig.data) == 2  # one trace for the column, one for every panel's targets
    line, targets = fig.data
    # B (0.3 last, furthest behind) first, then A, then C; each county's line broken from the next
    def r(values):
        return [None if v is None else round(v, 6) for v in values]
    assert r(line.x) == [0, 0.82, None, 1, 1.82, None, 2.82, None]
    assert r(line.y) == [0.14, 0.21, None, 0.35, 0.42, None, 0.63, None]
    assert [c for c in line.customdata if c[0] is not None] == [[2024, 0.2], [2025, 0.3], [2024, 0.5], [2025, 0.6],
                                                                [2025, 0.9]]
    assert list(line.text[:2]) == ["B", "B"] and line.text[3] == "a"  # A's name, B and C their codes
    # targets: 0.85 and 0.5 in each of the three panels, across the panel's width
    assert [y for y in r(targets.y) if y is not None] == [0.595, 0.595, 0.35, 0.35] * 3
    assert [x for x in r(targets.x) if x is not None] == [0, 0.82, 0, 0.82, 1, 1.82, 1, 1.82, 2, 2.82, 2, 2.82]
    assert list(fig.layout.yaxis.ticktext) == ["0%", "50%", "100%"]
    assert list(fig.layout.xaxis.ticktext) == ["2024", "2025"] * 3
    assert [a.text for a in fig.layout.annotations] == ["B", "a", "C"]


def _small_multiples_by_make_subplots(frame, columns, names, title, lang, targets=(), max_panels=36,
                                      higher_is_worse=False):
    """The small multiples as they were built with make_subplots (the reference for the dict-built figure)."""
    import math

    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from junheng import escape
    from junheng.i18n import t
    first = next(iter(columns))
    last = frame.sort("year").group_by("county_code").agg(pl.col(first).last())
    codes = last.sort(first, "county_code", descending=[higher_is_worse, False])["county_code"].to_list()[:max_panels]
    cols = min(6, max(1, len(codes)))
    rows = max(1, math.ceil(len(codes) / cols))
    fig = make_subplots(rows=rows, cols=cols, shared_xaxes=True, shared_yaxes=True,
                        subplot_titles=[escape.plotly(names.get(c, c)) for c in codes],
                        vertical_spacing=0.3 / rows + 0.02)
    palette = ("#3182bd", "#e6550d", "#31a354")
    by_county = {key[0]: part.sort("year") for key, part in frame.filter(pl.col("county_code").is_in(codes))
                 .group_by("county_code")}
    traces, rows_of, cols_of, shapes = [], [], [], []
    for n, code in enumerate(codes):
        r = by_county[code]
        county = escape.plotly(names.get(code, code))
        for (column, label), colour in zip(columns.items(), palette):
            traces.append(go.Scatter(x=r["year"].to_numpy(), y=r[column].to_numpy(), mode="lines",
                                     name=escape.plotly(label), line_color=colour, legendgroup=column,
                                     showlegend=n == 0, text=[county] * r.height,
                                     hovertemplate="%{text} %{x}: %{y:.1%}<extra></extra>"))
            rows_of.append(n // cols + 1)
            cols_of.append(n % cols + 1)
        axis = "" if n == 0 else str(n + 1)
        shapes += [dict(type="line", xref=f"x{axis} domain", yref=f"y{axis}", x0=0, x1=1, y0=value, y1=value,
                        line=dict(dash="dot", color="#d62728", width=1)) for value, _ in targets]
    if traces:
        fig.add_traces(traces, rows=rows_of, cols=cols_of)
    fig.update_layout(shapes=shapes)
    fig.update_yaxes(tickformat=".0%")
    fig.update_annotations(font_size=11)
    charts._layout(fig, title, "", "", height=150 * rows + 140, subtitle=" · ".join(label for _, label in targets))
    fig.update_xaxes(title_text=t("year", lang), row=rows, col=1)
    fig.update_yaxes(title_text=t("share", lang), row=1, col=1)
    fig.update_layout(margin=dict(l=50, r=20, t=90, b=40))
    return fig


@pytest.mark.parametrize("panels", [1, 2, 5, 6, 7, 12, 13, 31, 36, 40])
@pytest.mark.parametrize("lang", ["zh", "en"])
def test_small_multiples_are_the_figure_make_subplots_built(panels, lang):
    """The dict-built small multiples are, number for number, the figure make_subplots built before (domains,
    shared axes, titles, traces, target lines, template)."""
    import json

    import plotly.io as pio
    codes = [f"37{n:04d}" for n in range(panels)]
    frame = pl.DataFrame({"county_code": [c for c in codes for _ in range(3)],
                          "year": [2023, 2024, 2025] * panels,
                          "s": [None if n == 3 and y == 2024 else (n * 7 % 11) / 10 + y / 100
                                for n in range(panels) for y in range(3)],
                          "k": [(n * 5 % 13) / 20 for n in range(panels) for _ in range(3)]})
    names = {c: f"<b>县{n}</b>" if n % 4 else f"{{x}}%{n}" for n, c in enumerate(codes)} | {codes[0]: ""}
    for columns, targets, worse in (({"s": "a<i>"}, [(0.85, "t1"), (1.0, "t2")], False),
                                    ({"s": "a", "k": "b"}, [], True)):
        args = (frame, columns, names, "标题 <x>", lang, targets)
        new = charts.small_multiples_grid(*args, higher_is_worse=worse)
        old = _small_multiples_by_make_subplots(*args, higher_is_worse=worse)
        assert json.loads(pio.to_json(new)) == json.loads(pio.to_json(old))


def test_the_template_set_without_validation_gives_the_same_figure():
    import json

    import plotly.graph_objects as go

    from junheng.figures import charts

    def figure():
        fig = go.Figure()
        fig.add_scatter(x=[2024, 2025], y=[0.4, 0.5], name="城区")
        return fig
    fast = charts._layout(figure(), "标题", "年份", "差异系数")
    validated = charts._layout(figure(), "标题", "年份", "差异系数")
    validated.update_layout(template="plotly_white")
    assert json.loads(fast.to_json()) == json.loads(validated.to_json())
    assert fast.layout.template.layout.paper_bgcolor == "white"


def test_the_cv_trends_of_both_levels_are_one_plot_with_a_trace_per_cv():
    """Issue 25 point 4: one figure, one trace per CV across both levels (a gap between them), one for the ceilings;
    each point where its level's half of the axis puts it, with its value."""
    fig = charts.cv_trends_chart(both_levels(), "basic", ["primary", "junior"], "zh")
    assert len(fig.data) == 3  # books_per_student, composite, the ceilings (two figures of 2 traces each before)
    books, composite, ceilings = fig.data
    # 2024 and 2025 at 0 and 1; 初中 after a gap of at least one year: 2 and 3 (span 1 + gap 1)
    assert list(books.x) == [0, 1, None, 2, 3, None]
    assert list(books.y) == [0.3, 0.2, None, pytest.approx(0.4), pytest.approx(0.3), None]
    assert list(composite.x) == [0, 1, None, 3, None] and composite.y[3] == pytest.approx(0.45)
    assert [c[0] for c in composite.customdata if c[0]] == ["小学", "小学", "初中"]
    assert list(ceilings.y) == [0.65, 0.65, None, 0.55, 0.55, None]
    assert list(fig.layout.xaxis.ticktext) == ["2024", "2025", "2024", "2025"]
    assert [a.text for a in fig.layout.annotations] == ["<b>小学</b>", "<b>初中</b>"]
    assert "小学、初中" in fig.layout.title.text

"""Plotly chart builders: every chart has a title and axis labels in the chosen language."""
from __future__ import annotations

import functools
import json
import math

import plotly.graph_objects as go
import polars as pl

from junheng import escape
from junheng.i18n import t
from junheng.rules import indicators

GROUP_COLOURS = {"urban": "#3182bd", "town": "#fd8d3c", "rural": "#31a354"}
FONT = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"
# Counts on an axis as 100,000, not Plotly's default "100k" (an English abbreviation on a Chinese chart).
COUNT_TICKS = ",~r"


def _layout(fig: go.Figure, title: str, x: str, y: str, height: int = 380, subtitle: str = "") -> go.Figure:
    """Title, axis titles (plain text, escaped here for Plotly's pseudo-HTML), legend below the x-axis title."""
    title = escape.plotly(title) + (f"<br><sup>{escape.plotly(subtitle)}</sup>" if subtitle else "")
    fig.update_layout(title=title, xaxis_title=escape.plotly(x), yaxis_title=escape.plotly(y), height=height,
                      font_family=FONT,
                      margin=dict(l=60, r=20, t=60, b=50),
                      # At the figure's bottom edge: Plotly then shrinks the plot so the legend never covers the
                      # x-axis labels or title, however many rows it takes.
                      legend=dict(orientation="h", yref="container", yanchor="bottom", y=0.01, x=0))
    _with_template(fig, "plotly_white")
    fig.update_xaxes(automargin=True)
    return fig


def _with_template(fig: go.Figure, name: str) -> None:
    """Set a named template the way Plotly sets its default one: without validating it again. Validating it
    (`update_layout(template=name)`) deep-copies the whole template: about half of a chart's build time."""
    import plotly.io as pio
    layout = fig.layout
    validate = layout._validate
    layout._validate = False
    try:
        layout.template = pio.templates[name]
    finally:
        layout._validate = validate


def _labels(values) -> list[str]:
    """Names from the data as Plotly text (ticks, hover): escaped, control characters and overrides removed."""
    return [escape.plotly(v) for v in values]


def indicator_name(key: str, lang: str) -> str:
    return t("composite", lang) if key == "composite" else indicators.by_key(key).label(lang)


def cv_trend_chart(trend: pl.DataFrame, evaluation: str, level: str, lang: str) -> go.Figure:
    """Each CV of one evaluation and level over the years, with the level's ceiling dashed."""
    rows = trend.filter((pl.col("evaluation") == evaluation) & (pl.col("level") == level))
    fig = go.Figure()
    for key in rows["indicator"].unique(maintain_order=True):
        r = rows.filter(pl.col("indicator") == key)
        fig.add_scatter(x=r["year"], y=r["cv"], mode="lines+markers", name=indicator_name(key, lang),
                        line=dict(width=4 if key == "composite" else 1.5))
    if rows.height:
        fig.add_hline(y=rows["threshold"][0], line_dash="dash", line_color="#d62728",
                      annotation_text=t("threshold", lang), annotation_position="top left")
    title = t("cv_trend_title", lang, evaluation=t(f"eval_{evaluation}", lang), level=t(f"level_{level}", lang))
    return _layout(fig, title, t("year", lang), t("cv", lang), height=560)


def cv_trends_chart(trend: pl.DataFrame, evaluation: str, levels: list[str], lang: str) -> go.Figure:
    """Each CV of one evaluation over the years, the levels side by side in one plot with shared axes: one trace
    per CV across the levels (a gap between them) and one for the levels' ceilings (issue 25 point 4: the page drew
    one figure per level, 8-9 traces each). The x-axis ticks give each level's years; the level names head their
    halves."""
    rows = trend.filter((pl.col("evaluation") == evaluation) & pl.col("level").is_in(levels))
    years = sorted(rows["year"].unique().to_list()) or [0]
    low, span = years[0], max(1, years[-1] - years[0])
    offset = {level: n * (span + max(1.0, span * 0.3)) for n, level in enumerate(levels)}
    names = {level: t(f"level_{level}", lang) for level in levels}
    fig = go.Figure()
    for key in rows["indicator"].unique(maintain_order=True):
        xs, ys, when = [], [], []
        for level in levels:
            r = rows.filter((pl.col("indicator") == key) & (pl.col("level") == level)).sort("year")
            xs += [offset[level] + year - low for year in r["year"]] + [None]
            ys += r["cv"].to_list() + [None]
            when += [[names[level], year] for year in r["year"]] + [[None, None]]
        fig.add_scatter(x=xs, y=ys, customdata=when, mode="lines+markers", name=indicator_name(key, lang),
                        connectgaps=False, line=dict(width=4 if key == "composite" else 1.5),
                        hovertemplate="%{customdata[0]} %{customdata[1]}: %{y:.3f}")
    xs, ys = [], []
    for level in levels:
        ceiling = rows.filter(pl.col("level") == level)["threshold"]
        if ceiling.len():
            xs += [offset[level] - 0.3, offset[level] + span + 0.3, None]
            ys += [ceiling[0], ceiling[0], None]
    if xs:
        fig.add_scatter(x=xs, y=ys, mode="lines", name=t("threshold", lang), hoverinfo="skip", connectgaps=False,
                        line=dict(color="#d62728", dash="dash", width=1.5))
    step = 1 if len(years) <= 7 else 2
    ticks = [(offset[level] + year - low, str(year)) for level in levels for year in years[::step]]
    fig.update_xaxes(tickvals=[x for x, _ in ticks], ticktext=[text for _, text in ticks], showgrid=False,
                     zeroline=False)
    for level in levels:
        fig.add_annotation(x=offset[level] + span / 2, xref="x", y=1.0, yref="paper", yanchor="bottom",
                           text=f"<b>{escape.plotly(names[level])}</b>", showarrow=False)
    levels_text = t("verdict_and", lang).join(names[level] for level in levels)
    title = t("cv_trend_title", lang, evaluation=t(f"eval_{evaluation}", lang), level=levels_text)
    return _layout(fig, title, t("year", lang), t("cv", lang), height=560)


def contribution_chart(contributions: pl.DataFrame, key: str, lang: str, top: int = 15) -> go.Figure:
    """The schools that raise the CV most: CV with all schools minus CV without the school."""
    rows = contributions.head(top).reverse()
    colours = [GROUP_COLOURS.get(g, "#999") for g in rows["urban_rural_group"]]
    fig = go.Figure(go.Bar(
        x=rows["contribution"], y=_labels(rows["school_name"]), orientation="h", marker_color=colours,
        customdata=rows.select("value", "cv_without").to_numpy(),
        hovertemplate="%{y}<br>" + t("contribution", lang) + ": %{x:.4f}<br>"
        + t("value", lang) + ": %{customdata[0]:.2f}<br>" + t("cv_without", lang) + ": %{customdata[1]:.4f}"
        "<extra></extra>"))
    title = t("contribution_title", lang, indicator=indicator_name(key, lang))
    return _layout(fig, title, t("contribution", lang), "", height=max(320, 28 * rows.height + 120))


def gap_trend_chart(ratios: pl.DataFrame, key: str, level: str, lang: str) -> go.Figure:
    """城区/镇区/乡村 student-weighted values of one indicator over the years."""
    rows = ratios.filter((pl.col("indicator") == key) & (pl.col("level") == level)).sort("year")
    ind = indicators.by_key(key)
    fig = go.Figure()
    for group in indicators.GROUPS:
        fig.add_scatter(x=rows["year"], y=rows[group], mode="lines+markers", name=t(f"group_{group}", lang),
                        line_color=GROUP_COLOURS[group])
    title = t("gap_trend_title", lang, indicator=ind.label(lang), level=t(f"level_{level}", lang))
    return _layout(fig, title, t("year", lang), ind.unit(lang))


def gap_scatter_chart(counties: pl.DataFrame, key: str, level: str, year: int, lang: str,
                      selected: str | None = None) -> go.Figure:
    """Urban against rural value per county, with the no-gap diagonal; counties below it: rural lags."""
    ind = indicators.by_key(key)
    is_selected = [c == selected for c in counties["county_code"]]
    fig = go.Figure(go.Scatter(
        x=counties["urban"], y=counties["rural"], mode="markers", text=_labels(counties["county_name"]),
        marker=dict(size=[16 if s else 9 for s in is_selected], color=counties["ratio"], colorscale="RdYlGn",
                    cmin=0.5, cmax=1.5, colorbar=dict(title=t("ratio_short", lang)),
                    line=dict(width=[3 if s else 0.5 for s in is_selected], color="#222")),
        hovertemplate="%{text}<br>" + t("group_urban", lang) + ": %{x:.2f}<br>" + t("group_rural", lang)
        + ": %{y:.2f}<extra></extra>", name=""))
    if counties.height:
        top = max(counties["urban"].max(), counties["rural"].max()) * 1.05
        fig.add_scatter(x=[0, top], y=[0, top], mode="lines", line=dict(dash="dash", color="#888"),
                        name=t("no_gap_line", lang), hoverinfo="skip")
    title = t("gap_scatter_title", lang, indicator=ind.label(lang), level=t(f"level_{level}", lang), year=year)
    unit = ind.unit(lang)
    return _layout(fig, title, f"{t('group_urban', lang)}（{unit}）", f"{t('group_rural', lang)}（{unit}）",
                   height=460)


def size_profile_chart(profile: pl.DataFrame, year: int, lang: str) -> go.Figure:
    """Shares of large classes and of very large and very small schools, by 城乡 group."""
    rows = profile.filter(pl.col("year") == year)
    fig = go.Figure()
    for group in indicators.GROUPS:
        r = rows.filter(pl.col("urban_rural_group") == group)
        if r.is_empty():
            continue
        measures = ["share_56_65", "share_66_plus", "share_over_2000", "share_under_100"]
        fig.add_bar(x=[_wrap(t(m, lang)) for m in measures], y=[r[m][0] for m in measures],
                    name=t(f"group_{group}", lang), marker_color=GROUP_COLOURS[group], texttemplate="%{y:.1%}",
                    textposition="outside")
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(tickangle=0)  # long category names wrapped, not turned (turned ones left no room to plot)
    return _layout(fig, t("size_title", lang, year=year), "", t("share", lang), height=440)


def _wrap(text: str, width: int = 24) -> str:
    """Plotly text broken into lines of about width characters (at spaces; Chinese, which has none, at width)."""
    text = escape.plotly(text)
    width = width if " " in text else width * 2 // 3  # a Chinese character is about twice as wide
    words, lines = (text.split(" "), []) if " " in text else (
        [text[i:i + width // 2] for i in range(0, len(text), width // 2)], [])
    line = ""
    for word in words:
        joined = f"{line} {word}".strip() if " " in text else line + word
        if line and len(joined) > width:
            lines.append(line)
            line = word
        else:
            line = joined
    return "<br>".join(lines + [line])


def share_trend_chart(frame: pl.DataFrame, columns: dict[str, str], title: str, lang: str,
                      targets: list[tuple[float, str]] = (), by: str = "year") -> go.Figure:
    """Shares over the years (columns: column -> label), with dashed target lines."""
    fig = go.Figure()
    for column, label in columns.items():
        fig.add_scatter(x=frame[by], y=frame[column], mode="lines+markers", name=label)
    for value, label in targets:
        fig.add_hline(y=value, line_dash="dot", line_color="#d62728", annotation_text=label,
                      annotation_position="top left")
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    return _layout(fig, title, t("year", lang), t("share", lang))


# A panel of small_multiples_chart in the one plot's units: 1 wide and 1 high, the curves in the lower left
# PANEL_WIDTH × PANEL_HEIGHT of it (the rest: the gap to the next panel and the panel's title).
PANEL_WIDTH, PANEL_HEIGHT = 0.82, 0.7


def _panel_order(frame: pl.DataFrame, first: str, max_panels: int, higher_is_worse: bool) -> list[str]:
    last = frame.sort("year").group_by("county_code").agg(pl.col(first).last())
    return last.sort(first, "county_code", descending=[higher_is_worse, False])["county_code"].to_list()[:max_panels]


def small_multiples_chart(frame: pl.DataFrame, columns: dict[str, str], names: dict[str, str], title: str,
                          lang: str, targets: list[tuple[float, str]] = (), max_panels: int = 36,
                          higher_is_worse: bool = False) -> go.Figure:
    """One small panel per county: shares over the years (columns: column -> label), shared axes, targets dotted.

    Drawn as one plot with one trace per column and one for the targets (issue 25: the 36 panels of two of these
    as 36 subplots each, 72-144 traces, took the browser 14.6 s to draw after a year change): panel n sits at
    column n % 6, row n // 6, each county's line broken from the next (a gap); the axes' ticks give each
    panel's first and last year and the shared share scale; the panels' titles are the county names.
    At most max_panels counties, those furthest behind first (by the last value of the first column).
    """
    first = next(iter(columns))
    codes = _panel_order(frame, first, max_panels, higher_is_worse)
    cols = min(6, max(1, len(codes)))
    rows = max(1, math.ceil(len(codes) / cols))
    shown = frame.filter(pl.col("county_code").is_in(codes))
    years = shown["year"].drop_nulls()
    low, high = (int(years.min()), int(years.max())) if years.len() else (0, 1)
    span = max(1, high - low)
    values = [v for c in columns for v in shown[c].drop_nulls().to_list()] + [v for v, _ in targets]
    top = next((step for step in (0.05, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.8, 1.0) if step >= max(values, default=0)),
               max(values))  # the scale's top: a round share at or above every value and target
    by_county = {key[0]: part.sort("year") for key, part in shown.group_by("county_code")}
    palette = ("#3182bd", "#e6550d", "#31a354")

    def at(n: int) -> tuple[int, int]:  # the panel's lower left corner
        return n % cols, rows - 1 - n // cols
    traces = []
    for (column, label), colour in zip(columns.items(), palette):
        xs, ys, text, when = [], [], [], []
        for n, code in enumerate(codes):
            r, (x0, y0) = by_county[code], at(n)
            county = escape.plotly(names.get(code, code))
            for year, value in zip(r["year"].to_list(), r[column].to_list()):
                xs.append(x0 + (year - low) / span * PANEL_WIDTH)
                ys.append(None if value is None else y0 + value / top * PANEL_HEIGHT)
                text.append(county)
                when.append([year, value])
            xs.append(None)
            ys.append(None)
            text.append("")
            when.append([None, None])
        # The name goes in as data (text), never into the hover template, where %{…} would be read.
        traces.append({"hovertemplate": "%{text} %{customdata[0]}: %{customdata[1]:.1%}<extra></extra>",
                       "legendgroup": column, "line": {"color": colour}, "mode": "lines",
                       "name": escape.plotly(label), "text": text, "customdata": when, "x": xs, "y": ys,
                       "type": "scatter", "connectgaps": False})
    if targets and codes:
        xs, ys = [], []
        for n in range(len(codes)):
            x0, y0 = at(n)
            for value, _ in targets:
                xs += [x0, x0 + PANEL_WIDTH, None]
                ys += [y0 + value / top * PANEL_HEIGHT] * 2 + [None]
        traces.append({"hoverinfo": "skip", "line": {"color": "#d62728", "dash": "dot", "width": 1}, "mode": "lines",
                       "showlegend": False, "x": xs, "y": ys, "type": "scatter", "connectgaps": False})
    frames = [{"type": "rect", "layer": "below", "line": {"width": 0}, "fillcolor": "#f3f5f8", "xref": "x",
               "yref": "y", "x0": x0, "x1": x0 + PANEL_WIDTH, "y0": y0, "y1": y0 + PANEL_HEIGHT}
              for x0, y0 in map(at, range(len(codes)))]
    titles = [{"font": {"size": 11}, "showarrow": False, "text": escape.plotly(names.get(code, code)),
               "x": at(n)[0] + PANEL_WIDTH / 2, "xanchor": "center", "xref": "x", "y": at(n)[1] + PANEL_HEIGHT,
               "yanchor": "bottom", "yref": "y", "yshift": 2} for n, code in enumerate(codes) if names.get(code, code)]
    share = ".0%" if top >= 0.1 else ".1%"
    subtitle = " · ".join(label for _, label in targets)
    layout = {
        "xaxis": {"range": [-0.04, cols - 1 + PANEL_WIDTH + 0.04], "showgrid": False, "zeroline": False,
                  "tickvals": [c + x for c in range(cols) for x in (0, PANEL_WIDTH)],
                  "ticktext": [str(y) for _ in range(cols) for y in (low, high)], "title": {"text": t("year", lang)},
                  "automargin": True},
        "yaxis": {"range": [-0.04, rows], "showgrid": False, "zeroline": False,
                  "tickvals": [r + v for r in range(rows) for v in (0, PANEL_HEIGHT / 2, PANEL_HEIGHT)],
                  "ticktext": [format(v, share) for _ in range(rows) for v in (0, top / 2, top)],
                  "title": {"text": t("share", lang)}},
        "shapes": frames, "annotations": titles, "height": 150 * rows + 140, "font": {"family": FONT},
        "title": {"text": escape.plotly(title) + (f"<br><sup>{escape.plotly(subtitle)}</sup>" if subtitle else "")},
        "margin": {"l": 50, "r": 20, "t": 90, "b": 40}, "hovermode": "closest",
        "legend": {"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.01, "x": 0},
        "template": _template("plotly_white")}
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


def small_multiples_grid(frame: pl.DataFrame, columns: dict[str, str], names: dict[str, str], title: str,
                         lang: str, targets: list[tuple[float, str]] = (), max_panels: int = 36,
                         higher_is_worse: bool = False) -> go.Figure:
    """The small multiples as subplots, one per county (36 axes, a trace per county and column): what
    small_multiples_chart drew before, kept for the benchmark's before/after of the browser's drawing time.

    At most max_panels counties, those furthest behind first (by the last value of the first column).
    The figure is written as a dict, the layout as make_subplots lays it out (shared axes, a title over each
    panel): the same figure JSON, without validating 36 panels' axes through Plotly's objects (0.9 s a chart).
    """
    first = next(iter(columns))
    last = frame.sort("year").group_by("county_code").agg(pl.col(first).last())
    codes = last.sort(first, "county_code", descending=[higher_is_worse, False])["county_code"].to_list()[:max_panels]
    cols = min(6, max(1, len(codes)))
    rows = max(1, math.ceil(len(codes) / cols))
    layout = _subplot_grid(rows, cols, 0.3 / rows + 0.02, _labels([names.get(c, c) for c in codes]))
    palette = ("#3182bd", "#e6550d", "#31a354")
    by_county = {key[0]: part.sort("year") for key, part in frame.filter(pl.col("county_code").is_in(codes))
                 .group_by("county_code")}
    traces, shapes = [], []
    for n, code in enumerate(codes):
        r = by_county[code]
        county = escape.plotly(names.get(code, code))
        axis = "" if n == 0 else str(n + 1)
        for (column, label), colour in zip(columns.items(), palette):
            # The name goes in as data (text), never into the hover template, where %{…} would be read.
            traces.append({"hovertemplate": "%{text} %{x}: %{y:.1%}<extra></extra>", "legendgroup": column,
                           "line": {"color": colour}, "mode": "lines", "name": escape.plotly(label),
                           "showlegend": n == 0, "text": [county] * r.height, "x": r["year"].to_numpy(),
                           "y": r[column].to_numpy(), "type": "scatter", "xaxis": f"x{axis}", "yaxis": f"y{axis}"})
        shapes += [{"line": {"color": "#d62728", "dash": "dot", "width": 1}, "type": "line", "x0": 0, "x1": 1,
                    "xref": f"x{axis} domain", "y0": value, "y1": value, "yref": f"y{axis}"} for value, _ in targets]
    for name, axis in layout.items():
        if name.startswith("yaxis"):
            axis["tickformat"] = ".0%"
        elif name.startswith("xaxis"):
            axis["automargin"] = True
    subtitle = " · ".join(label for _, label in targets)
    layout["xaxis"]["title"] = {"text": ""}
    layout["yaxis"]["title"] = {"text": t("share", lang)}
    layout["xaxis" if rows == 1 else f"xaxis{(rows - 1) * cols + 1}"]["title"] = {"text": t("year", lang)}
    if shapes:
        layout["shapes"] = shapes
    layout.update(height=150 * rows + 140, font={"family": FONT},
                  title={"text": escape.plotly(title) + (f"<br><sup>{escape.plotly(subtitle)}</sup>" if subtitle
                                                         else "")},
                  margin={"l": 50, "r": 20, "t": 90, "b": 40},
                  legend={"orientation": "h", "yref": "container", "yanchor": "bottom", "y": 0.01, "x": 0},
                  template=_template("plotly_white"))
    return go.Figure({"data": traces, "layout": layout}, _validate=False)


@functools.lru_cache(maxsize=4)
def _template_json(name: str) -> str:
    import plotly.io as pio
    return pio.json.to_json_plotly(pio.templates[name].to_plotly_json())


def _template(name: str) -> dict:
    """A named Plotly template as the dict a validated figure carries (unvalidated figures do not expand names)."""
    return json.loads(_template_json(name))


def _subplot_grid(rows: int, cols: int, vertical_spacing: float, titles: list[str]) -> dict:
    """The layout make_subplots(rows, cols, shared_xaxes=True, shared_yaxes=True, subplot_titles=titles,
    vertical_spacing=…) gives, computed the way it computes it (same floating-point steps, so the same numbers):
    axes x, y, x2, y2, … by row from the top, each column's x axes matching the bottom one's and each row's y
    axes the first one's, tick labels only on the bottom row and the first column; one title per panel."""
    horizontal_spacing = 0.2 / cols
    widths = [(1.0 - horizontal_spacing * (cols - 1)) / cols] * cols
    heights = [(1.0 - vertical_spacing * (rows - 1)) / rows] * rows
    row_seq = range(rows)[::-1]  # the top row first: start_cell "top-left"
    grid = [[(sum(widths[:c]) + c * horizontal_spacing, sum(heights[:r]) + r * vertical_spacing)
             for c in range(cols)] for r in row_seq]
    layout: dict = {}
    annotations = []
    for r in range(rows):
        for c in range(cols):
            n = r * cols + c + 1
            suffix = "" if n == 1 else str(n)
            x_domain = [grid[r][c][0] + 0.0, grid[r][c][0] + widths[c] - 0.0]
            y_domain = [min(max(grid[r][c][1] + 0.0, 0.0), 1.0),
                        min(max(grid[r][c][1] + heights[-1 - r] - 0.0, 0.0), 1.0)]
            x = {"anchor": f"y{suffix}", "domain": x_domain}
            y = {"anchor": f"x{suffix}", "domain": y_domain}
            if r != rows - 1:  # columns share the bottom panel's x axis
                bottom = (rows - 1) * cols + c + 1
                x.update(matches=f"x{'' if bottom == 1 else bottom}", showticklabels=False)
            if c != 0:  # rows share the first panel's y axis
                left = r * cols + 1
                y.update(matches=f"y{'' if left == 1 else left}", showticklabels=False)
            layout[f"xaxis{suffix}"], layout[f"yaxis{suffix}"] = x, y
            if n <= len(titles) and titles[n - 1]:
                annotations.append({"font": {"size": 11}, "showarrow": False, "text": titles[n - 1],
                                    "x": sum(x_domain) / 2.0, "xanchor": "center", "xref": "paper",
                                    "y": y_domain[1], "yanchor": "bottom", "yref": "paper"})
    if annotations:
        layout["annotations"] = annotations
    return layout


def count_share_chart(frame: pl.DataFrame, count: str, share: str, labels: dict[str, str], title: str,
                      lang: str) -> go.Figure:
    """A count as bars and a share as a line on a second axis, over the years."""
    fig = go.Figure()
    fig.add_bar(x=frame["year"], y=frame[count], name=labels[count], marker_color="#fdae6b")
    fig.add_scatter(x=frame["year"], y=frame[share], name=labels[share], mode="lines+markers", yaxis="y2",
                    line_color="#d94801")
    fig.update_layout(yaxis2=dict(overlaying="y", side="right", tickformat=".1%", title=labels[share],
                                  rangemode="tozero"),
                      yaxis_tickformat=COUNT_TICKS)
    return _layout(fig, title, t("year", lang), labels[count])


def breakdown_chart(frame: pl.DataFrame, label_column: str, value_column: str, title: str, x_title: str,
                    top: int = 20) -> go.Figure:
    """Horizontal bars of a breakdown (already labelled), largest on top."""
    rows = frame.head(top).reverse()
    values = rows[value_column].cast(pl.Float64, strict=False)  # a suppressed "<5" draws no bar
    fig = go.Figure(go.Bar(x=values, y=_labels(rows[label_column].cast(pl.String)), orientation="h",
                           marker_color="#e6550d"))
    fig.update_layout(xaxis_tickformat=COUNT_TICKS)
    return _layout(fig, title, x_title, label_column, height=max(300, 26 * rows.height + 120))


COHORT_COLOURS = ("#3182bd", "#e6550d", "#31a354")


def cohort_histogram_chart(hist: pl.DataFrame, names: dict[str, str], measure: str, year: int, lang: str,
                           percent: bool = False) -> go.Figure:
    """The share of each cohort's schools per bin of a measure, cohorts overlaid on the same bins."""
    fig = go.Figure()
    for (key, label), colour in zip(names.items(), COHORT_COLOURS):
        rows = hist.filter(pl.col("cohort") == key)
        centres = ((rows["bin_start"] + rows["bin_end"]) / 2).to_list()
        fig.add_bar(x=centres, y=rows["share"], width=(rows["bin_end"] - rows["bin_start"]).to_list(),
                    name=escape.plotly(label), marker_color=colour, opacity=0.6 if len(names) > 1 else 0.9,
                    customdata=rows.select("count").to_numpy(),
                    hovertemplate="%{x:.3g}: %{y:.1%} (%{customdata[0]:,})<extra></extra>")
    fig.update_layout(barmode="overlay", bargap=0)
    fig.update_yaxes(tickformat=".0%")
    if percent:
        fig.update_xaxes(tickformat=".0%")
    return _layout(fig, t("cohort_hist_title", lang, measure=measure, year=year), measure,
                   t("cohort_share_of_schools", lang))


def _translucent(colour: str, alpha: float = 0.18) -> str:
    """A band's fill: the cohort's colour, see-through so the lines over it stay visible (trace opacity is not)."""
    r, g, b = (int(colour.lstrip("#")[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r},{g},{b},{alpha})"


def cohort_trend_chart(trends: dict[str, pl.DataFrame], names: dict[str, str], measure: str, lang: str,
                       percent: bool = False) -> go.Figure:
    """Each cohort's weighted mean (solid) and median (dotted) over the years, with its P10–P90 band."""
    fig = go.Figure()
    for (key, label), colour in zip(names.items(), COHORT_COLOURS):
        rows = trends.get(key)
        if rows is None or rows.is_empty():
            continue
        name = escape.plotly(label)
        fig.add_scatter(x=rows["year"], y=rows["p90"], mode="lines", line=dict(width=0), showlegend=False,
                        hoverinfo="skip", legendgroup=key)
        fig.add_scatter(x=rows["year"], y=rows["p10"], mode="lines", line=dict(width=0), fill="tonexty",
                        fillcolor=_translucent(colour), name=f"{name} {t('cohort_p10_p90', lang)}", legendgroup=key)
        fig.add_scatter(x=rows["year"], y=rows["mean"], mode="lines+markers", line_color=colour,
                        name=f"{name} · {escape.plotly(t('stat_mean', lang))}", legendgroup=key)
        fig.add_scatter(x=rows["year"], y=rows["median"], mode="lines", line=dict(color=colour, dash="dot"),
                        name=f"{name} · {escape.plotly(t('stat_median', lang))}", legendgroup=key)
    if percent:
        fig.update_yaxes(tickformat=".0%")
    return _layout(fig, t("cohort_trend_title", lang, measure=measure), t("year", lang), measure, height=420)

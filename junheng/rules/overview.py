"""County and region figures for the overview: shares, per-student values, year-on-year change."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from junheng.i18n import TEXT, t
from junheng.rules import indicators

SUM_COLUMNS = tuple(dict.fromkeys((
    "schools", "students", "classes", "classes_56_65", "classes_66_plus", "teachers",
    "left_behind_students", "migrant_students", "standardized_schools",
    *(i.numerator for i in indicators.registry()),
)))

# Metric key -> (kind, numerator, denominator, scale); kinds: count, share, ratio.
METRICS = {
    "schools": ("count", "schools", None, 1),
    "students": ("count", "students", None, 1),
    "teachers": ("count", "teachers", None, 1),
    "standardized_share": ("share", "standardized_schools", "schools", 1),
    "large_class_share": ("share", "large_classes", "classes", 1),
    "huge_class_share": ("share", "classes_66_plus", "classes", 1),
    "left_behind_students": ("count", "left_behind_students", None, 1),
    "left_behind_share": ("share", "left_behind_students", "students", 1),
    "migrant_share": ("share", "migrant_students", "students", 1),
}
HEADLINE = ("schools", "students", "teachers", "standardized_share", "large_class_share", "left_behind_students")
LOWER_IS_BETTER = {"large_class_share", "huge_class_share", "left_behind_students", "left_behind_share"}


def metric_keys() -> list[str]:
    """Every metric a county map can show: the overview metrics, then the indicator registry."""
    return list(METRICS) + [i.key for i in indicators.registry()]


def with_metrics(totals: pl.DataFrame) -> pl.DataFrame:
    """Add every metric to a frame of summed counts (any grain)."""
    frame = totals.with_columns((pl.col("classes_56_65") + pl.col("classes_66_plus")).alias("large_classes"))
    exprs = []
    for key, (kind, num, den, scale) in METRICS.items():
        if kind != "count":
            exprs.append(_ratio(num, den, scale).alias(key))
    for ind in indicators.registry():
        exprs.append(_ratio(ind.numerator, "students", ind.scale).alias(ind.key))
    return frame.with_columns(exprs)


def _ratio(num: str, den: str, scale: float) -> pl.Expr:
    return pl.when(pl.col(den) > 0).then(pl.col(num) / pl.col(den) * scale).otherwise(None)


def region_totals(county_totals: pl.DataFrame) -> pl.DataFrame:
    """Sum the counties of a region per year, then compute the metrics (never average ratios)."""
    return with_metrics(county_totals.group_by("year").agg(pl.col(c).sum() for c in SUM_COLUMNS).sort("year"))


@dataclass(frozen=True)
class Figure:
    key: str
    kind: str
    value: float | None
    previous: float | None

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def headline(county_totals: pl.DataFrame, year: int) -> list[Figure]:
    """The headline figures for year and their change from year - 1 (None where that year is absent)."""
    region = region_totals(county_totals)
    now = region.filter(pl.col("year") == year)
    before = region.filter(pl.col("year") == year - 1)
    out = []
    for key in HEADLINE:
        value = now[key].item() if now.height else None
        previous = before[key].item() if before.height else None
        out.append(Figure(key, METRICS[key][0], value, previous))
    return out


def format_value(kind: str, value: float | None, lang: str) -> str:
    """Card text: shares as %, large counts in 万 (zh) or thousands/millions (en)."""
    if value is None:
        return "—"
    if kind == "share":
        return f"{value:.1%}"
    if abs(value) >= 100_000:
        return f"{value / 10_000:,.1f} 万" if lang == "zh" else f"{value / 1_000_000:,.2f} M"
    return f"{value:,.0f}"


def delta_colour(figure: Figure) -> str:
    """Streamlit delta colour: red for a change in the wrong direction, grey when there is none."""
    if figure.change is None or abs(figure.change) < (0.0005 if figure.kind == "share" else 0.5):
        return "off"  # no visible change: no colour
    return "inverse" if figure.key in LOWER_IS_BETTER else "normal"


def format_change(figure: Figure, lang: str) -> str | None:
    """Change text for a metric card: counts as a signed number (and %), shares in percentage points."""
    change = figure.change
    if change is None:
        return None
    if figure.kind == "share":
        return f"{change * 100:+.1f} {'个百分点' if lang == 'zh' else 'pp'}"
    pct = f" ({change / figure.previous:+.1%})" if figure.previous else ""
    return f"{change:+,.0f}{pct}"


def metric_label(key: str, lang: str) -> str:
    if key in TEXT:
        return t(key, lang)
    ind = indicators.by_key(key)
    return f"{ind.label(lang)}（{ind.unit(lang)}）" if lang == "zh" else f"{ind.label(lang)} ({ind.unit(lang)})"


def metric_format(key: str) -> str:
    kind = METRICS[key][0] if key in METRICS else "ratio"
    return {"count": "{:,.0f}", "share": "{:.1%}"}.get(kind, "{:,.2f}")


def county_map_data(geometry, county_totals: pl.DataFrame, metric: str, lang: str):
    """Counties of the frame joined to their metric value and its display text, for a choropleth."""
    values = with_metrics(county_totals).select("county_code", pl.col(metric).cast(pl.Float64).alias("value"))
    shown = geometry[geometry["county_code"].isin(values["county_code"].to_list())]
    merged = shown.merge(values.to_pandas(), on="county_code", how="left")
    fmt = metric_format(metric)
    merged["value_text"] = [fmt.format(v) if v == v and v is not None else "—" for v in merged["value"]]
    return merged


def county_table(counties: pl.DataFrame, county_totals: pl.DataFrame, metric: str, lang: str) -> pl.DataFrame:
    """One row per county: names, schools, students and the chosen metric, with labels in lang."""
    frame = with_metrics(county_totals).join(counties, on="county_code", how="left")
    columns = {"county_name": t("county_name", lang), "prefecture_name": t("prefecture_name", lang),
               "schools": t("schools", lang), "students": t("students", lang)}
    columns.setdefault(metric, metric_label(metric, lang))
    return frame.sort(metric, descending=True, nulls_last=True).select(
        [pl.col(c).alias(label) for c, label in columns.items()])

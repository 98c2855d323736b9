"""County and region figures for the overview: shares, per-student values, year-on-year change.

Left-behind and migrant counts are shown as published (issue 23): the county totals come from the
`county_published_totals` query (a total the protection marks "<5" or withholds is null there, with its status),
and a region's total is made from the published county totals alone (`privacy.region_counts`), so no figure here,
nor its share, change or rank, tells a reader more about a hidden county total than its mark.
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from junheng import formats
from junheng.i18n import TEXT, t
from junheng.rules import indicators, privacy
from junheng.rules import region_totals as region_totals_rules

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
# A protected count -> the column of its published status (county_published_totals)
PROTECTED = {"left_behind_students": "left_behind_status", "migrant_students": "migrant_status"}
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


def protected_count(metric: str) -> str | None:
    """The protected count a metric is made of (left-behind or migrant children), or None."""
    spec = METRICS.get(metric)
    return spec[1] if spec is not None and spec[1] in PROTECTED else None


def region_totals(county_totals: pl.DataFrame, min_count: int = 0, decided: pl.DataFrame | None = None,
                  region: str = "") -> pl.DataFrame:
    """Sum the counties of a region per year, then compute the metrics (never average ratios). With the published
    statuses of the county totals (county_published_totals), each protected count is the region's published one
    (privacy.region_counts) and its status is kept in the status column; where `decided` (region_totals.decide)
    publishes the region's total exactly, that total (region: the prefix the rows are the counties of)."""
    counts = {c: s for c, s in PROTECTED.items() if s in county_totals.columns}
    plain = county_totals.group_by("year").agg(pl.col(c).sum() for c in SUM_COLUMNS if c not in counts)
    if counts:
        plain = plain.join(privacy.region_counts(county_totals, "year", counts, min_count), on="year", how="left")
        seen = dict(county_totals.group_by("year").len().iter_rows())
        plain = region_totals_rules.apply(plain, decided, region, seen, counts)
    return with_metrics(plain.sort("year"))


@dataclass(frozen=True)
class Figure:
    """status: privacy.SHOWN; PRIMARY ("<5") or COMPLEMENTARY ("*") for a hidden county total (value None);
    privacy.ESTIMATED for a region total with hidden counties in it (see privacy.region_counts)."""
    key: str
    kind: str
    value: float | None
    previous: float | None
    status: str = privacy.SHOWN
    previous_status: str = privacy.SHOWN

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return self.value - self.previous


def headline(county_totals: pl.DataFrame, year: int, min_count: int = 0, decided: pl.DataFrame | None = None,
             region: str = "") -> list[Figure]:
    """The headline figures for year and their change from year - 1 (None where that year is absent or a count
    hidden). decided, region: see region_totals."""
    region = region_totals(county_totals, min_count, decided, region)
    now = region.filter(pl.col("year") == year)
    before = region.filter(pl.col("year") == year - 1)
    out = []
    for key in HEADLINE:
        value = now[key].item() if now.height else None
        previous = before[key].item() if before.height else None
        status_column = PROTECTED.get(protected_count(key) or "")
        status = now[status_column].item() if now.height and status_column in now.columns else privacy.SHOWN
        previous_status = (before[status_column].item() if before.height and status_column in before.columns
                           else privacy.SHOWN)
        out.append(Figure(key, METRICS[key][0], value, previous, status, previous_status))
    return out


def format_value(kind: str, value: float | None, lang: str, status: str = privacy.SHOWN,
                 min_count: int = 5) -> str:
    """Card text: shares as %, large counts in 万 (zh) or thousands/millions (en); a hidden count as its mark
    ("<5", "*"), a region total with hidden counties in it with "≈"."""
    if status == privacy.PRIMARY and kind == "count":
        return privacy.suppressed_text(min_count)
    if status in (privacy.PRIMARY, privacy.COMPLEMENTARY):
        return privacy.HIDDEN_MARK
    if value is None:
        return "—"
    approx = "≈ " if status == privacy.ESTIMATED else ""
    if kind == "share":
        return f"{approx}{value:.1%}"
    if abs(value) >= 100_000:
        return approx + (f"{value / 10_000:,.1f} 万" if lang == "zh" else f"{value / 1_000_000:,.2f} M")
    return f"{approx}{value:,.0f}"


def has_marks(figures: list[Figure]) -> bool:
    """Whether a figure is a hidden count's mark or an estimate (the page then says what the marks mean)."""
    return any(f.status != privacy.SHOWN for f in figures)


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
    # "≈" after the number: Streamlit reads the arrow's direction from the text's leading sign
    approx = " ≈" if privacy.ESTIMATED in (figure.status, figure.previous_status) else ""
    if figure.kind == "share":
        return f"{formats.signed(change * 100, 1)} {'个百分点' if lang == 'zh' else 'pp'}{approx}"
    pct = f" ({formats.signed(change / figure.previous * 100, 1)}%)" if figure.previous else ""
    return f"{formats.signed(change)}{pct}{approx}"


def delta_arrow(figure: Figure) -> str:
    """Streamlit's delta arrow: none where the change shows as nothing (its text then has no sign either)."""
    return "off" if delta_colour(figure) == "off" else "auto"


def metric_label(key: str, lang: str) -> str:
    if key in TEXT:
        return t(key, lang)
    ind = indicators.by_key(key)
    return f"{ind.label(lang)}（{ind.unit(lang)}）" if lang == "zh" else f"{ind.label(lang)} ({ind.unit(lang)})"


def metric_format(key: str) -> str:
    kind = METRICS[key][0] if key in METRICS else "ratio"
    return {"count": "{:,.0f}", "share": "{:.1%}"}.get(kind, "{:,.2f}")


def _metric_status(frame: pl.DataFrame, metric: str) -> pl.Expr:
    """The published status of a metric per county (shown unless made of a hidden protected count)."""
    count = protected_count(metric)
    if count is None or PROTECTED[count] not in frame.columns:
        return pl.lit(privacy.SHOWN)
    return pl.col(PROTECTED[count]).fill_null(privacy.COMPLEMENTARY)


def _metric_text(metric: str, min_count: int) -> pl.Expr:
    """The metric as published text: the number, or the mark of a hidden count ("<5" for a count, "*")."""
    fmt = metric_format(metric)
    number = pl.col(metric).map_elements(lambda v: fmt.format(v), return_dtype=pl.String)
    kind = METRICS[metric][0] if metric in METRICS else "ratio"
    return (pl.when((pl.col("_status") == privacy.PRIMARY) & pl.lit(kind == "count"))
            .then(pl.lit(privacy.suppressed_text(min_count)))
            .when(pl.col("_status") != privacy.SHOWN).then(pl.lit(privacy.HIDDEN_MARK))
            .when(pl.col(metric).is_null() | pl.col(metric).is_nan()).then(pl.lit("—"))
            .otherwise(number))


def county_map_data(geometry, county_totals: pl.DataFrame, metric: str, lang: str, min_count: int = 5):
    """Counties of the frame joined to their metric value and its display text, for a choropleth. A hidden count
    (and its share) has no value, so no colour, and its mark as text."""
    frame = with_metrics(county_totals).with_columns(_metric_status(county_totals, metric).alias("_status"))
    values = frame.select("county_code", pl.when(pl.col("_status") == privacy.SHOWN).then(
        pl.col(metric).cast(pl.Float64)).alias("value"), _metric_text(metric, min_count).alias("value_text"))
    shown = geometry[geometry["county_code"].isin(values["county_code"].to_list())]
    merged = shown.merge(values.to_pandas(), on="county_code", how="left")
    merged["value_text"] = merged["value_text"].fillna("—")
    return merged


def county_table(counties: pl.DataFrame, county_totals: pl.DataFrame, metric: str, lang: str,
                 min_count: int = 5) -> pl.DataFrame:
    """One row per county: names, schools, students and the chosen metric, with labels in lang. A metric made of a
    protected count is published text ("<5", "*" where hidden) and its hidden rows come last, by name: a hidden
    count's place in the order tells nothing about its size."""
    frame = with_metrics(county_totals).join(counties, on="county_code", how="left")
    columns = {"county_name": t("county_name", lang), "prefecture_name": t("prefecture_name", lang),
               "schools": t("schools", lang), "students": t("students", lang)}
    columns.setdefault(metric, metric_label(metric, lang))
    if protected_count(metric) is None:
        return frame.sort(metric, descending=True, nulls_last=True).select(
            [pl.col(c).alias(label) for c, label in columns.items()])
    frame = frame.with_columns(_metric_status(county_totals, metric).alias("_status")).with_columns(
        (pl.col("_status") != privacy.SHOWN).alias("_hidden"), _metric_text(metric, min_count).alias("_text"))
    ordered = privacy.sort_hidden_last(frame, [metric], True, "county_name")
    return ordered.with_columns(pl.col("_text").alias(metric)).select(
        [pl.col(c).alias(label) for c, label in columns.items()])

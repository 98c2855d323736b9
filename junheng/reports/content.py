"""What a county deck (and a prefecture bulletin, 督导公报) says, once, for every format: sections of lines,
tables and pictures, plus the workbook's sheets. The PPTX, PDF and xlsx writers only lay it out.

Every number comes from the rules the pages use (evaluation, verdicts, rectification, plan, gaps, left-behind
with its privacy suppression, standardization), every read through db.run inside the caller's scope.
"""
from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from junheng import settings
from junheng.data import boundaries, db, store
from junheng.data import county_table as county_self_table
from junheng.data.scope import REGION, Scope
from junheng.figures import charts, maps
from junheng.figures import evaluation_tables as tables
from junheng.i18n import labels, t
from junheng.rules import evaluation, gaps, indicators, left_behind, overview, rectification, verdicts
from junheng.rules import plan as plans
from junheng.rules import standardization as std

SLIDE_ROWS = 12  # table rows per slide; longer tables continue on the next slide (and are cut in the deck,
DECK_ROWS = 36   # in full in the workbook)


class ReportError(Exception):
    """Bad input (unknown county, a year with no data, outside the scope): the message is in the user's language."""


@dataclass
class Table:
    title: str
    frame: pl.DataFrame
    note: str = ""


@dataclass
class Section:
    title: str
    lines: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    picture: bytes | None = None  # PNG
    caption: str = ""


@dataclass
class Report:
    lang: str
    title: str
    subtitle: str
    source: str
    sections: list[Section]
    sheets: dict[str, pl.DataFrame]
    stem: str  # the file name's stem (escaped when the file is named)
    closing: list[str] = field(default_factory=list)


def gather(data_dir: Path, scope: Scope, year: int, lang: str, county: str | None = None,
           region: str | None = None, pictures: bool = True) -> Report:
    """The report of one county-year (county) or the bulletin of a prefecture's counties (region).

    Raises ReportError with a message in lang for a bad region, an unknown county, one outside scope, or a
    year without data.
    """
    rules, con, code, inside, schools = _checked(data_dir, scope, year, lang, county, region)
    if pictures and county is not None:  # Chromium reads plotly.js while the county is evaluated
        from junheng.reports import pictures as drawing
        drawing.prepare_charts()
    ctx = _Context(Path(data_dir), con, scope, rules, year, lang, code, inside, schools, pictures)
    return _bulletin(ctx) if region is not None else _county(ctx)


def check(data_dir: Path, scope: Scope, year: int, lang: str, county: str | None = None,
          region: str | None = None) -> None:
    """Raise ReportError (message in lang) when gather would refuse these arguments."""
    _checked(data_dir, scope, year, lang, county, region)


def check_codes(county: str | None, region: str | None, lang: str) -> None:
    """ReportError unless county is a 6-digit code and region a 4-digit one (whichever is given)."""
    if county is not None and not (len(county) == 6 and REGION.fullmatch(county)):
        raise ReportError(t("report_err_county_code", lang, value=county[:20]))
    if region is not None and not (len(region) == 4 and REGION.fullmatch(region)):
        raise ReportError(t("report_err_region_code", lang, value=region[:20]))


def _checked(data_dir, scope, year, lang, county, region):
    rules = settings.load_thresholds()
    con = db.connect(Path(data_dir), rules)
    code = county or region or ""
    check_codes(county, region, lang)
    known = db.run(con, "counties_with_data", Scope(synthetic_only=scope.synthetic_only))
    inside = known.filter(pl.col("county_code").str.starts_with(code))
    if inside.is_empty():
        raise ReportError(t("report_err_unknown", lang, value=code))
    if not scope.allows(code) and not code.startswith(scope.region):
        raise ReportError(t("report_err_scope", lang, value=code))
    years = db.run(con, "snapshot_years", scope)["year"].to_list()
    if year not in years:
        raise ReportError(t("report_err_year", lang, year=year, years=", ".join(map(str, years)) or "—"))
    schools = db.run(con, "school_rows", scope, year=year, region=code)
    if schools.is_empty():
        raise ReportError(t("report_err_no_schools", lang, value=code, year=year))
    return rules, con, code, inside, schools


@dataclass
class _Context:
    data_dir: Path
    con: object
    scope: Scope
    rules: dict
    year: int
    lang: str
    code: str
    counties: pl.DataFrame  # counties_with_data rows inside code
    schools: pl.DataFrame
    pictures: bool

    def q(self, name: str, **params) -> pl.DataFrame:
        return db.run(self.con, name, self.scope, **params)

    def names(self) -> dict[str, str]:
        return dict(self.q("counties_with_data").select("county_code", "county_name").iter_rows())


def _source(ctx: _Context) -> str:
    try:
        synthetic = store.synthetic_counties(ctx.data_dir).get(ctx.year, set())
    except store.ManifestError:
        synthetic = None
    codes = set(ctx.counties["county_code"])
    if synthetic is None or codes <= synthetic:
        return t("report_source_synthetic", ctx.lang)
    if not codes & synthetic:
        return t("report_source_imported", ctx.lang)
    return t("report_source_mixed", ctx.lang, n=len(codes & synthetic), total=len(codes))


# --- formatting -------------------------------------------------------------------------------------------

def cv_text(value) -> str:
    return "—" if value is None or (isinstance(value, float) and math.isnan(value)) else f"{value:.3f}"


def number_text(value, digits: int = 2) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:,.{digits}f}"
    return f"{value:,.0f}"


def money_text(value: float, lang: str) -> str:
    return t("report_money", lang, value=f"{value / 10_000:,.1f}") if lang == "zh" else f"¥{value:,.0f}"


def _cv_frame(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    """A table with its CV column as text with three decimals (as the deck shows them)."""
    column = t("cv", lang)
    return frame.with_columns(pl.col(column).map_elements(cv_text, return_dtype=pl.String))


# --- a county ---------------------------------------------------------------------------------------------

def _county(ctx: _Context) -> Report:
    lang, year, rules, schools = ctx.lang, ctx.year, ctx.rules, ctx.schools
    row = ctx.counties.row(0, named=True)
    place = f"{row['province_name']} {row['prefecture_name']} {row['county_name']}"
    history = ctx.q("school_history", region=ctx.code)
    result = evaluation.evaluate_county(schools, rules)
    self_table = county_self_table.read(ctx.con, ctx.scope, year)
    verdict, parts = verdicts.evaluate(schools, rules, self_table.filter(pl.col("county_code") == ctx.code))
    levels = [lv for lv in indicators.LEVELS if lv in result]
    values = evaluation.level_values(schools, rules)
    # The plans (the solver, the longest computation) are solved on a second thread while this one waits for
    # the browser to draw the charts and maps: on two cores the two overlap.
    with ThreadPoolExecutor(max_workers=1) as pool:
        planned = pool.submit(_plans, schools, rules, year, self_table.filter(pl.col("county_code") == ctx.code),
                              lang)
        sections = [_headline(ctx), *_evaluation(ctx, result, verdict, parts, levels, history)]
        sections += _maps(ctx, row, self_table)
        sections += [_gaps(ctx, levels), _left_behind(ctx), _standardization(ctx)]
        best, yearly = planned.result()
    school_items, county_items = rectification.school_items(values, rules), rectification.county_items(values, rules)
    names = dict(zip(schools["school_id"], schools["school_name"]))
    sections += [_rectification(ctx, school_items, county_items), _plan(ctx, best), _schedule(ctx, yearly, names)]
    sheets = {
        t("sheet_rectification", lang): _rectification_sheet(school_items, lang),
        t("sheet_rect_schools", lang): _school_totals_sheet(rectification.school_totals(school_items), lang),
        t("sheet_county_items", lang): _county_items_frame(county_items, lang),
        t("sheet_plan", lang): _plan_frame(best, lang),
        t("sheet_plan_years", lang): tables.schedule_years_frame(yearly, names, lang),
        t("sheet_plan_schools", lang): tables.schedule_schools_frame(yearly, names, lang),
        t("sheet_basic", lang): pl.concat([tables.basic_table(result[lv], lang).with_columns(
            pl.lit(t(f"level_{lv}", lang)).alias(t("level", lang))) for lv in levels]),
        t("sheet_quality", lang): pl.concat([_quality_frame(result[lv], lang).with_columns(
            pl.lit(t(f"level_{lv}", lang)).alias(t("level", lang))) for lv in levels]),
        t("sheet_parts", lang): pl.concat([tables.parts_table(k, parts[k], rules, lang).with_columns(
            pl.lit(t(f"eval_{k}", lang)).alias(t("report_evaluation", lang))) for k in verdicts.EVALUATIONS]),
        t("sheet_schools", lang): pl.concat([tables.school_table(evaluation.school_verdicts(values, rules), lv, lang)
                                              .with_columns(pl.lit(t(f"level_{lv}", lang)).alias(t("level", lang)))
                                              for lv in levels]),
    }
    return Report(lang, t("report_title", lang, county=row["county_name"], year=year),
                  t("report_subtitle", lang, place=place, year=year), _source(ctx), sections, sheets,
                  f"{t('report_stem', lang)}_{ctx.code}_{year}", _closing(ctx))


def _plans(schools: pl.DataFrame, rules: dict, year: int, self_rows: pl.DataFrame,
           lang: str) -> tuple[plans.Plan, plans.Schedule]:
    """The minimum-cost plan and the 达标方案 over years from the page's defaults (so that the numbers agree)."""
    best = plans.minimum_cost_plan(schools, rules)
    target, budget = plans.defaults(rules, year)
    return best, plans.schedule(schools, rules, year, target, budget, self_rows, lang, best=best)


def _headline(ctx: _Context) -> Section:
    lang = ctx.lang
    # the county totals as the pages publish them (issue 23): a total the protection hides shows as its mark
    min_count = ctx.rules["privacy"]["min_count"]
    totals = ctx.q("county_published_totals", years=[ctx.year - 1, ctx.year], region=ctx.code, min_count=min_count)
    rows = [(overview.metric_label(f.key, lang), overview.format_value(f.kind, f.value, lang, f.status, min_count),
             overview.format_change(f, lang) or t("no_previous", lang))
            for f in overview.headline(totals, ctx.year, min_count)]
    frame = pl.DataFrame(rows, schema={t("report_figure", lang): pl.String, t("deck_value", lang): pl.String,
                                       t("vs_last_year", lang): pl.String}, orient="row")
    return Section(t("report_headline", lang, year=ctx.year), tables=[Table("", frame)])


def _evaluation(ctx, result, verdict, parts, levels, history) -> list[Section]:
    lang, rules = ctx.lang, ctx.rules
    out = []
    trend = evaluation.cv_trend(evaluation.level_values(history, rules), rules)
    for key in verdicts.EVALUATIONS:
        lines = [t("report_verdict", lang, evaluation=t(f"eval_{key}", lang),
                   verdict=t(f"verdict_{verdict[key]}", lang)),
                 tables.parts_summary(key, parts[key], lang)]
        section_tables = []
        for lv in levels:
            level = result[lv]
            if key == "basic":
                frame = _cv_frame(tables.basic_table(level, lang), lang)
                note = t("report_basic_note", lang, value=cv_text(level["basic"]["composite"]),
                         threshold=level["basic"]["threshold"], mark=tables.mark(level["basic"]["pass"], lang))
            else:
                frame = _quality_frame(level, lang)
                note = t("resource_line_quality", lang, **tables.quality_counts(level["quality"]),
                         mark=tables.mark(level["quality"]["pass"], lang)).replace("**", "")
            section_tables.append(Table(t(f"level_{lv}", lang), frame, note))
        out.append(Section(t("report_eval_title", lang, evaluation=t(f"eval_{key}", lang)), lines, section_tables))
        items = tables.parts_table(key, parts[key], rules, lang).drop(t("col_computed", lang),
                                                                      t("col_self_assessed", lang))
        decided = items.filter(pl.col(t("col_met", lang)) != t("part_incomplete", lang))
        open_items = items.height - decided.height
        out.append(Section(t("report_parts_title", lang, evaluation=t(f"eval_{key}", lang)),
                           [t("report_parts_open", lang, n=open_items)] if open_items else [],
                           [Table("", decided)]))
        if ctx.pictures:
            from junheng.reports import pictures
            lv = levels[0]
            out.append(Section(t("report_trend_title", lang, evaluation=t(f"eval_{key}", lang)),
                               picture=pictures.chart_png(_big(charts.cv_trend_chart(trend, key, lv, lang)),
                                                          900, 470, 2),
                               caption=t("report_trend_caption", lang, level=t(f"level_{lv}", lang))))
    return out


def _big(fig):
    """Type a room can read: a slide shows the picture about 12 inches wide."""
    return fig.update_layout(font_size=15, title_font_size=19, legend_font_size=14)


def _quality_frame(level: dict, lang: str) -> pl.DataFrame:
    frame = _cv_frame(tables.quality_table(level, lang), lang)
    return frame.insert_column(2, pl.Series(t("threshold", lang),
                                            [f"≤ {level['quality']['threshold']}"] * frame.height))


def _maps(ctx: _Context, row: dict, self_table: pl.DataFrame) -> list[Section]:
    if not ctx.pictures:
        return []
    from junheng.reports import pictures
    lang, rules = ctx.lang, ctx.rules
    prefecture = ctx.code[:4]
    status = verdicts.region_verdicts(ctx.q("school_rows", year=ctx.year, region=prefecture), rules, self_table)
    geometry = boundaries.read(ctx.data_dir, "county")
    county_title = t("report_county_map", lang, prefecture=row["prefecture_name"], year=ctx.year)
    county_map = _status_map(geometry, status, lang, ctx.code, county_title)
    schools = school_picture_rows(ctx.schools, rules, lang)
    min_count = rules["privacy"]["min_count"]
    outline = geometry[geometry["county_code"] == ctx.code]
    school_map = maps.school_picture_map(schools, outline, SCHOOL_COLOURS, school_picture_labels(
        schools, row["county_name"], ctx.year, min_count, lang))
    county_png, school_png = pictures.maps_png([county_map, school_map], 800, 430, scale=2)
    return [Section(county_title, picture=county_png, caption=t("report_county_map_caption", lang)),
            Section(t("deck_school_map_slide", lang, county=row["county_name"], n=len(schools)), picture=school_png,
                    caption=t("deck_school_map_caption", lang, n=min_count))]


SCHOOL_COLOURS = {"pass": "#1a9850", "fail": "#d73027", "unassessed": "#9e9e9e"}  # legend order


def school_picture_rows(schools: pl.DataFrame, rules: dict, lang: str) -> list[dict]:
    """One row per school with coordinates: lon, lat, size (left-behind children as published: 0 when a small
    count is suppressed or hidden) and status: 'pass' (every level it is assessed in), 'fail', 'unassessed'."""
    care = left_behind.school_care(schools, rules)
    sized = left_behind.school_map_rows(care, left_behind.protection(care, rules), rules, lang)
    judged = evaluation.school_verdicts(evaluation.level_values(schools, rules), rules).group_by(
        "lon", "lat").agg(pl.col("school_pass").all())
    passes = {(r["lon"], r["lat"]): r["school_pass"] for r in judged.iter_rows(named=True)}
    return [{"lon": r["lon"], "lat": r["lat"], "size": r["size"],
             "status": {True: "pass", False: "fail"}.get(passes.get((r["lon"], r["lat"])), "unassessed")}
            for r in sized]


def school_picture_labels(schools: list[dict], county: str, year: int, min_count: int, lang: str) -> dict:
    """The school picture's title, legend (each colour with its number of schools) and what a circle's size is."""
    counts = {s: sum(r["status"] == s for r in schools) for s in SCHOOL_COLOURS}
    labels = {s: t(f"deck_school_map_{s}", lang, n=n) for s, n in counts.items() if n}
    return {**labels, "picture_title": t("deck_school_map_title", lang, county=county, n=len(schools), year=year),
            "legend_title": t("deck_school_map_legend", lang),
            "size_note": t("deck_school_map_size", lang, n=min_count)}


def _status_map(geometry, status: pl.DataFrame, lang: str, selected: str | None, title: str):
    return maps.county_category_map(
        tables.status_map_data(geometry, status, lang), "status", "status_text", tables.STATUS_COLOURS,
        tables.status_labels(lang), {"name": t("county_name", lang), "metric": t("status", lang),
                                     "no_data": t("legend_no_data", lang), "picture_title": title},
        tile_url="", selected=selected)


def _gaps(ctx: _Context, levels: list[str]) -> Section:
    lang = ctx.lang
    trend = ctx.q("region_level_group_totals", years=[ctx.year - 1, ctx.year], region=ctx.code)
    ratios = gaps.rural_urban_ratio(gaps.group_values(trend))
    lines, parts = [], []
    for lv in levels:
        lines += gaps.summary(ratios, ctx.year, lv, lang)[:2]
        frame = gaps.ratio_table(ratios, ctx.year, lv, lang)
        if frame.height:
            parts.append(Table(t(f"level_{lv}", lang), frame))
    return Section(t("report_gaps", lang, year=ctx.year), lines, parts)


def _left_behind(ctx: _Context) -> Section:
    lang, rules = ctx.lang, ctx.rules
    care = left_behind.school_care(ctx.schools, rules)
    shield = left_behind.protection(care, rules)
    frame = left_behind.breakdown_table(left_behind.published_breakdown(care, "urban_rural_group", shield, rules),
                                        "urban_rural_group", rules, lang)
    return Section(t("report_left_behind", lang, year=ctx.year), [t("privacy_marks", lang,
                   n=rules["privacy"]["min_count"])], [Table(t("by_urban_rural_group", lang), frame)])


def _standardization(ctx: _Context) -> Section:
    lang, rules = ctx.lang, ctx.rules
    totals = ctx.q("county_totals", years=[y for y in range(ctx.year - 12, ctx.year + 1)], region=ctx.code)
    caps = ctx.q("class_size_caps", years=sorted(totals["year"].unique().to_list()), region=ctx.code,
                 primary_max=rules["targets"]["primary_class_max"], junior_max=rules["targets"]["junior_class_max"])
    progress = std.progress(totals, caps)
    profile = next(iter(std.class_profiles(rules)))
    names = ctx.names()
    checks = target_table(std.milestone_checks(progress, rules, profile), rules, lang)
    road = std.roadmap_table(_typed(std.roadmap(progress, ctx.year, rules, profile)), names, lang)
    huge = std.huge_class_schools(ctx.q("huge_class_schools", year=ctx.year, region=ctx.code), names, lang)
    found = [Table(t("roadmap_title", lang), _transpose(road, lang))]
    if checks.height:
        found.append(Table(t("milestones_title", lang), checks))
    found.append(Table(t("huge_class_schools_title", lang), huge.drop(t("county_name", lang)),
                       "" if huge.height else t("none_left", lang)))
    return Section(t("report_standardization", lang, year=ctx.year), tables=found)


def target_text(check: dict, lang: str) -> str:
    """A milestone's target as a value, e.g. '≥ 85%', '≤ 2%', '0', or 'no rise'."""
    def pct(v: float) -> str:
        return f"{v * 100:.1f}".rstrip("0").rstrip(".") + "%"
    if check["rule"] == "zero":
        return "0"
    if check["rule"] == "no_increase":
        return t("deck_target_no_increase", lang)
    return f"{'≤' if check['rule'] == 'share_max' else '≥'} {pct(check['target'])}"


def target_verdicts(checks: pl.DataFrame, rules: dict, lang: str) -> list[str]:
    """Per milestone check (a county's): '✗ 82.4%（目标 ≥ 100%）', the mark with the value reached and the target."""
    reached = std.milestone_table(checks, checks, rules, lang)[t("reached", lang)].to_list() if checks.height else []
    return [t("deck_target_value", lang, mark="✓" if c["met"] else "✗", value=value, target=target_text(c, lang))
            for c, value in zip(checks.iter_rows(named=True), reached)]


def target_table(checks: pl.DataFrame, rules: dict, lang: str) -> pl.DataFrame:
    """One county's milestones: year, target, and the verdict with the value beside the mark."""
    if checks.is_empty():
        return pl.DataFrame()
    labelled = std.milestone_table(checks, checks, rules, lang)
    return labelled.select(t("year", lang), t("milestone", lang)).with_columns(
        pl.Series(t("verdict", lang), target_verdicts(checks, rules, lang), dtype=pl.String))


def milestone_grid(checks: pl.DataFrame, names: dict[str, str], rules: dict, lang: str) -> pl.DataFrame:
    """The bulletin's counties × milestones, each cell the mark with the value reached (targets in the headers)."""
    table = std.county_milestone_table(checks, names, rules, lang)
    if table.is_empty():
        return table
    cells = {}
    for code in checks["county_code"].unique():
        own = checks.filter(pl.col("county_code") == code)
        reached = std.milestone_table(own, own, rules, lang)[t("reached", lang)].to_list()
        for c, value in zip(own.iter_rows(named=True), reached):
            cells[(code, c["milestone"])] = f"{'✓' if c['met'] else '✗'} {value}"
    missed = checks.group_by("county_code").agg((~pl.col("met")).sum().alias("missed"))
    codes = missed.sort("missed", "county_code", descending=[True, False])["county_code"].to_list()
    order = list(dict.fromkeys(checks["milestone"]))
    heads = table.columns[2:]
    return table.with_columns(pl.Series(head, [cells.get((code, m), "—") for code in codes], dtype=pl.String)
                              for head, m in zip(heads, order))


def _typed(frame: pl.DataFrame) -> pl.DataFrame:
    """All-null columns (no pace with too few years) as numbers, so that rounding them works."""
    return frame.with_columns(pl.col(c).cast(pl.Float64) for c, d in frame.schema.items() if d == pl.Null)


def _transpose(frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    """A one-county wide table as rows of (item, value), which a slide can show."""
    row = frame.row(0, named=True) if frame.height else {}
    return pl.DataFrame([(k, number_text(v) if not isinstance(v, str) else v) for k, v in row.items()],
                        schema={t("report_item", lang): pl.String, t("deck_value", lang): pl.String}, orient="row")


def _rectification(ctx: _Context, school_items: pl.DataFrame, county_items: pl.DataFrame) -> Section:
    lang = ctx.lang
    shown = _rectification_frame(school_items, lang)
    lines = [t("report_rect_summary", lang, rows=school_items.height,
               schools=school_items["school_id"].n_unique() if school_items.height else 0,
               cost=money_text(rectification.total_cost(school_items), lang)),
             t("report_rect_legend", lang)]
    found = []
    if county_items.height:
        found.append(Table(t("report_county_items", lang), _county_items_frame(county_items, lang)))
    totals = _school_totals_frame(rectification.school_totals(school_items), lang)
    if totals.height:
        found.append(Table(t("report_rect_schools", lang), totals.head(DECK_ROWS),
                           t("report_rows_cut", lang, n=DECK_ROWS, total=totals.height)
                           if totals.height > DECK_ROWS else ""))
    found.append(Table(t("report_school_items", lang), shown,
                       t("report_rows_cut", lang, n=min(DECK_ROWS, shown.height), total=shown.height)
                       if shown.height > DECK_ROWS else ("" if shown.height else t("report_nothing_to_fix", lang))))
    return Section(t("report_rectification", lang, year=ctx.year), lines, found)


def _indicator(key: str, lang: str) -> str:
    return indicators.by_key(key).label(lang)


def _unit(column: str, lang: str) -> str:
    return t(f"report_unit_{column}", lang)


def _rectification_frame(items: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The 整改清单 as the deck shows it (sorted by priority, shortfall in the resource's unit, cost)."""
    rows = [(str(r["priority"]), t(f"level_{r['level']}", lang), r["school_name"], _indicator(r["indicator"], lang),
             f"{r['value']:.2f} / {r['minimum']:.2f}", f"{number_text(r['shortfall'])} {_unit(r['column'], lang)}",
             money_text(r["cost"], lang)) for r in items.iter_rows(named=True)]
    heads = ("report_priority", "level", "school_name", "indicator", "report_value_minimum", "report_shortfall",
             "report_cost")
    return pl.DataFrame(rows, schema={t(h, lang): pl.String for h in heads}, orient="row")


def _rectification_sheet(items: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The full 整改清单 for the workbook: numbers as numbers."""
    return items.select(
        pl.col("priority").alias(t("report_priority", lang)),
        pl.col("level").replace_strict(labels("level", indicators.LEVELS, lang)).alias(t("level", lang)),
        pl.col("school_id").alias(t("school_id", lang)),
        pl.col("school_name").alias(t("school_name", lang)),
        pl.col("indicator").replace_strict({i.key: i.label(lang) for i in indicators.registry()},
                                           return_dtype=pl.String).alias(t("indicator", lang)),
        pl.col("value").alias(t("deck_value", lang)),
        pl.col("minimum").alias(t("report_minimum", lang)),
        pl.col("shortfall").alias(t("report_shortfall", lang)),
        pl.col("column").replace_strict({c: _unit(c, lang) for c in rectification.resource_columns()},
                                        return_dtype=pl.String).alias(t("unit", lang)),
        pl.col("unit_cost").alias(t("report_unit_cost", lang)),
        pl.col("cost").alias(t("report_cost_yuan", lang)),
    )


def _school_totals_frame(totals: pl.DataFrame, lang: str) -> pl.DataFrame:
    """Per school, the 整改清单's additions (one per resource, serving every level) and the school's total."""
    per = totals.group_by("school_id", maintain_order=True).agg(
        pl.first("school_name"), pl.first("school_cost"),
        pl.struct("column", "addition").alias("adds"))
    rows = [(r["school_name"], ("、" if lang == "zh" else ", ").join(
        f"{t('col_' + a['column'], lang)} +{number_text(a['addition'])} {_unit(a['column'], lang)}"
        for a in r["adds"]),
        money_text(r["school_cost"], lang)) for r in per.iter_rows(named=True)]
    heads = ("school_name", "report_additions", "report_school_total")
    return pl.DataFrame(rows, schema={t(h, lang): pl.String for h in heads}, orient="row")


def _school_totals_sheet(totals: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The per-school totals for the workbook: numbers as numbers."""
    return totals.select(
        pl.col("school_id").alias(t("school_id", lang)),
        pl.col("school_name").alias(t("school_name", lang)),
        pl.col("column").replace_strict({c: t(f"col_{c}", lang) for c in rectification.resource_columns()},
                                        return_dtype=pl.String).alias(t("what_if_resource", lang)),
        pl.col("addition").alias(t("report_shortfall", lang)),
        pl.col("column").replace_strict({c: _unit(c, lang) for c in rectification.resource_columns()},
                                        return_dtype=pl.String).alias(t("unit", lang)),
        pl.col("cost").alias(t("report_cost_yuan", lang)),
        pl.col("school_cost").alias(t("report_school_total", lang)),
    )


def _county_items_frame(items: pl.DataFrame, lang: str) -> pl.DataFrame:
    rows = [(t(f"level_{r['level']}", lang), _indicator(r["indicator"], lang), cv_text(r["cv"]), f"≤ {r['ceiling']}",
             ("、" if lang == "zh" else ", ").join(r["movers"][:2])) for r in items.iter_rows(named=True)]
    heads = ("level", "indicator", "cv", "threshold", "report_movers")
    return pl.DataFrame(rows, schema={t(h, lang): pl.String for h in heads}, orient="row")


def _plan(ctx: _Context, best: plans.Plan) -> Section:
    lang = ctx.lang
    lines = [t(f"report_plan_{best.status}", lang, cost=money_text(best.cost, lang),
               bound=money_text(best.lower_bound, lang)), t("report_plan_method", lang)]
    found = []
    if best.changes.height:
        before, after = tables.evaluate_with_changes(ctx.schools, best.changes.select("school_id", "column", "delta"),
                                                     ctx.rules)
        compared = tables.compare_table(before, after, lang)
        found.append(Table(t("report_plan_changes", lang), _plan_frame(best, lang)))
        found.append(Table(t("report_plan_before_after", lang), compared.with_columns(
            pl.col(c).map_elements(_cv_or_count, return_dtype=pl.String) for c, d in compared.schema.items()
            if d.is_float())))
    return Section(t("report_plan", lang), lines, found)


def _schedule(ctx: _Context, yearly: plans.Schedule, names: dict) -> Section:
    """The 达标方案 over years: reachable or not within the budget, the cost per year and per school, what money
    does not settle (the workbook's sheets 分年度方案 and 学校汇总 hold every action)."""
    lang = ctx.lang
    lines = [tables.schedule_line(yearly, lang), tables.schedule_resolves(yearly, lang)]
    money = {t(h, lang) for h in ("plan_col_year_cost", "plan_kind_action", "plan_kind_salary", "plan_col_school_cost")}

    def shown(frame: pl.DataFrame) -> pl.DataFrame:
        return frame.with_columns(pl.col(c).map_elements(lambda v: money_text(v, lang), return_dtype=pl.String)
                                  for c in frame.columns if c in money)
    found = []
    if yearly.years:
        found.append(Table(t("plan_years_title", lang), shown(tables.schedule_summary_frame(yearly, lang))))
    schools = tables.schedule_schools_frame(yearly, names, lang)
    if schools.height:
        found.append(Table(t("plan_schools_title", lang), shown(schools.drop(t("school_id", lang)).head(SLIDE_ROWS)),
                           t("report_rows_cut", lang, n=SLIDE_ROWS, total=schools.height)
                           if schools.height > SLIDE_ROWS else ""))
    remains = tables.schedule_remains_frame(yearly, lang)
    if remains.height:
        found.append(Table(t("plan_remains_title", lang), remains.head(DECK_ROWS),
                           t("report_rows_cut", lang, n=DECK_ROWS, total=remains.height)
                           if remains.height > DECK_ROWS else ""))
    return Section(t("plan_years_title", lang), lines, found)


def _cv_or_count(value) -> str:
    """The before/after table holds CVs (below 2) and counts of schools (whole numbers)."""
    return f"{value:.0f}" if value is not None and value >= 2 and float(value).is_integer() else cv_text(value)


def _plan_frame(best: plans.Plan, lang: str) -> pl.DataFrame:
    rows = [(r["school_name"], t(f"col_{r['column']}", lang), number_text(r["delta"]), money_text(r["cost"], lang))
            for r in best.changes.sort("cost", descending=True).iter_rows(named=True)]
    heads = ("school_name", "what_if_resource", "what_if_delta", "report_cost")
    return pl.DataFrame(rows, schema={t(h, lang): pl.String for h in heads}, orient="row")


def _closing(ctx: _Context) -> list[str]:
    lang, rules = ctx.lang, ctx.rules
    return [t("report_method_rules", lang),
            t("school_rule", lang, min_met=rules["quality"]["school_min_met"],
              share=rules["quality"]["school_rest_share"],
              tp=rules["rules"]["teaching_point_min_students"]).replace("**", ""),
            tables.counting_rules(rules, lang).replace("**", ""),
            t("report_method_costs", lang),
            t("report_method_privacy", lang, n=rules["privacy"]["min_count"]),
            t("report_generated", lang)]


# --- a prefecture's bulletin (督导公报) ----------------------------------------------------------------------

def _bulletin(ctx: _Context) -> Report:
    lang, rules, year = ctx.lang, ctx.rules, ctx.year
    row = ctx.counties.row(0, named=True)
    self_table = county_self_table.read(ctx.con, ctx.scope, year)
    status = verdicts.region_verdicts(ctx.schools, rules, self_table)
    ranking = tables.region_table(status, ctx.counties, lang)
    names = dict(ctx.counties.select("county_code", "county_name").iter_rows())
    totals = ctx.q("county_totals", years=list(range(year - 12, year + 1)), region=ctx.code)
    caps = ctx.q("class_size_caps", years=sorted(totals["year"].unique().to_list()), region=ctx.code,
                 primary_max=rules["targets"]["primary_class_max"], junior_max=rules["targets"]["junior_class_max"])
    progress = std.progress(totals, caps)
    profile = next(iter(std.class_profiles(rules)))
    road = std.roadmap_table(_typed(std.roadmap(progress, year, rules, profile)), names, lang)
    checks = milestone_grid(std.milestone_checks(progress, rules, profile), names, rules, lang)
    counts = status["status"].value_counts().sort("status")
    lines = [t("report_bulletin_counts", lang, total=status.height,
               both=int((status["status"] == "both").sum()), basic=int((status["status"] == "basic").sum()),
               incomplete=int((status["status"] == "incomplete").sum()),
               neither=int((status["status"] == "neither").sum()))] if counts.height else []
    rank_columns = [t(c, lang) for c in ("rank", "county_name", "status", "composite_primary", "composite_junior",
                                         "schools_passing", "col_basic_verdict", "col_quality_verdict")]
    sections = [Section(t("report_bulletin_ranking", lang, year=year), lines,
                        [Table("", _texts(ranking.select(rank_columns), (t("composite_primary", lang),
                                                                         t("composite_junior", lang))))])]
    if ctx.pictures:
        from junheng.reports import pictures
        geometry = boundaries.read(ctx.data_dir, "county")
        title = t("report_county_map", lang, prefecture=row["prefecture_name"], year=year)
        sections.append(Section(title, picture=pictures.map_png(_status_map(geometry, status, lang, None, title),
                                                                800, 430, scale=2),
                                caption=t("report_county_map_caption", lang)))
    std_columns = [t(c, lang) for c in ("county_name", "public_standardized_pct", "standardization_year",
                                        "share_56_plus_pct", "classes_66_plus", "large_class_year")]
    sections.append(Section(t("report_bulletin_standardization", lang, year=year),
                            [t("report_bulletin_std_note", lang)], [Table("", _texts(road.select(std_columns)))]))
    if checks.height:
        sections.append(Section(t("milestones_title", lang), [std.profile_label(rules, profile, lang)],
                                [Table("", _texts(checks))]))
    sheets = {t("sheet_ranking", lang): ranking, t("sheet_roadmap", lang): road}
    if checks.height:
        sheets[t("sheet_milestones", lang)] = checks
    place = f"{row['province_name']} {row['prefecture_name']}"
    return Report(lang, t("report_bulletin_title", lang, prefecture=row["prefecture_name"], year=year),
                  t("report_subtitle", lang, place=place, year=year), _source(ctx), sections, sheets,
                  f"{t('report_bulletin_stem', lang)}_{ctx.code}_{year}", _closing(ctx))


def _texts(frame: pl.DataFrame, cv_columns: tuple[str, ...] = ()) -> pl.DataFrame:
    """Every column as display text: CVs with three decimals, other numbers with at most one."""
    def text(column: str):
        return cv_text if column in cv_columns else lambda v: number_text(v, 1)
    return frame.with_columns(
        pl.col(c).map_elements(text(c), return_dtype=pl.String, skip_nulls=False) if d != pl.String
        else pl.col(c).fill_null("—") for c, d in frame.schema.items())

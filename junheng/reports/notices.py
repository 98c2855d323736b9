"""整改通知单: one A4 page per school on a county's 整改清单, for the bureau to send to each principal.

Each notice names the school (name and id), each of its unmet 优质均衡 minimums with the minimum and the current
value, what must be added in the resource's own unit and its estimated cost (the same rows the page's 整改清单
shows: rules/rectification.py), the school's total, the year the 达标方案 schedules the addition (rules/plan.py
`schedule` at the thresholds file's [plan] target year and budget, as the page starts from: the same stored results,
data/precompute.py) and the county's contact line ([notices] in the thresholds file). HTML with every text
escaped, printed by headless Chromium as the report PDF is (Chinese stays real text), every school in one browser;
a zip of `<school_id>.pdf`.
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from junheng import escape, formats, settings
from junheng.data import db, precompute, store
from junheng.data.scope import Scope
from junheng.i18n import t
from junheng.reports import content, pictures
from junheng.rules import indicators, rectification
from junheng.rules import plan as plans

MM = 96 / 25.4  # CSS pixels per millimetre
PAGE_MM = (210, 297)
MARGIN_MM = 16
STYLE = f"""
@page {{ size: A4 portrait; margin: {MARGIN_MM}mm; }}
body {{ font-family: "Noto Sans CJK SC", "Noto Sans CJK", sans-serif; color: #1f2937; font-size: 11pt; margin: 0; }}
h1 {{ color: #08519c; font-size: 22pt; text-align: center; letter-spacing: .3em; margin: 0 0 2mm; }}
.subtitle {{ text-align: center; color: #374151; font-size: 11.5pt; margin: 0 0 6mm; }}
.school {{ font-size: 14pt; font-weight: 700; margin: 0 0 3mm; }}
p {{ margin: 1.8mm 0; line-height: 1.55; }} .muted {{ color: #555f6d; font-size: 9.5pt; }}
table {{ border-collapse: collapse; width: 100%; table-layout: fixed; font-size: 10pt; margin: 3mm 0; }}
th {{ background: #deebf7; text-align: left; font-weight: 700; }}
th, td {{ border: 1px solid #c9d3df; padding: 1.4mm 1.8mm; vertical-align: top; }}
th.num {{ text-align: right; }} td.num {{ text-align: right; white-space: nowrap; }}
td.text {{ overflow-wrap: anywhere; }}
tr:nth-child(even) td {{ background: #f5f7fa; }}
.unit {{ color: #555f6d; font-size: 8.5pt; }}
.total {{ font-size: 12pt; font-weight: 700; margin-top: 3mm; }}
.contact {{ border-top: 1px solid #c9d3df; padding-top: 2mm; margin-top: 5mm; }}
"""


@dataclass(frozen=True)
class Notice:
    """One school's notice: what it lacks (rows of the 整改清单), its total, and the page as HTML."""
    school_id: str
    school_name: str
    rows: list  # [{"level", "indicator", "value", "minimum", "shortfall", "unit", "cost", "years", "priority",
    #               "addition" (what the school adds of the resource for all its levels)}]
    total: float
    html: str = field(repr=False)


def gather(data_dir: Path, scope: Scope, county: str, year: int, lang: str) -> list[Notice]:
    """The notices of a county-year in scope, one per school on the 整改清单, in the list's order.

    Raises content.ReportError (message in lang) for a bad or unknown county, one outside scope, a year without
    data or a damaged one."""
    _, damaged = db.snapshot_health(Path(data_dir))
    if year in damaged:
        raise content.ReportError(t("year_damaged", lang, year=year, detail=damaged[year]))
    content.check(data_dir, scope, year, lang, county=county)
    rules = settings.load_thresholds()
    con = db.connect(Path(data_dir), rules)
    # read as the evaluation page reads them, so that the list and the plan are the page's (and stored ones shared)
    schools = db.run(con, "school_history", scope, region=county).filter(pl.col("year") == year)
    place = db.run(con, "counties_with_data", scope).filter(pl.col("county_code") == county)
    table = precompute.county_table_of(db.run(con, "county_items", scope, year=year), county)
    # the 整改清单 and the 达标方案 at the thresholds file's target year and budget, as the page starts from
    stored = precompute.ensure(Path(data_dir), county, year, schools, table, rules)
    items, yearly = stored["rectification"][0], stored["schedule"]
    if items.is_empty():
        return []
    context = {
        "county": place["county_name"][0] if place.height else county, "year": year, "lang": lang,
        "contact": settings.notice_contact(rules, county), "source": _source(Path(data_dir), county, year, lang),
        "plan": _plan_line(yearly, rules["quality"]["school_rest_share"], lang), "costs": _costs_line(rules, lang),
        "date": formats.beijing_time(datetime.now(UTC))[:10]}
    when = scheduled_years(yearly)
    totals = rectification.school_totals(items)
    school_cost = dict(totals.select("school_id", "school_cost").unique().iter_rows())
    addition = {(r["school_id"], r["column"]): r["addition"] for r in totals.iter_rows(named=True)}
    out = []
    for school_id in items["school_id"].unique(maintain_order=True).to_list():
        mine = items.filter(pl.col("school_id") == school_id)
        rows = [{"level": r["level"], "indicator": r["indicator"], "value": r["value"], "minimum": r["minimum"],
                 "shortfall": r["shortfall"], "unit": t(f"report_unit_{r['column']}", lang), "cost": r["cost"],
                 "years": when.get((school_id, r["column"])) if yearly.years else None, "priority": r["priority"],
                 "addition": addition[(school_id, r["column"])]}
                for r in mine.iter_rows(named=True)]
        name = mine["school_name"][0]
        total = float(school_cost[school_id])
        out.append(Notice(school_id, name, rows, total, html(school_id, name, rows, total, context)))
    return out


def scheduled_years(yearly: plans.Schedule) -> dict[tuple[str, str], tuple[list[int], float]]:
    """(school_id, resource) -> (the years the 达标方案 buys or hires it in, in order; the amount over them)."""
    when: dict[tuple[str, str], tuple[list[int], float]] = {}
    for entry in yearly.years:
        for action in entry["actions"]:
            years, amount = when.get((action["school_id"], action["item"]), ([], 0.0))
            when[(action["school_id"], action["item"])] = (
                years + ([entry["year"]] if entry["year"] not in years else []), amount + action["amount"])
    return when


def html(school_id: str, name: str, rows: list[dict], total: float, ctx: dict) -> str:
    """One notice as an A4 page of HTML (every text escaped)."""
    lang = ctx["lang"]

    def e(value) -> str:
        return escape.html(value)
    wide = 0 if lang == "zh" else 8  # "Junior secondary" needs a wider level column than 小学
    heads = [(t("level", lang), "", 11 + wide), (t("indicator", lang), "", 46 - wide),
             (t("kit_value", lang), "num", 23), (t("kit_minimum", lang), "num", 21),
             (t("notice_col_shortfall", lang), "num", 25), (t("kit_cost", lang), "num", 23)]
    heads += [(t("notice_col_year", lang), "", 29)] if ctx["plan"] else []
    body = []
    for r in rows:
        ind = indicators.by_key(r["indicator"])
        unit = f" <span class=unit>{e(ind.unit(lang))}</span>" if ind.unit(lang) else ""
        cells = [(e(t(f"level_{r['level']}", lang)), "text"), (e(ind.label(lang)), "text"),
                 (e(f"{r['value']:,.2f}") + unit, "num"), (e(f"{r['minimum']:g}") + unit, "num"),
                 (e(f"+{int(r['shortfall']):,} {r['unit']}"), "num"), (e(formats.number(r["cost"])), "num")]
        if ctx["plan"]:
            cells.append((_when(r, lang), "text"))
        body.append("<tr>" + "".join(f"<td class={c}>{cell}</td>" for cell, c in cells) + "</tr>")
    priority = min(r["priority"] for r in rows)
    levels = {r["level"] for r in rows}
    parts = [f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head><meta charset="utf-8">',
             f"<title>{e(t('notice_title', lang))} {e(school_id)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{e(t('notice_title', lang))}</h1>",
             f"<p class=subtitle>{e(t('notice_subtitle', lang, county=ctx['county'], year=ctx['year']))}</p>",
             f"<p class=school>{e(t('notice_school', lang, name=name, id=school_id))}</p>",
             f"<p>{e(t('notice_intro', lang, year=ctx['year'], n=len(rows)))}</p>",
             f"<p><b>{e(t(f'kit_priority_{priority}', lang))}</b>{e(t('kit_colon', lang))}"
             f"{e(t(f'kit_priority_{priority}_help', lang))}</p>",
             "<table><colgroup>" + "".join(f"<col style='width:{w}mm'>" for _, _, w in heads) + "</colgroup>"
             "<thead><tr>" + "".join(f"<th class={c or 'text'}>{e(h)}</th>" for h, c, _ in heads)
             + "</tr></thead><tbody>" + "".join(body) + "</tbody></table>",
             f"<p class=total>{e(t('notice_total', lang, total=formats.number(total)))}</p>"]
    if len(levels) > 1:
        parts.append(f"<p class=muted>{e(t('notice_combined', lang))}</p>")
    if ctx["plan"]:
        parts.append(f"<p class=muted>{e(ctx['plan'])}</p>")
    parts += [f"<p class=muted>{e(ctx['costs'])}</p>", f"<p class=muted>{e(ctx['source'])}</p>"]
    closing = [t("notice_contact", lang, contact=ctx["contact"])] if ctx["contact"] else []
    closing.append(t("notice_signed", lang, county=ctx["county"], date=ctx["date"]))
    parts.append("<div class=contact>" + "".join(f"<p>{e(line)}</p>" for line in closing) + "</div>")
    return "".join(parts) + "</body></html>"


def _when(row: dict, lang: str) -> str:
    """The years the plan schedules a shortfall's resource at the school in (HTML, escaped), with the plan's amount
    when it is not what the school adds for the list (the plan's least-cost choice)."""
    if not row["years"]:
        return escape.html(t("notice_not_planned", lang))
    years, amount = row["years"]
    text = escape.html(t("kit_list_separator", lang).join(map(str, years)))
    if abs(amount - row["addition"]) > 1e-9:
        text += "<br><span class=unit>" + escape.html(t("notice_plan_amount", lang, amount=formats.number(amount),
                                                           unit=row["unit"])) + "</span>"
    return text


def _plan_line(yearly: plans.Schedule, share: float, lang: str) -> str:
    """Where the years come from ('' when the plan schedules nothing: the column is left out)."""
    if not yearly.years:
        return ""
    line = t("notice_plan", lang, target=yearly.target_year, budget=formats.money(yearly.budget_per_year, lang))
    if yearly.scheduled_budget is not None and yearly.scheduled_budget != yearly.budget_per_year:
        line += t("notice_plan_needed", lang, target=yearly.target_year,
                  budget=formats.money(yearly.budget_per_year, lang),
                  needed=formats.money(yearly.scheduled_budget, lang))
    return line + t("notice_plan_other", lang, share=formats.percent(share, 0))


def _costs_line(rules: dict, lang: str) -> str:
    costs = rectification.unit_costs(rules)
    return t("notice_costs", lang, costs=t("kit_list_separator", lang).join(
        f"{t(f'col_{c}', lang)} {formats.money(v, lang)}/{t(f'report_unit_{c}', lang)}" for c, v in costs.items()))


def _source(data_dir: Path, county: str, year: int, lang: str) -> str:
    try:
        synthetic = county in store.synthetic_counties(data_dir).get(year, set())
    except store.ManifestError:
        synthetic = True
    return t("report_source_synthetic" if synthetic else "report_source_imported", lang)


def pdf_files(notices: list[Notice], timeout_ms: int = 60000) -> dict[str, bytes]:
    """school_id -> one A4 page of PDF, all printed in one headless Chromium; a notice taller than the page is
    printed scaled down to fit it (never onto a second page)."""
    from playwright.sync_api import Error as PlaywrightError
    width = round((PAGE_MM[0] - 2 * MARGIN_MM) * MM)
    height = (PAGE_MM[1] - 2 * MARGIN_MM) * MM
    out = {}
    try:
        with pictures.browser() as chromium:
            page = chromium.new_page(viewport={"width": width, "height": round(height)})
            try:
                page.route("**/*", lambda route: route.abort())
                page.emulate_media(media="print")
                for notice in notices:
                    page.set_content(notice.html, wait_until="load", timeout=timeout_ms)
                    page.evaluate("document.fonts.ready")
                    tall = page.evaluate("document.documentElement.scrollHeight")
                    scale = 1.0 if tall <= height - 2 else max(0.3, (height - 2) / tall * 0.98)
                    out[notice.school_id] = page.pdf(format="A4", print_background=True, scale=scale,
                                                     prefer_css_page_size=True)
            finally:
                page.close()
    except PlaywrightError as e:
        raise pictures.PictureError(f"PDF printing failed: {type(e).__name__}") from e
    return out


def zip_bytes(notices: list[Notice], pdfs: dict[str, bytes]) -> bytes:
    """The notices as a zip of `<school_id>.pdf` (a school id made safe as a file name; a clash gets a suffix)."""
    buffer, used = io.BytesIO(), set()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for notice in notices:
            stem = escape.filename(notice.school_id, default="school")
            name, n = f"{stem}.pdf", 1
            while name in used:
                n += 1
                name = f"{stem}_{n}.pdf"
            used.add(name)
            archive.writestr(name, pdfs[notice.school_id])
    return buffer.getvalue()


def build(data_dir: Path, scope: Scope, county: str, year: int, lang: str) -> tuple[bytes, list[Notice]]:
    """(zip bytes, the notices) of a county-year in scope; an empty 整改清单 gives an empty zip."""
    notices = gather(data_dir, scope, county, year, lang)
    return zip_bytes(notices, pdf_files(notices) if notices else {}), notices

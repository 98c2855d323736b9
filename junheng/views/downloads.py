"""Download buttons for a table as shown: every file released by the command layer, built only when its button is
clicked."""
from __future__ import annotations

import polars as pl
import streamlit as st

from junheng.i18n import t
from junheng.views import cache


def downloads(frame: pl.DataFrame, name: str, lang: str, key: str, school_level: bool = True,
              formats: tuple[str, ...] = ("csv", "xlsx"), build=None, regions: tuple[str, ...] = (),
              protected_counts: bool | None = None, label: str | None = None) -> None:
    """Download buttons (CSV, Excel, Parquet) for a table exactly as shown (through the one export module);
    frame: the table, or a function that makes it when a button is clicked.

    Each file is released by the command layer (junheng/commands/exports.py `table`: inside the account's region,
    audited), built only when a button is clicked. School rows carrying left-behind or migrant counts
    (protected_counts; None: every school-level table) are for analysts and administrators; school rows the page
    shows anyway (protected_counts=False: the 整改清单, the 达标方案) for every reader, guests included.
    build(frame, kind) -> bytes replaces the plain files (the cohort page's carry their data dictionary);
    label: what the buttons download, said before them when a view has several tables.
    """
    from junheng.reports import exports
    account = st.session_state.get("account")
    protected = school_level if protected_counts is None else protected_counts
    if protected and (account is None or not account.can("analyst")):
        st.caption(t("export_needs_analyst", lang))
        return
    plain = {"csv": exports.csv_bytes, "xlsx": lambda f: exports.xlsx_bytes({name: f}),
             "parquet": exports.parquet_bytes}
    mime = {"csv": "text/csv", "xlsx": exports.XLSX_MIME, **exports.COHORT_FORMATS}  # the cohort's dta, sav too
    if label:
        head, *columns = st.columns([2] + [1] * len(formats), vertical_alignment="center")
        head.caption(t("download_for", lang, what=label))
    else:
        columns = st.columns(len(formats))
    for column, kind in zip(columns, formats):
        maker = plain[kind] if build is None else (lambda f, kind=kind: build(f, kind))
        column.download_button(t(f"download_{kind}", lang),
                               _export(frame, name, kind, account, maker, school_level, regions, protected_counts),
                               exports.file_name(name, kind), mime[kind], key=f"{key}_{kind}", on_click="ignore")


def _export(frame, name: str, kind: str, account, build, school_level: bool = True, regions: tuple[str, ...] = (),
            protected_counts: bool | None = None):
    """What Streamlit runs when the button is clicked: the command that checks, builds and records the file."""
    from junheng.commands import exports as export_commands
    data_dir_now = cache.data_dir()

    def make() -> bytes:
        return export_commands.table(data_dir_now, account, name, kind, frame, build, school_level, regions,
                                     protected_counts)
    return make


def notices_download(county: str, year: int, lang: str) -> None:
    """The 整改通知单 button: a zip of one A4 PDF per school on the county's 整改清单, built on the click by the
    export command (in the reader's scope, audited) — for every reader of the list, guests included."""
    import logging
    account = st.session_state.get("account")
    data_dir_now = cache.data_dir()

    def make() -> bytes:
        from junheng.commands import exports as export_commands
        from junheng.commands.gate import Denied, message
        try:
            return export_commands.notices(data_dir_now, account, county, year, lang)[0]
        except Denied as e:
            raise RuntimeError(message(e, lang)) from None
        except Exception:  # the server log has the details; the user sees Streamlit's plain error notice
            logging.getLogger(__name__).exception("notices %s %s failed", county, year)
            raise RuntimeError(t("notices_err_build", lang, what="zip")) from None
    from junheng.reports import exports
    st.download_button(t("notices_download", lang), make,
                       exports.file_name(f"{t('notice_title', lang)}_{county}_{year}", "zip"), "application/zip",
                       key=f"notices_{county}_{year}", on_click="ignore", help=t("notices_help", lang))


def _stem(key: str, county: str, year: int, lang: str) -> str:
    return f"{t(key, lang)}_{county}_{year}"


def rectification_downloads(schools: pl.DataFrame, items: pl.DataFrame, county_items: pl.DataFrame,
                            lang: str) -> None:
    """The 整改清单 view's files for every reader: its school rows, its county CVs, its school totals (CSV, Excel),
    and the 整改通知单 (one PDF per school); school rows without protected counts, inside the county."""
    from junheng.rules import rectification
    from junheng.views import rectification_views as views
    if schools.is_empty():
        return
    county, year = str(schools["county_code"][0]), int(schools["year"][0])
    shown = {"regions": (county,), "lang": lang}
    if items.height:
        downloads(views.school_list(items, lang), _stem("sheet_rectification", county, year, lang),
                  key="dl_rect_list", protected_counts=False, label=t("download_rect_list", lang), **shown)
    if county_items.height:
        downloads(views.county_list(county_items, lang), _stem("sheet_county_items", county, year, lang),
                  key="dl_rect_county", school_level=False, label=t("download_rect_county", lang), **shown)
    totals = rectification.school_totals(items)
    if totals.height:
        downloads(views.school_totals_list(totals, lang), _stem("sheet_rect_schools", county, year, lang),
                  key="dl_rect_totals", protected_counts=False, label=t("download_rect_totals", lang), **shown)
        notices_download(county, year, lang)


def plan_downloads(plan, county: str, year: int, lang: str) -> None:
    """The 达标方案's additions as shown, for every reader (school rows without protected counts)."""
    from junheng.views import rectification_views as views
    if plan.changes.height:
        downloads(views.plan_table(plan.changes, lang), _stem("sheet_plan", county, year, lang), lang,
                  key="dl_plan", protected_counts=False, regions=(county,), label=t("download_plan", lang))


def schedule_downloads(yearly, names: dict, county: str, year: int, lang: str) -> None:
    """The 达标方案 over years as shown: the cost per year, 分年度方案 and 学校汇总, for every reader."""
    from junheng.figures import evaluation_tables as tables
    frames = [("download_plan_summary", "dl_plan_summary", tables.schedule_summary_frame(yearly, lang),
               "download_plan_summary"),
              ("download_plan_years", "dl_plan_years", tables.schedule_years_frame(yearly, names, lang),
               "sheet_plan_years"),
              ("download_plan_schools", "dl_plan_schools", tables.schedule_schools_frame(yearly, names, lang),
               "sheet_plan_schools")]
    for label, key, frame, stem in frames:
        if frame.height and (yearly.years or key == "dl_plan_schools"):
            downloads(frame, _stem(stem, county, year, lang), lang, key=key, protected_counts=False,
                      regions=(county,), label=t(label, lang))


def movers_downloads(movers: pl.DataFrame, key: str, county: str, year: int, lang: str, top: int = 15) -> None:
    """The movers chart's schools as a table (the chart's top rows: school, 城乡, value, CV without it, how much it
    raises the CV), for every reader of the page."""
    from junheng.i18n import labels
    from junheng.rules import indicators
    shown = movers.head(top).select(
        pl.col("school_id").alias(t("school_id", lang)), pl.col("school_name").alias(t("school_name", lang)),
        pl.col("urban_rural_group").replace_strict(labels("group", indicators.GROUPS, lang), default="—")
        .alias(t("urban_rural", lang)),
        pl.col("value").alias(indicators.by_key(key).label(lang)), pl.col("cv_without").alias(t("cv_without", lang)),
        pl.col("contribution").alias(t("contribution", lang)))
    if shown.height:
        downloads(shown, f"{t('contribution', lang)}_{county}_{year}_{key}", lang, key="dl_movers",
                  protected_counts=False, regions=(county,), label=indicators.by_key(key).label(lang))

"""One entry point for the county deck and the prefecture bulletin in each format (the CLI and the page)."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from junheng.data import db
from junheng.data.scope import Scope
from junheng.i18n import t
from junheng.reports import content, exports

FORMATS = ("pptx", "pdf", "xlsx")
MIME = {"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pdf": "application/pdf", "xlsx": exports.XLSX_MIME}


def build(data_dir: Path, scope: Scope, year: int, kind: str, lang: str, county: str | None = None,
          region: str | None = None) -> tuple[bytes, content.Report]:
    """(file bytes, the report) for a county (or a prefecture's bulletin with region) and year.

    Raises content.ReportError (bad input; message in lang) or pictures.PictureError (no browser). A year whose
    snapshot is damaged is named as such, never as a year without data; the workbook names the damaged years its
    history and year-on-year changes lack (a 说明 sheet).
    """
    _, damaged = db.snapshot_health(Path(data_dir))
    if year in damaged:
        raise content.ReportError(t("year_damaged", lang, year=year, detail=damaged[year]))
    if kind == "xlsx":
        report = content.gather(data_dir, scope, year, lang, county=county, region=region, pictures=False)
        sheets = dict(report.sheets)
        if damaged:
            notes = t("cohort_sheet_notes", lang)
            sheets[notes] = pl.DataFrame({notes: [t("report_damaged_years", lang, years=", ".join(map(str, damaged)))]})
        return exports.xlsx_bytes(sheets), report
    from junheng.reports import pictures
    content.check(data_dir, scope, year, lang, county=county, region=region)  # bad input: no browser started
    with pictures.browser():  # the maps and the PDF share one Chromium
        report = content.gather(data_dir, scope, year, lang, county=county, region=region)
        if kind == "pdf":
            from junheng.reports import pdf
            return pdf.pdf_bytes(report), report
    from junheng.reports import deck
    return deck.pptx_bytes(report), report


def file_name(report: content.Report, kind: str) -> str:
    return exports.file_name(report.stem, kind)

"""One entry point for the county deck and the prefecture bulletin in each format (the CLI and the page)."""
from __future__ import annotations

from pathlib import Path

from junheng.access.scope import Scope
from junheng.reports import content, exports

FORMATS = ("pptx", "pdf", "xlsx")
MIME = {"pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
        "pdf": "application/pdf", "xlsx": exports.XLSX_MIME}


def build(data_dir: Path, scope: Scope, year: int, kind: str, lang: str, county: str | None = None,
          region: str | None = None) -> tuple[bytes, content.Report]:
    """(file bytes, the report) for a county (or a prefecture's bulletin with region) and year.

    Raises content.ReportError (bad input; message in lang) or pictures.PictureError (no browser).
    """
    if kind == "xlsx":
        report = content.gather(data_dir, scope, year, lang, county=county, region=region, pictures=False)
        return exports.xlsx_bytes(report.sheets), report
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

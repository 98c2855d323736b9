"""The report as a PDF: HTML (every text escaped for HTML) printed by headless Chromium, A4 landscape.

Chinese stays real text (selectable, searchable) in the Noto CJK fonts the project installs, which Chromium
embeds; maps and charts are high-resolution PNGs. Nothing is fetched: the page is set as content, with no
base URL, and every request is refused.
"""
from __future__ import annotations

import base64

import polars as pl

from junheng import escape
from junheng.i18n import t
from junheng.reports import pictures
from junheng.reports.content import DECK_ROWS, Report, Section
from junheng.reports.pictures import PictureError

STYLE = """
@page { size: A4 landscape; margin: 14mm 14mm 16mm 14mm; }
body { font-family: "Noto Sans CJK SC", "Noto Sans CJK", sans-serif; color: #1f2937; font-size: 12pt; }
h1 { color: #08519c; font-size: 26pt; margin: 40mm 0 8mm; }
.subtitle { font-size: 16pt; } .source { color: #555f6d; font-size: 13pt; margin-top: 4mm; }
section { page-break-before: always; }
h2 { color: #08519c; font-size: 18pt; border-bottom: 2px solid #08519c; padding-bottom: 2mm; margin: 0 0 4mm; }
h3 { font-size: 13pt; margin: 4mm 0 2mm; page-break-after: avoid; }
p { margin: 1.5mm 0; } .muted { color: #555f6d; font-size: 11pt; }
table { border-collapse: collapse; width: 100%; font-size: 10.5pt; page-break-inside: auto; margin-bottom: 3mm; }
tr { page-break-inside: avoid; }
th { background: #deebf7; text-align: left; } th, td { border: 1px solid #c9d3df; padding: 1.2mm 2mm;
  overflow-wrap: anywhere; }
td.num { text-align: right; white-space: nowrap; } td.short { white-space: nowrap; }
tr:nth-child(even) td { background: #f5f7fa; }
img { display: block; max-width: 100%; max-height: 150mm; margin: 0 auto; }
.pair { display: flex; gap: 6mm; } .pair > div { flex: 1; }
"""


def html(report: Report) -> str:
    parts = [f'<!doctype html><html lang="{"zh-CN" if report.lang == "zh" else "en"}"><head><meta charset="utf-8">',
             f"<title>{escape.html(report.title)}</title><style>{STYLE}</style></head><body>",
             f"<h1>{escape.html(report.title)}</h1><p class='subtitle'>{escape.html(report.subtitle)}</p>",
             f"<p class='source'>{escape.html(report.source)}</p>"]
    parts += [_section(s) for s in report.sections]
    parts.append(f"<section><h2>{escape.html(t('report_method_title', report.lang))}</h2>"
                 f"<p><b>{escape.html(report.source)}</b></p>"
                 + "".join(f"<p>{escape.html(line)}</p>" for line in report.closing) + "</section></body></html>")
    return "".join(parts)


def _section(section: Section) -> str:
    out = [f"<section><h2>{escape.html(section.title)}</h2>"]
    out += [f"<p{' class=muted' if n else ''}>{escape.html(line)}</p>" for n, line in enumerate(section.lines)]
    if section.picture is not None:
        data = base64.b64encode(section.picture).decode()
        out.append(f'<img alt="" src="data:image/png;base64,{data}">')
    pair = len(section.tables) == 2 and all(tb.frame.width <= 5 for tb in section.tables)
    blocks = [_table(tb.title, tb.frame.head(DECK_ROWS), tb.note) for tb in section.tables]
    out.append(f"<div class='pair'>{''.join(f'<div>{b}</div>' for b in blocks)}</div>" if pair else "".join(blocks))
    if section.caption:
        out.append(f"<p class='muted'>{escape.html(section.caption)}</p>")
    return "".join(out) + "</section>"


def _table(title: str, frame: pl.DataFrame, note: str) -> str:
    from junheng.reports.deck import _cell
    head = "".join(f"<th>{escape.html(c)}</th>" for c in frame.columns)
    rows = []
    for row in frame.iter_rows():
        cells = [_cell(v) for v in row]
        rows.append("<tr>" + "".join(f"<td{_cell_class(c)}>{escape.html(c)}</td>" for c in cells) + "</tr>")
    caption = f"<h3>{escape.html(title)}</h3>" if title else ""
    after = f"<p class='muted'>{escape.html(note)}</p>" if note else ""
    return f"{caption}<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>{after}"


def _cell_class(text: str) -> str:
    """Numbers right-aligned; short texts (a level, an amount with its unit) kept on one line."""
    from junheng.reports.deck import _numeric
    return " class=num" if _numeric(text) else " class=short" if len(text) <= 12 else ""


def pdf_bytes(report: Report, timeout_ms: int = 60000) -> bytes:
    from playwright.sync_api import Error as PlaywrightError
    document = html(report)
    try:
        with pictures.browser() as chromium:
            page = chromium.new_page()
            try:
                page.route("**/*", lambda route: route.abort())
                page.set_content(document, wait_until="load", timeout=timeout_ms)
                page.evaluate("document.fonts.ready")
                footer = ('<div style="font-size:8pt;width:100%;text-align:center;color:#888">'
                          '<span class="pageNumber"></span> / <span class="totalPages"></span></div>')
                return page.pdf(format="A4", landscape=True, print_background=True, prefer_css_page_size=True,
                                display_header_footer=True, header_template="<div></div>", footer_template=footer)
            finally:
                page.close()
    except PlaywrightError as e:
        raise PictureError(f"PDF printing failed: {type(e).__name__}") from e

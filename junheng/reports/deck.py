"""The report as a 16:9 PowerPoint deck (python-pptx): native tables, pictures of maps and charts, CJK font.

Every text goes in as plain text runs (no fields, links or markup), control characters removed and long
names shortened (junheng/escape.py), so a hostile school name is shown as the text it is.
"""
from __future__ import annotations

import io
import math
import re

import polars as pl
from pptx import Presentation
from pptx.dml.color import RGBColor
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.util import Emu, Inches, Pt

from junheng import escape
from junheng.i18n import t
from junheng.reports.content import DECK_ROWS, SLIDE_ROWS, Report, Section, Table

FONT = "Noto Sans CJK SC"
WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
MARGIN = Inches(0.5)
INK, ACCENT, MUTED, HEADER_FILL, STRIPE = (RGBColor(0x1F, 0x29, 0x37), RGBColor(0x08, 0x51, 0x9C),
                                           RGBColor(0x55, 0x5F, 0x6D), RGBColor(0xDE, 0xEB, 0xF7),
                                           RGBColor(0xF5, 0xF7, 0xFA))
CELL_CHARS = 40  # a longer name is shortened with … (the workbook keeps it whole)
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"


def pptx_bytes(report: Report) -> bytes:
    deck = Presentation()
    deck.slide_width, deck.slide_height = WIDTH, HEIGHT
    blank = deck.slide_layouts[6]
    _title_slide(deck.slides.add_slide(blank), report)
    for section in report.sections:
        for part in _slides_of(section):
            _section_slide(deck.slides.add_slide(blank), *part)
    _closing_slide(deck.slides.add_slide(blank), report)
    deck.core_properties.title = escape.plain(report.title, 200)
    deck.core_properties.author = "Junheng"
    buffer = io.BytesIO()
    deck.save(buffer)
    return buffer.getvalue()


def _slides_of(section: Section):
    """(title, lines, tables, picture, caption) per slide: a long table goes on over several slides."""
    if section.picture is not None:
        yield section.title, section.lines, [], section.picture, section.caption
        return
    if not section.tables:
        yield section.title, section.lines, [], None, section.caption
        return
    pair = (len(section.tables) == 2 and all(tb.frame.height <= SLIDE_ROWS and tb.frame.width <= 4
                                              for tb in section.tables))
    if pair:
        yield section.title, section.lines, section.tables, None, section.caption
        return
    first = True
    for table in section.tables:
        frame = table.frame.head(DECK_ROWS)
        # the slide with the section's lines holds fewer rows, so that the type stays large
        lead = max(SLIDE_ROWS - 2 * len(section.lines), 6) if first and section.lines else SLIDE_ROWS
        starts = [0, *range(lead, max(frame.height, 1), SLIDE_ROWS)]
        chunks = [frame.slice(a, b - a) for a, b in zip(starts, [*starts[1:], frame.height])] or [frame]
        for n, chunk in enumerate(chunks):
            last = n == len(chunks) - 1
            title = section.title if n == 0 else f"{section.title} {t('report_continued', _lang(section))}"
            shown = Table(table.title, chunk, table.note if last else "")
            yield title, section.lines if first else [], [shown], None, section.caption if last else ""
            first = False


def _lang(section: Section) -> str:
    return "zh" if any("\u4e00" <= ch <= "\u9fff" for ch in section.title) else "en"


def _text(frame, text: str, size: int, *, bold=False, colour=INK, align=PP_ALIGN.LEFT, limit: int | None = 400):
    """Set a text frame's first paragraph to plain text."""
    frame.word_wrap = True
    p = frame.paragraphs[0]
    p.alignment = align
    run = p.add_run()
    run.text = escape.plain(text, limit)
    _font(run.font, size, bold, colour)
    return p


def _add_line(frame, text: str, size: int, colour=INK, bold=False):
    p = frame.add_paragraph()
    run = p.add_run()
    run.text = escape.plain(text, 400)
    _font(run.font, size, bold, colour)
    p.space_before = Pt(6)
    return p


def _font(font, size: int, bold: bool, colour) -> None:
    font.name = FONT
    font.size = Pt(size)
    font.bold = bold
    font.color.rgb = colour
    # East Asian text takes its font from <a:ea>: without it PowerPoint falls back to a Latin font's glyphs
    rpr = font._rPr
    for tag in ("a:latin", "a:ea", "a:cs"):
        element = rpr.find(f"{{http://schemas.openxmlformats.org/drawingml/2006/main}}{tag.split(':')[1]}")
        if element is None:
            element = rpr.makeelement(
                f"{{http://schemas.openxmlformats.org/drawingml/2006/main}}{tag.split(':')[1]}", {})
            rpr.append(element)
        element.set("typeface", FONT)


def _box(slide, left, top, width, height):
    shape = slide.shapes.add_textbox(left, top, width, height)
    shape.text_frame.margin_left = shape.text_frame.margin_right = 0
    return shape.text_frame


def _title_slide(slide, report: Report) -> None:
    band = slide.shapes.add_shape(1, 0, 0, WIDTH, Inches(0.35))
    band.fill.solid()
    band.fill.fore_color.rgb = ACCENT
    band.line.fill.background()
    _text(_box(slide, MARGIN, Inches(2.2), WIDTH - 2 * MARGIN, Inches(1.6)), report.title, 40, bold=True,
          colour=ACCENT)
    body = _box(slide, MARGIN, Inches(4.1), WIDTH - 2 * MARGIN, Inches(2.4))
    _text(body, report.subtitle, 26, colour=INK)
    _add_line(body, report.source, 20, MUTED)


def _closing_slide(slide, report: Report) -> None:
    _heading(slide, t("report_method_title", report.lang))
    body = _box(slide, MARGIN, Inches(1.35), WIDTH - 2 * MARGIN, HEIGHT - Inches(1.8))
    _text(body, report.source, 18, bold=True)
    for line in report.closing:
        _add_line(body, "• " + line, 16)


def _heading(slide, title: str) -> None:
    frame = _box(slide, MARGIN, Inches(0.3), WIDTH - 2 * MARGIN, Inches(0.9))
    frame.vertical_anchor = MSO_ANCHOR.MIDDLE
    _text(frame, title, 30, bold=True, colour=ACCENT)
    rule = slide.shapes.add_shape(1, MARGIN, Inches(1.2), WIDTH - 2 * MARGIN, Emu(22860))
    rule.fill.solid()
    rule.fill.fore_color.rgb = ACCENT
    rule.line.fill.background()


def _section_slide(slide, title: str, lines: list[str], found: list[Table], picture: bytes | None,
                   caption: str) -> None:
    _heading(slide, title)
    top = Inches(1.35)
    if lines:
        # a long line wraps: the box (and the table under it) make room for every wrapped line
        tall = sum(_wrapped(line, size, Emu(WIDTH - 2 * MARGIN).pt) * size * LINE_SPACING + 6
                   for line, size in zip(lines, [18] + [16] * (len(lines) - 1)))
        body = _box(slide, MARGIN, top, WIDTH - 2 * MARGIN, Pt(tall))
        _text(body, lines[0], 18)
        for line in lines[1:]:
            _add_line(body, line, 16, MUTED)
        top += Pt(tall) + Inches(0.15)
    bottom = HEIGHT - Inches(0.8 if caption or any(tb.note for tb in found) else 0.4)
    if picture is not None:
        _picture(slide, picture, top, bottom)
    elif found:
        width = (WIDTH - 2 * MARGIN - Inches(0.4 * (len(found) - 1))) // len(found)
        for n, table in enumerate(found):
            _table(slide, table, MARGIN + n * (width + Inches(0.4)), top, width, bottom - top)
    notes = [caption] if caption else []
    notes += [tb.note for tb in found if tb.note]
    if notes:
        _text(_box(slide, MARGIN, HEIGHT - Inches(0.75), WIDTH - 2 * MARGIN, Inches(0.6)), "  ".join(notes), 14,
              colour=MUTED)


def _wrapped(text: str, size: int, width_pt: float) -> int:
    """Lines a text box width_pt wide wraps text into at size points."""
    return max(math.ceil(_display_width(text) * size * 0.53 / width_pt), 1)


def _picture(slide, png: bytes, top, bottom) -> None:
    from PIL import Image
    w, h = Image.open(io.BytesIO(png)).size
    box_w, box_h = WIDTH - 2 * MARGIN, bottom - top
    scale = min(box_w / w, box_h / h)
    width, height = int(w * scale), int(h * scale)
    slide.shapes.add_picture(io.BytesIO(png), (WIDTH - width) // 2, top, width, height)


def _table(slide, table: Table, left, top, width, height) -> None:
    frame = table.frame
    if table.title:
        _text(_box(slide, left, top, width, Inches(0.45)), table.title, 18, bold=True)
        top += Inches(0.5)
        height -= Inches(0.5)
    rows, cols = frame.height + 1, max(frame.width, 1)
    texts = [[escape.plain(c, 200) for c in frame.columns]] + [[_cell(v) for v in row] for row in frame.iter_rows()]
    start = 18 if cols <= 4 else 16 if cols <= 6 else 14 if cols <= 8 else 12
    size, widths, lines = column_plan(texts, Emu(width).pt, Emu(height).pt, start)
    head_pt, row_pt = row_heights(size, lines)
    spare = (Emu(height).pt - head_pt) / max(rows - 1, 1)  # rows as tall as the room gives, up to two lines
    head_height, row_height = Pt(head_pt), Pt(max(row_pt, min(spare, size * 2.0 + 4)))
    shape = slide.shapes.add_table(rows, cols, left, top, width, int(head_height + row_height * (rows - 1)))
    grid = shape.table
    total = sum(widths)
    for c, w in enumerate(widths):
        grid.columns[c].width = int(width * w / total)
    # a body cell never wraps (a wrapped row would push the table off the slide): a text beyond its column is
    # cut with … (the workbook keeps it whole); a header is never cut: its column is wide enough for it in
    # `lines` lines
    room = [_room(w, size) for w in widths]
    texts = [texts[0]] + [[_fit(v, room[c]) for c, v in enumerate(values)] for values in texts[1:]]
    for r, values in enumerate(texts):
        grid.rows[r].height = head_height if r == 0 else row_height
        for c, value in enumerate(values):
            cell = grid.cell(r, c)
            cell.margin_left = cell.margin_right = Pt(CELL_PAD_PT)
            cell.margin_top = cell.margin_bottom = Pt(CELL_PAD_PT / 2)
            cell.vertical_anchor = MSO_ANCHOR.MIDDLE
            cell.fill.solid()
            cell.fill.fore_color.rgb = HEADER_FILL if r == 0 else (STRIPE if r % 2 == 0 else RGBColor(255, 255, 255))
            cell.text_frame.text = ""
            _text(cell.text_frame, value, size, bold=r == 0, limit=None,
                  align=PP_ALIGN.RIGHT if r and _numeric(value) else PP_ALIGN.LEFT)


HEADER_LINES = 3      # a header may take up to three lines; its text is never cut
LINE_SPACING = 1.45   # a line's height in points per point of type (Noto Sans CJK's ascent and descent)
CELL_PAD_PT = 4.5     # a cell's left and right margins (each); top and bottom take half
UNIT_EM = 0.56        # a display unit (half a CJK character) is a bit over half an em wide, with room to spare
WRAP_SLACK = 1.3      # a header wrapped at word and punctuation breaks takes more room than its width alone
BODY_CAP = 36         # a body text wider than this (display units) is the first to be cut when space runs out


def _room(width_pt: float, size: int) -> int:
    """Display units of text that fit on one line of a column width_pt wide at size points."""
    return max(int((width_pt - 2 * CELL_PAD_PT) / (size * UNIT_EM)), 2)


def _words(text: str) -> int:
    """The widest piece of a header that cannot break (a Latin word or number; CJK breaks anywhere)."""
    return max((_display_width(w) for w in re.findall(r"[^\s\u2e80-\uffff]+", text)), default=0)


def header_lines(header: str, units: float) -> int:
    """Lines a header takes in a column of units display units (with room for wrapping at breaks)."""
    return max(math.ceil(_display_width(header) * WRAP_SLACK / max(units - 1, 1)), 1)


def row_heights(size: int, lines: int) -> tuple[float, float]:
    """(header row, body row) heights in points at size points, the header in lines lines: what LibreOffice and
    PowerPoint need at least (a row given less grows, and the table runs off the slide)."""
    line = size * LINE_SPACING
    return line * lines + 2 * CELL_PAD_PT, line + size * 0.15 + 2 * CELL_PAD_PT


def column_plan(texts: list[list[str]], width_pt: float, height_pt: float,
                start: int) -> tuple[int, list[float], int]:
    """(type size, column widths in points, header lines) for a table of texts (the header first) in a box,
    starting from start points.

    Every header is whole, in at most HEADER_LINES lines where the width allows (more where it does not); each
    column is as wide as its widest body text (up to BODY_CAP); the type shrinks (to 10 pt at least) until the
    table fits the box's width and height, then the widest bodies give way (cut with …). The spare width goes to
    every column in proportion.
    """
    heads, body = texts[0], texts[1:]
    cols = len(heads)
    head_min = [max(math.ceil(_display_width(h) * WRAP_SLACK / HEADER_LINES) + 2, _words(h) + 1) for h in heads]
    body_need = [min(max((_display_width(r[c]) for r in body), default=0), BODY_CAP) + 1 for c in range(cols)]
    for size in range(start, 9, -1):
        units = (width_pt - cols * 2 * CELL_PAD_PT) / (size * UNIT_EM)
        need = [max(h, b) for h, b in zip(head_min, body_need)]
        wide = sum(need) > units
        if wide:  # the widest bodies are cut, never below their header's minimum
            over = sum(need) - units
            slack = [max(n - h, 0) for n, h in zip(need, head_min)]
            total = sum(slack) or 1
            need = [n - min(sl, over * sl / total) for n, sl in zip(need, slack)]
        if sum(need) > units:  # the headers alone are too wide: each takes more lines
            need = [n * units / sum(need) for n in need]
        units_of = [n + max(units - sum(need), 0) * n / sum(need) for n in need]
        widths = [u * size * UNIT_EM + 2 * CELL_PAD_PT for u in units_of]
        lines = max(header_lines(h, _room(w, size)) for h, w in zip(heads, widths))
        head_h, row_h = row_heights(size, lines)
        if not wide and lines <= HEADER_LINES and head_h + len(body) * row_h <= height_pt:
            break
    return size, widths, lines


def _cell(value) -> str:
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:,.3f}" if abs(value) < 10 else f"{value:,.1f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}" if abs(value) >= 10_000 else str(value)
    return escape.plain(value, CELL_CHARS)


def _numeric(text: str) -> bool:
    return bool(text) and text.replace(",", "").replace(".", "").replace("-", "").replace("%", "").strip().isdigit()


def _fit(text: str, units: int) -> str:
    """text shortened with … to at most units display units (a CJK character counts two); numbers never."""
    if _display_width(text) <= units or text[:1].isdigit() or text[:1] in "¥-+":
        return text
    out, used = [], 1
    for ch in text:
        used += 2 if ord(ch) > 0x2E80 else 1
        if used > units:
            break
        out.append(ch)
    return "".join(out) + "…"


def _display_width(text: str) -> int:
    """Wide (CJK) characters count twice."""
    return sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)


def table_texts(data: bytes) -> list[list[list[str]]]:
    """Every table of a deck as rows of cell texts (for tests and checks)."""
    deck = Presentation(io.BytesIO(data))
    return [[[cell.text for cell in row.cells] for row in shape.table.rows]
            for slide in deck.slides for shape in slide.shapes if shape.has_table]


def frame_texts(frame: pl.DataFrame) -> list[list[str]]:
    return [[_cell(v) for v in row] for row in frame.iter_rows()]

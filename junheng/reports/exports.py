"""Every file a user downloads or the command line writes goes through here: CSV, Excel, Parquet, file names.

Text from files and users is data in a spreadsheet too: Excel cells are written as strings, never as
formulas or links, and CSV text cells that start a formula (= + - @, tab, carriage return) are neutralised
with a leading single quote, as OWASP recommends. Numbers stay numbers.
"""
from __future__ import annotations

import io
import re

import polars as pl

from junheng import escape

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# xlsxwriter would otherwise turn "=..." into a formula and "http://..." into a link.
WORKBOOK_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
                    "nan_inf_to_errors": True}


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns with leading formula characters neutralised (for CSV, which has no cell types)."""
    starts = "^[" + "".join(re.escape(c) for c in escape.FORMULA_START) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(starts)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, dtype in frame.schema.items() if dtype == pl.String
    )


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 with BOM, so that Excel on a Chinese Windows opens it without garbling; formula-safe text."""
    return b"\xef\xbb\xbf" + csv_safe(frame).write_csv().encode("utf-8")


def xlsx_bytes(frames: dict[str, pl.DataFrame]) -> bytes:
    """One sheet per frame (sheet name -> frame), header row bold and frozen, text cells as strings."""
    import xlsxwriter
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS) as workbook:
        used: set[str] = set()
        for sheet, frame in frames.items():
            name = sheet_name(sheet, used)
            frame.write_excel(workbook, worksheet=name, autofit=True, freeze_panes=(1, 0),
                              header_format={"bold": True})
    return buffer.getvalue()


def sheet_name(text: str, used: set[str]) -> str:
    """A valid, unique Excel sheet name: at most 31 characters, none of []:*?/\\."""
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in escape.plain(text)).strip("'") or "Sheet"
    name, n = base[:31], 2
    while name.lower() in used:
        suffix = f" ({n})"
        name, n = base[: 31 - len(suffix)] + suffix, n + 1
    used.add(name.lower())
    return name


def parquet_bytes(frame: pl.DataFrame, metadata: dict[str, str] | None = None) -> bytes:
    """Parquet with optional key-value metadata (e.g. the data dictionary as JSON)."""
    import pyarrow.parquet as pq
    table = frame.to_arrow()
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               **{k.encode(): v.encode() for k, v in metadata.items()}})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def file_name(stem: str, suffix: str) -> str:
    """A download's file name from parts that may come from data (a region, a school): safe on every OS."""
    return f"{escape.filename(stem)}.{suffix}"

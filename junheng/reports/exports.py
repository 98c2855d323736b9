"""Exports: the table as shown (already suppressed and labelled) as CSV for Excel or as an .xlsx workbook."""
from __future__ import annotations

import io

import polars as pl


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 with BOM, so that Excel on a Chinese Windows opens it without garbling."""
    return b"\xef\xbb\xbf" + frame.write_csv().encode("utf-8")


def xlsx_bytes(frames: dict[str, pl.DataFrame]) -> bytes:
    """One sheet per frame (sheet name -> frame), header row bold and frozen."""
    buffer = io.BytesIO()
    import xlsxwriter
    with xlsxwriter.Workbook(buffer) as workbook:
        for sheet, frame in frames.items():
            frame.write_excel(workbook, worksheet=sheet[:31], autofit=True, freeze_panes=(1, 0),
                              header_format={"bold": True})
    return buffer.getvalue()

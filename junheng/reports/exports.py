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


def clean(frame: pl.DataFrame) -> pl.DataFrame:
    """Every text cell and column name as pages show them (escape.plain): no bidirectional overrides, no control
    characters but tab and newline. Applied once to every file this module writes."""
    texts = [pl.col(c).cast(pl.String).str.replace_all(escape.UNSAFE_CHARACTERS, "")
             for c, dtype in frame.schema.items() if dtype in (pl.String, pl.Categorical) or isinstance(dtype, pl.Enum)]
    out = frame.with_columns(texts) if texts else frame
    used: set[str] = set()
    names = {}
    for column in out.columns:
        name = base = escape.plain(column) or "column"
        n = 2
        while name in used:  # two names that differed only by a removed character stay two columns
            name, n = f"{base} ({n})", n + 1
        used.add(name)
        names[column] = name
    return out.rename(names) if any(k != v for k, v in names.items()) else out


def csv_safe(frame: pl.DataFrame) -> pl.DataFrame:
    """Text columns with leading formula characters neutralised (for CSV, which has no cell types)."""
    starts = "^[" + "".join(re.escape(c) for c in escape.FORMULA_START) + "]"
    return frame.with_columns(
        pl.when(pl.col(c).str.contains(starts)).then(pl.lit("'") + pl.col(c)).otherwise(pl.col(c)).alias(c)
        for c, dtype in frame.schema.items() if dtype == pl.String
    )


def csv_bytes(frame: pl.DataFrame) -> bytes:
    """UTF-8 with BOM, so that Excel on a Chinese Windows opens it without garbling; formula-safe text."""
    return b"\xef\xbb\xbf" + csv_safe(clean(frame)).write_csv().encode("utf-8")


def xlsx_bytes(frames: dict[str, pl.DataFrame]) -> bytes:
    """One sheet per frame (sheet name -> frame), header row bold and frozen, text cells as strings."""
    import xlsxwriter
    buffer = io.BytesIO()
    with xlsxwriter.Workbook(buffer, WORKBOOK_OPTIONS) as workbook:
        used: set[str] = set()
        for sheet, frame in frames.items():
            name = sheet_name(sheet, used)
            clean(frame).write_excel(workbook, worksheet=name, autofit=True, freeze_panes=(1, 0),
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
    table = clean(frame).to_arrow()
    if metadata:
        table = table.replace_schema_metadata({**(table.schema.metadata or {}),
                                               **{k.encode(): escape.plain(v).encode() for k, v in metadata.items()}})
    buffer = io.BytesIO()
    pq.write_table(table, buffer)
    return buffer.getvalue()


def file_name(stem: str, suffix: str) -> str:
    """A download's file name from parts that may come from data (a region, a school): safe on every OS."""
    return f"{escape.filename(stem)}.{suffix}"


COHORT_FORMATS = {"csv": "text/csv", "xlsx": XLSX_MIME, "parquet": "application/vnd.apache.parquet",
                  "json": "application/json", "dta": "application/x-stata-dta", "sav": "application/x-spss-sav"}


def labelled(frame: pl.DataFrame, lang: str):
    """The frame as a pandas frame for Stata and SPSS, with (variable labels, value labels): each column's label
    from the data dictionary (with its unit), and coded columns as integers with their labels — yes/no columns 0/1,
    urban_rural_code its own numeric code (111 主城区), school type and urban/rural group 1, 2, … in the
    dictionary's order. Text cells that are missing become empty strings (neither format has a missing string)."""
    from junheng.i18n import t
    from junheng.rules import cohort
    known = cohort.fields()
    frame = clean(frame)
    values: dict[str, dict[int, str]] = {}
    columns = []
    for name, dtype in frame.schema.items():
        f = known.get(name)
        col = pl.col(name)
        if dtype == pl.Boolean:
            values[name] = {0: t("no", lang), 1: t("yes", lang)}
            columns.append(col.cast(pl.Int8))
        elif f is not None and f.values and dtype == pl.String:
            if name == "urban_rural_code":
                codes = {int(v): v for v in f.values if v.isdigit()}
            else:
                codes = {i: v for i, v in enumerate(f.values, 1)}
            values[name] = {k: cohort.value_label(name, v, lang) if name != "urban_rural_code"
                            else _code_label(v) for k, v in codes.items()}
            columns.append(col.replace_strict({v: k for k, v in codes.items()}, default=None, return_dtype=pl.Int32))
        elif dtype == pl.String:
            columns.append(col.fill_null(""))
        else:
            columns.append(col)
    out = frame.select(columns)
    labels = {}
    for name in out.columns:
        f = known.get(name)
        base, _, year = name.rpartition("_")
        if f is None and year.isdigit() and len(year) == 4 and base in known:  # a wide panel's measure_YYYY
            f, name_year = known[base], f" {year}"
        else:
            name_year = ""
        if f is not None:
            unit = f.unit(lang)
            labels[name] = (f.label(lang) + name_year + (f" ({unit})" if unit else ""))[:80]
        elif name in PANEL_LABELS:
            labels[name] = t(PANEL_LABELS[name], lang)[:80]
    return out.to_pandas(), labels, values


# the columns a panel adds (junheng/rules/cohort_panel.py): their labels in the translation table
PANEL_LABELS = {"first_year": "panel_first_year", "last_year": "panel_last_year",
                "in_every_year": "panel_in_every_year", "exit": "panel_exit", "schools": "panel_schools"}


def _code_label(code: str) -> str:
    """An urban-rural code's name from the data dictionary (111 -> 主城区)."""
    from junheng.rules import cohort
    names = [label for label, c in cohort.value_aliases("urban_rural_code").items() if c == code and label != code]
    return names[0] if names else code


def dta_bytes(frame: pl.DataFrame, lang: str, about: dict | None = None) -> bytes:
    """A Stata 14+ file (format 118, Unicode): variable and value labels from the data dictionary, the data label
    naming the data version; its time stamp the generation time, so equal inputs give equal bytes."""
    from datetime import datetime
    table, labels, values = labelled(frame, lang)
    # Stata names hold at most 32 characters: a longer one is cut, its label keeps the full name
    short = {}
    for name in table.columns:
        cut, n = name[:32], 2
        while cut in short.values():
            cut, n = f"{name[:29]}_{n}", n + 1
        short[name] = cut
        if cut != name:
            labels[name] = f"{labels.get(name, '')} [{name}]"[-80:]
    table = table.rename(columns=short)
    labels = {short[k]: v for k, v in labels.items()}
    values = {short[k]: v for k, v in values.items()}
    stamp = datetime.fromisoformat(about["generated_at"]).replace(tzinfo=None) if about else None
    label = (f"Junheng {about['data_checksum'][:12]} {about['generated_at'][:10]}" if about else "Junheng")[:80]
    buffer = io.BytesIO()
    table.to_stata(buffer, write_index=False, version=118, variable_labels=labels,
                   value_labels={k: {float(c): v for c, v in m.items()} for k, m in values.items()},
                   data_label=label, time_stamp=stamp)
    return buffer.getvalue()


def _lines_of_bytes(text: str, size: int) -> list[str]:
    """text cut into lines of at most size UTF-8 bytes (an SPSS document line is 80 bytes), never inside a
    character."""
    lines, line = [], ""
    for ch in text:
        if len((line + ch).encode("utf-8")) > size:
            lines.append(line)
            line = ""
        line += ch
    return lines + ([line] if line else [])


def sav_bytes(frame: pl.DataFrame, lang: str, about: dict | None = None) -> bytes:
    """An SPSS file (pyreadstat): variable and value labels from the data dictionary; the citation and the query as
    the file's notes."""
    import json
    import os
    import tempfile

    import pyreadstat
    table, labels, values = labelled(frame, lang)
    notes = [line for text in (about["citation"], json.dumps(about["query"], ensure_ascii=False))
             for line in _lines_of_bytes(text, 80)] if about else None
    fd, path = tempfile.mkstemp(suffix=".sav")
    os.close(fd)
    try:
        pyreadstat.write_sav(table, path, file_label=(f"Junheng {about['data_checksum'][:12]}" if about else ""),
                             column_labels=labels, variable_value_labels=values, note=notes)
        with open(path, "rb") as f:
            return f.read()
    finally:
        os.unlink(path)


def dictionary_frame(columns, lang: str) -> pl.DataFrame:
    """What each column of a cohort file holds: column, Chinese label, English label, unit, meaning."""
    from junheng.i18n import t
    from junheng.rules import cohort
    known = cohort.fields()
    rows = []
    for name in columns:
        f = known.get(name)
        if f is None:
            continue
        meaning = f.meaning(lang)
        if f.protected:
            meaning += " " + t("cohort_dictionary_suppressed", lang)
        rows.append((name, f.zh, f.en, f.unit(lang), meaning))
    return pl.DataFrame(rows, schema={"column": pl.String, "zh": pl.String, "en": pl.String, "unit": pl.String,
                                      "meaning": pl.String}, orient="row")


def cohort_bytes(frame: pl.DataFrame, kind: str, lang: str, meta: dict[str, str] | None = None,
                 damaged_years=(), about: dict | None = None) -> bytes:
    """A cohort's school-year rows as a file: CSV (UTF-8 with BOM), Excel with a second sheet holding the data
    dictionary of its columns, or Parquet with the dictionary (and meta, e.g. the query) in its metadata.

    damaged_years: years of the cohort's range whose snapshot could not be read, so their rows are missing: named in
    Parquet's metadata (junheng.damaged_years) and in a notes sheet (说明) of the workbook. A CSV has no place for
    them that every reader skips; the page and the command line name them beside it."""
    import json

    from junheng.i18n import t
    dictionary = dictionary_frame(frame.columns, lang)
    damaged = sorted({int(y) for y in damaged_years})
    if kind == "csv":
        return csv_bytes(frame)
    if kind == "xlsx":
        sheets = {t("cohort_sheet_rows", lang): frame, t("cohort_sheet_dictionary", lang): dictionary}
        if damaged:
            sheets[t("cohort_sheet_notes", lang)] = pl.DataFrame(
                {t("cohort_sheet_notes", lang): [damaged_note(damaged, lang)]})
        return fast_xlsx_bytes(sheets)
    if kind == "parquet":
        return parquet_bytes(frame, {"junheng.dictionary": json.dumps(dictionary.to_dicts(), ensure_ascii=False),
                                     **(meta or {}), **({"junheng.damaged_years": json.dumps(damaged)} if damaged
                                                        else {})})
    if kind == "json":  # what a script reads in one call: the file's about, its dictionary, its rows
        return json.dumps({"about": about or {}, "dictionary": dictionary.to_dicts(),
                           "rows": clean(frame).to_dicts()}, ensure_ascii=False, default=str).encode("utf-8")
    if kind == "dta":
        return dta_bytes(frame, lang, about)
    if kind == "sav":
        return sav_bytes(frame, lang, about)
    raise ValueError(f"unknown format: {kind}")


def damaged_note(years, lang: str) -> str:
    """One line naming the damaged years left out of a file (for its notes and the command line)."""
    from junheng.i18n import t
    listed = ("、" if lang == "zh" else ", ").join(str(y) for y in sorted(years))
    return t("cohort_damaged_left_out", lang, years=listed)


_XML_BAD = "[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]"  # characters XML 1.0 cannot hold


def _xml_text(expr: pl.Expr) -> pl.Expr:
    return (expr.str.replace_all(_XML_BAD, "").str.replace_all("&", "&amp;", literal=True)
            .str.replace_all("<", "&lt;", literal=True).str.replace_all(">", "&gt;", literal=True))


def _cell(name: str, dtype) -> pl.Expr:
    """One column's cells as SpreadsheetML: numbers as numbers, booleans as booleans, everything else as an inline
    string (never a formula); a missing value or a non-finite number as an empty cell."""
    col = pl.col(name)
    if dtype.is_numeric():
        ok = col.is_not_null() & (col.cast(pl.Float64).is_finite() if dtype.is_float() else pl.lit(True))
        return pl.when(ok).then(pl.concat_str(pl.lit("<c><v>"), col.cast(pl.String), pl.lit("</v></c>"))
                                ).otherwise(pl.lit("<c/>"))
    if dtype == pl.Boolean:
        return pl.when(col.is_null()).then(pl.lit("<c/>")).otherwise(
            pl.concat_str(pl.lit('<c t="b"><v>'), col.cast(pl.Int8).cast(pl.String), pl.lit("</v></c>")))
    text = _xml_text(col.cast(pl.String))
    return pl.when(col.is_null()).then(pl.lit("<c/>")).otherwise(
        pl.concat_str(pl.lit('<c t="inlineStr"><is><t xml:space="preserve">'), text, pl.lit("</t></is></c>")))


def _sheet_xml(frame: pl.DataFrame) -> bytes:
    header = "".join(f'<c t="inlineStr" s="1"><is><t>{escape.html(c, limit=None)}</t></is></c>' for c in frame.columns)
    rows = frame.select(pl.concat_str([_cell(c, d) for c, d in frame.schema.items()]).alias("row")) \
        if frame.width else pl.DataFrame({"row": []}, schema={"row": pl.String})
    body = "</row><row>".join(rows["row"].to_list())
    return ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            '<sheetViews><sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" '
            'state="frozen"/></sheetView></sheetViews><sheetData>'
            f'<row>{header}</row>' + (f"<row>{body}</row>" if frame.height else "")
            + "</sheetData></worksheet>").encode("utf-8")


def fast_xlsx_bytes(frames: dict[str, pl.DataFrame]) -> bytes:
    """Like xlsx_bytes (header bold and frozen, text never a formula or a link), built column-wise for large tables
    (a cohort of 100,000 school-years): the sheets' XML is made by Polars, not cell by cell. No column widths."""
    import zipfile
    used: set[str] = set()
    names = [sheet_name(s, used) for s in frames]
    sheets = "".join(f'<sheet name="{escape.html(n, limit=None)}" sheetId="{i}" r:id="rId{i}"/>'
                     for i, n in enumerate(names, 1))
    rels = "".join(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                   f'relationships/worksheet" Target="worksheets/sheet{i}.xml"/>' for i in range(1, len(names) + 1))
    n = len(names) + 1
    parts = {
        "[Content_Types].xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Types xmlns="http://'
        'schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/'
        'vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.'
        'spreadsheetml.sheet.main+xml"/><Override PartName="/xl/styles.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.spreadsheetml.styles+xml"/>' + "".join(
            f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-'
            'officedocument.spreadsheetml.worksheet+xml"/>' for i in range(1, len(names) + 1)) + "</Types>",
        "_rels/.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships xmlns="http://'
        'schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
        'openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/>'
        '</Relationships>',
        "xl/workbook.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="http://'
        'schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/'
        f'officeDocument/2006/relationships"><sheets>{sheets}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<Relationships '
        f'xmlns="http://schemas.openxmlformats.org/package/2006/relationships">{rels}<Relationship Id="rId{n}" '
        'Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/styles" Target="styles.xml"/>'
        '</Relationships>',
        "xl/styles.xml": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<styleSheet xmlns="http://'
        'schemas.openxmlformats.org/spreadsheetml/2006/main"><fonts count="2"><font><sz val="11"/><name val="'
        'Calibri"/></font><font><b/><sz val="11"/><name val="Calibri"/></font></fonts><fills count="1"><fill>'
        '<patternFill patternType="none"/></fill></fills><borders count="1"><border/></borders><cellStyleXfs '
        'count="1"><xf/></cellStyleXfs><cellXfs count="2"><xf fontId="0"/><xf fontId="1" applyFont="1"/>'
        '</cellXfs></styleSheet>',
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        for name, text in parts.items():
            z.writestr(name, text)
        for i, frame in enumerate(frames.values(), 1):
            z.writestr(f"xl/worksheets/sheet{i}.xml", _sheet_xml(clean(frame)))
    return buffer.getvalue()

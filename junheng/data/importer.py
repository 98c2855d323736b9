"""Import a bureau's school table (.xlsx / .csv): read, normalise, validate, and store all or nothing.

The report names each problem as the user sees it: spreadsheet row (the header's row, normally 1), the column's
header as written in the file, the value, and the reason in the chosen language. Validation is column-wise in
Polars: no Python loop runs over the data rows; loops run over the problems found, and at most MAX_LISTED of
each level are listed (the rest are counted per column and reason).
"""
from __future__ import annotations

import logging
import os
import secrets
import time
import unicodedata
import xml.etree.ElementTree as ET
import zipfile
import zlib
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from junheng.data import dictionary, store
from junheng.i18n import t
from junheng.rules import indicators

log = logging.getLogger(__name__)

SCHOOL_TYPE_NAMES = {  # accepted spellings (after NFKC) -> data-model value
    "primary": "primary", "小学": "primary", "普通小学": "primary",
    "junior": "junior", "初中": "junior", "初级中学": "junior",
    "nine_year": "nine_year", "九年一贯制学校": "nine_year", "九年一贯制": "nine_year",
    "twelve_year": "twelve_year", "十二年一贯制学校": "twelve_year", "十二年一贯制": "twelve_year",
    "complete_secondary": "complete_secondary", "完全中学": "complete_secondary",
    "teaching_point": "teaching_point", "教学点": "teaching_point", "小学教学点": "teaching_point",
}
YES = ["是", "1", "true", "yes", "y", "t", "√"]
NO = ["否", "0", "false", "no", "n", "f", "×"]
OPTIONAL = {"year", "parent_school_id", "lon", "lat", "standardized_year", "township", "senior_students"}
PART_OF_TEACHERS = ("teachers_above_degree", "teachers_senior_title", "backbone_teachers", "pe_arts_teachers",
                    "psych_teachers")
PART_OF_STUDENTS = ("left_behind_students", "boarding_students", "migrant_students")
# Values far outside the plausible range: warnings, not errors (column -> per-student ceiling).
PLAUSIBLE_PER_STUDENT = {"building_area_m2": 100.0, "sports_area_m2": 200.0, "equipment_value_cny": 100_000.0,
                         "computers": 5.0, "books": 500.0}
MAX_CLASS_SIZE = 120
INT32_MAX = 2_147_483_647

MAX_LISTED = 1_000          # problems listed per level (error, warning); the rest are counted
MAX_VALUE_SHOWN = 100       # characters of a value shown in the report
# An import that removes a county from the year, or this share (or more) of the year's or of a county's
# schools, is reported and needs explicit confirmation (the page's checkbox, or --allow-removal).
REMOVAL_CONFIRM_SHARE = 0.5

# An .xlsx is a zip archive: refuse one whose unpacked size or packing is absurd before any reader opens it.
# A national table of 260,000 schools unpacks to about 330 MB at a ratio of about 8 : 1.
XLSX_MAX_UNPACKED_BYTES = 600_000_000
XLSX_MAX_RATIO = 100        # per member over 1 MB; spreadsheet XML packs about 5-15 : 1
XLSX_MAX_MEMBERS = 500

UPLOAD_DIR = "uploads"      # under the data directory, owner-only; files have random names
UPLOAD_MAX_AGE_S = 24 * 3600


@dataclass
class Report:
    """Problems found in a file: listed (capped per level) and counted per (level, column, reason)."""
    problems: list[dict] = field(default_factory=list)  # row, column, value, reason, level
    counts: dict[tuple[str, str, str], int] = field(default_factory=dict)
    removal: Removal | None = None
    listed: dict[str, int] = field(default_factory=dict)  # level -> problems listed

    def _list(self, problem: dict) -> None:
        self.problems.append(problem)
        self.listed[problem["level"]] = self.listed.get(problem["level"], 0) + 1

    def add(self, level: str, row, column: str, value, reason: str, summary: str | None = None) -> None:
        key = (level, column, summary or reason)
        self.counts[key] = self.counts.get(key, 0) + 1
        if self.listed.get(level, 0) < MAX_LISTED:
            self._list({"level": level, "row": row, "column": column, "value": _shown(value), "reason": reason})

    def add_hits(self, level: str, column: str, hits: pl.DataFrame, reason: str) -> None:
        """Problems of one kind: hits has _row and value (and optionally reason, a per-row text)."""
        if hits.is_empty():
            return
        key = (level, column, reason)
        self.counts[key] = self.counts.get(key, 0) + hits.height
        room = MAX_LISTED - self.listed.get(level, 0)
        for row in hits.head(max(room, 0)).iter_rows(named=True):  # over the problems, at most MAX_LISTED
            self._list({"level": level, "row": row["_row"], "column": column, "value": _shown(row["value"]),
                        "reason": row.get("reason") or reason})

    @property
    def errors(self) -> list[dict]:
        return [p for p in self.problems if p["level"] == "error"]

    @property
    def warnings(self) -> list[dict]:
        return [p for p in self.problems if p["level"] == "warning"]

    @property
    def error_count(self) -> int:
        return sum(n for (level, _, _), n in self.counts.items() if level == "error")

    @property
    def warning_count(self) -> int:
        return sum(n for (level, _, _), n in self.counts.items() if level == "warning")

    @property
    def unlisted(self) -> int:
        return self.error_count + self.warning_count - len(self.problems)

    @property
    def needs_removal_confirmation(self) -> bool:
        return self.removal is not None and self.removal.needs_confirmation

    def summary(self, lang: str) -> str:
        text = t("report_summary", lang, errors=self.error_count, warnings=self.warning_count)
        if self.unlisted:
            text += " " + t("report_unlisted", lang, listed=len(self.problems), limit=MAX_LISTED)
        return text

    def frame(self, lang: str) -> pl.DataFrame:
        """The listed problems as a table with headers in lang (for the page and the Excel download)."""
        schema = {"level": pl.String, "row": pl.String, "column": pl.String, "value": pl.String, "reason": pl.String}
        rows = [{**p, "row": str(p["row"]), "level": t(f"level_{p['level']}", lang)} for p in self.problems]
        return pl.DataFrame(rows, schema=schema).rename({k: t(f"report_{k}", lang) for k in schema})

    def counts_frame(self, lang: str) -> pl.DataFrame:
        """How many problems of each kind (level, column, reason), listed or not."""
        rows = [{"level": t(f"level_{level}", lang), "column": column, "reason": reason, "count": n}
                for (level, column, reason), n in self.counts.items()]
        schema = {"level": pl.String, "column": pl.String, "reason": pl.String, "count": pl.Int64}
        return pl.DataFrame(rows, schema=schema).rename({k: t(f"report_{k}", lang) for k in schema})

    def text(self, lang: str) -> str:
        lines = [f"{t('level_' + p['level'], lang)}: {t('report_row', lang)} {p['row']} · {p['column']} · "
                 f"「{p['value']}」 · {p['reason']}" for p in self.problems]
        if self.unlisted:
            lines.append(t("report_counts_title", lang))
            lines += [f"  {t('level_' + level, lang)} · {column} · {reason}: {n}"
                      for (level, column, reason), n in self.counts.items()]
        if self.needs_removal_confirmation:  # the counties are listed above, as warnings
            lines.append(self.removal.lines(lang, limit=0)[0])
        lines.append(self.summary(lang))
        return "\n".join(lines)


def _shown(value) -> str:
    text = "" if value is None else str(value)
    return text if len(text) <= MAX_VALUE_SHOWN else text[:MAX_VALUE_SHOWN] + "…"


@dataclass(frozen=True)
class CountyChange:
    county_code: str
    county_name: str
    before: int        # schools now
    after: int         # schools after the import


@dataclass(frozen=True)
class Removal:
    """What an import would take away from a year: counties that disappear or lose most of their schools."""
    year: int
    schools_before: int
    schools_after: int
    counties_before: int
    counties_after: int
    changes: tuple[CountyChange, ...]   # the counties removed or losing REMOVAL_CONFIRM_SHARE or more

    @property
    def removed_counties(self) -> tuple[CountyChange, ...]:
        return tuple(c for c in self.changes if c.after == 0)

    @property
    def needs_confirmation(self) -> bool:
        lost = self.schools_before - self.schools_after
        return bool(self.changes) or (self.schools_before > 0 and lost >= REMOVAL_CONFIRM_SHARE * self.schools_before)

    def lines(self, lang: str, limit: int | None = None) -> list[str]:
        """The removal in words: the year before and after, then each county affected (the first limit)."""
        out = [t("removal_summary", lang, year=self.year, before=self.schools_before, after=self.schools_after,
                 counties_before=self.counties_before, counties_after=self.counties_after)]
        shown = self.changes if limit is None else self.changes[:limit]
        out += [t("removal_county_gone" if c.after == 0 else "removal_county_shrinks", lang, name=c.county_name,
                  code=c.county_code, before=c.before, after=c.after) for c in shown]
        if len(shown) < len(self.changes):
            out.append(t("removal_more", lang, n=len(self.changes) - len(shown)))
        return out


def removal_check(year: int, current: pl.DataFrame | None, incoming: pl.DataFrame, names: dict[str, str],
                  whole_year: bool = True) -> Removal | None:
    """Compare the year's current rows with the rows it will have after the import (counties, school counts).

    current, incoming: frames with county_code (one row per school). whole_year: the import replaces the whole
    year (today); False: only the counties in the file are replaced (their rows), the others stay.
    None when the year has no current rows.
    """
    if current is None or current.is_empty():
        return None
    after = incoming if whole_year else pl.concat([
        current.select("county_code").filter(~pl.col("county_code").is_in(incoming["county_code"].unique().implode())),
        incoming.select("county_code")])
    before_n = current.group_by("county_code").len("before").cast({"before": pl.Int64})
    after_n = after.group_by("county_code").len("after").cast({"after": pl.Int64})
    joined = before_n.join(after_n, on="county_code", how="left").with_columns(pl.col("after").fill_null(0))
    hit = joined.filter((pl.col("after") == 0)
                        | ((pl.col("before") - pl.col("after")) >= REMOVAL_CONFIRM_SHARE * pl.col("before")))
    changes = tuple(CountyChange(code, names.get(code, code), before, after)
                    for code, before, after in hit.sort("after", "county_code").iter_rows())
    return Removal(year, current.height, after.height, before_n.height, after_n.height, changes)


class UnreadableFile(ValueError):
    """The file cannot be read at all (wrong format, unreadable encoding, no header, a zip bomb)."""


def normalise(text) -> str | None:
    """NFKC (full-width letters, digits and spaces to half-width), trimmed; empty -> None."""
    if text is None:
        return None
    value = unicodedata.normalize("NFKC", str(text)).strip()
    return value or None


def _normalised(column: str) -> pl.Expr:
    """The same as normalise, column-wise."""
    text = pl.col(column).str.normalize("NFKC").str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text).alias(column)


def read_table(path: Path, lang: str = "zh", name: str | None = None) -> tuple[pl.DataFrame, int]:
    """(every cell of the first sheet or the CSV as text as written, the spreadsheet row of its first row).

    Columns are c0, c1, ...; the first row is the header. Trailing empty rows are dropped. Cells are not yet
    normalised (validate does that for the columns it uses). name: the file's name as the user knows it.
    """
    path = Path(path)
    name = name or path.name
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        table, first_row = _read_xlsx(path, name, lang)
    elif suffix == ".csv":
        table, first_row = _read_csv(path, name, lang), 1
    else:
        raise UnreadableFile(t("err_file_type", lang, path=name))
    if table.width == 0:
        raise UnreadableFile(t("err_no_header", lang, path=name))
    table = table.rename({c: f"c{i}" for i, c in enumerate(table.columns)})
    used = table.select(pl.any_horizontal(pl.all().is_not_null()).arg_true().max()).item()
    while used is not None and used >= 0 and not any(normalise(v) for v in table.row(used)):
        used -= 1  # a trailing row of blanks only (a loop over the trailing rows, not the data)
    if used is None or used < 0:
        raise UnreadableFile(t("err_no_header", lang, path=name))
    table = table.head(used + 1)
    # Row 1 must be the header (calamine starts at the first non-empty row; an empty row 1 is refused as before).
    if first_row != 1 or not any(normalise(v) for v in table.row(0)):
        raise UnreadableFile(t("err_no_header", lang, path=name))
    return table, first_row


def _read_csv(path: Path, name: str, lang: str) -> pl.DataFrame:
    raw = path.read_bytes()
    if raw.startswith(b"\xef\xbb\xbf"):
        raw = raw[3:]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError:
        raw = _decode(raw, name, lang).encode("utf-8")
    try:
        return pl.read_csv(raw, has_header=False, infer_schema=False, truncate_ragged_lines=True,
                           raise_if_empty=False)
    except pl.exceptions.PolarsError as e:
        raise UnreadableFile(t("err_csv_parse", lang, path=name, detail=type(e).__name__)) from None


def _decode(raw: bytes, name: str, lang: str) -> str:
    """GB18030 (a superset of GBK) when it decodes; else the detected encoding (UTF-8 is tried before)."""
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes
    best = from_bytes(raw).best()
    if best is None:
        raise UnreadableFile(t("err_encoding", lang, path=name))
    return str(best)


def check_xlsx(path: Path, name: str, lang: str = "zh") -> None:
    """Refuse an .xlsx whose unpacked size, packing ratio or member count is absurd (a zip bomb), before reading.

    The sizes a zip declares can lie, so every member is also inflated (and thrown away) through zipfile, which
    stops at the declared size and checks the CRC: a member that inflates to more than it declares fails.
    """
    def bomb(detail: str) -> UnreadableFile:
        return UnreadableFile(t("err_xlsx_bomb", lang, path=name, detail=detail))
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
            if len(members) > XLSX_MAX_MEMBERS:
                raise bomb(t("bomb_members", lang, n=len(members), limit=XLSX_MAX_MEMBERS))
            declared = sum(m.file_size for m in members)
            if declared > XLSX_MAX_UNPACKED_BYTES:
                raise bomb(t("bomb_size", lang, mb=declared // 1_000_000, limit=XLSX_MAX_UNPACKED_BYTES // 1_000_000))
            for m in members:
                if m.file_size > 1_000_000 and m.file_size > XLSX_MAX_RATIO * max(m.compress_size, 1):
                    raise bomb(t("bomb_ratio", lang, ratio=m.file_size // max(m.compress_size, 1),
                                 limit=XLSX_MAX_RATIO))
            for m in members:
                with archive.open(m) as member:
                    while member.read(1 << 20):
                        pass
    except UnreadableFile:
        raise
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError, ValueError) as e:
        raise UnreadableFile(t("err_unreadable_xlsx", lang, path=name, detail=type(e).__name__)) from None


def _read_xlsx(path: Path, name: str, lang: str) -> tuple[pl.DataFrame, int]:
    """The first sheet, every cell as text, read column-wise by fastexcel (calamine) after check_xlsx."""
    import fastexcel
    check_xlsx(path, name, lang)
    try:
        first_row = _first_used_row(path)
        sheet = fastexcel.read_excel(str(path)).load_sheet(0, header_row=None, dtypes="string")
        table = sheet.to_polars()
    except Exception as e:  # fastexcel and the XML reader raise many kinds for a broken or mislabelled file
        raise UnreadableFile(t("err_unreadable_xlsx", lang, path=name, detail=type(e).__name__)) from None
    return table, first_row


def _first_used_row(path: Path) -> int:
    """The spreadsheet row of the first sheet's first non-empty row (calamine starts its range there)."""
    rel = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
    with zipfile.ZipFile(path) as archive:
        book = ET.fromstring(archive.read("xl/workbook.xml"))
        sheet = next(e for e in book.iter() if e.tag.rsplit("}", 1)[-1] == "sheet")
        rels = ET.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
        target = next(e.get("Target") for e in rels if e.get("Id") == sheet.get(rel))
        member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        with archive.open(member) as xml:
            number = 0
            for _, element in ET.iterparse(xml, events=("end",)):
                if element.tag.rsplit("}", 1)[-1] != "row":
                    continue
                number = int(element.get("r") or number + 1)
                if any((value.text or "").strip() or len(value) for cell in element for value in cell):
                    return number
                element.clear()
    return 1


def header_map() -> dict[str, str]:
    """Accepted header (normalised) -> column name: the English name or the Chinese label."""
    out = {}
    for c in dictionary.columns():
        out[normalise(c.name).lower()] = c.name
        out[normalise(c.zh)] = c.name
    return out


def validate(path: Path, year: int, data_dir: Path, lang: str = "zh", name: str | None = None,
             region: str = "", replace_year: bool = False) -> tuple[pl.DataFrame | None, Report]:
    """Read and check a file for year. Returns (clean frame or None when there are errors, report).

    name: the file's name as the user knows it (for messages), when path is a stored upload.
    region: the importing account's region; a row of a county outside it is an error naming the row.
    replace_year: the file replaces the whole year (within region), not only the counties it holds.
    """
    report = Report()
    table, first_row = read_table(path, lang, name)
    headers = [normalise(v) for v in table.row(0)]
    known = header_map()
    columns: dict[str, str] = {}  # column name -> c<i> in table
    shown: dict[str, str] = {}    # column name -> header as written in the file
    for i, header in enumerate(headers):
        if header is None:
            continue
        column = known.get(header.lower()) or known.get(header)
        if column is None:
            report.add("warning", first_row, header, header, t("warn_unknown_column", lang))
        elif column in columns:
            report.add("error", first_row, header, header, t("err_duplicate_column", lang, first=shown[column]))
        else:
            columns[column] = f"c{i}"
            shown[column] = header
    missing = [c for c in dictionary.columns() if c.name not in columns and c.name not in OPTIONAL]
    for c in missing:
        report.add("error", first_row, f"{c.zh} / {c.name}", "", t("err_missing_column", lang))
    if missing:
        return None, report
    if table.height == 1:  # a header and nothing else would empty the year
        report.add("error", first_row + 1, "—", "", t("err_no_rows", lang))
        return None, report

    raw = table.slice(1).with_row_index("_row", offset=first_row + 1).select(
        pl.col("_row").cast(pl.Int64), *[pl.col(src).alias(column) for column, src in columns.items()])
    counties = pl.read_parquet(Path(data_dir) / "boundaries" / "counties.parquet",
                               columns=["county_code", "county_name"])
    frame = _convert(raw, shown, year, report, counties, lang, region)
    if frame is None or report.error_count:
        return None, report
    _warnings(frame, shown, year, data_dir, report, lang)
    names = dict(zip(counties["county_code"], counties["county_name"]))
    current = _current_rows(data_dir, year)
    if current is not None and region:  # a region's whole-year import replaces the region, not the country
        current = current.filter(pl.col("county_code").str.starts_with(region))
    report.removal = removal_check(year, current, frame, names, whole_year=replace_year)
    if report.needs_removal_confirmation:
        for change in report.removal.changes:
            report.add("warning", "—", shown["county_code"], f"{change.county_code} {change.county_name}",
                       t("removal_county_gone" if change.after == 0 else "removal_county_shrinks", lang,
                         name=change.county_name, code=change.county_code, before=change.before, after=change.after),
                       summary=t("removal_kind", lang))
    return frame, report


def _current_rows(data_dir: Path, year: int) -> pl.DataFrame | None:
    try:
        return pl.read_parquet(store.current_path(data_dir, year), columns=["county_code", "school_id"])
    except Exception:  # absent (a new year) or damaged: the import replaces it, nothing readable is lost
        return None


def _text(raw: pl.DataFrame, column: str) -> pl.Series:
    """A text column normalised (NFKC, trimmed, empty -> null)."""
    return raw.select(_normalised(column))[column]


def _number(raw: pl.DataFrame, column: str) -> tuple[pl.Series, pl.Series]:
    """(the column as normalised text, as a Float64 number or null). Most cells parse as they are; only those
    that do not (full-width digits, spaces, thousands separators) are normalised and parsed again."""
    text = raw[column]
    number = text.cast(pl.Float64, strict=False)
    retry = (number.is_null() & text.is_not_null()).arg_true()
    if retry.len():
        fixed = text.gather(retry).to_frame(column).select(_normalised(column))[column]
        text = text.scatter(retry, fixed)
        number = number.scatter(retry, fixed.str.replace_all(",", "").cast(pl.Float64, strict=False))
    return text, number


def _number_reason(c: dictionary.Column, number: pl.Expr, text: pl.Expr, lang: str) -> tuple[pl.Expr, pl.Expr]:
    """(the first problem of each cell as text, or null; the typed value, null where there is a problem)."""
    low = 0 if c.min is None else c.min
    high = c.max if c.max is not None else (INT32_MAX if c.type == "int" else float("inf"))
    finite = ~number.is_nan() & ~number.is_infinite()
    reason = (
        pl.when(text.is_not_null() & number.is_null()).then(pl.lit(t("err_not_number", lang)))
        .when(~finite).then(pl.lit(t("err_not_finite", lang)))
        .when(number < low).then(pl.lit(t("err_negative", lang) if low == 0 else
                                        t("err_below_min", lang, min=dictionary._number(low))))
        .when(number > high).then(pl.lit(t("err_above_max", lang, max=dictionary._number(high))))
    )
    if c.type == "int":
        reason = reason.when(number != number.round(0)).then(pl.lit(t("err_not_whole", lang)))
    ok = finite & (number >= low) & (number <= high)
    value = pl.when(ok).then(number.round(0) if c.type == "int" else number)
    return reason.otherwise(None), (value.cast(pl.Int32) if c.type == "int" else value).alias(c.name)


def _convert(raw: pl.DataFrame, shown: dict, year: int, report: Report, counties: pl.DataFrame, lang: str,
             region: str = ""):
    """Typed columns from text, reporting every value that cannot be converted or breaks a rule."""
    texts, numbers = {"_row": raw["_row"]}, {}
    for c in dictionary.columns():
        if c.name not in raw.columns:
            continue
        if c.type in ("int", "float"):
            texts[c.name], numbers[f"num:{c.name}"] = _number(raw, c.name)
        else:
            texts[c.name] = _text(raw, c.name)
    work = pl.DataFrame({**texts, **numbers})
    typed, reasons = [pl.col("_row")], []
    for c in dictionary.columns():
        if c.name not in raw.columns:
            typed.append(pl.lit(None, dtype=dictionary.POLARS_TYPES[c.type]).alias(c.name))
            continue
        text = pl.col(c.name)
        if c.required and c.name not in OPTIONAL:
            reasons.append((c.name, text.is_null(), t("err_empty", lang)))
        if c.type in ("int", "float"):
            reason, value = _number_reason(c, pl.col(f"num:{c.name}"), text, lang)
            reasons.append((c.name, reason, None))
            typed.append(value)
        elif c.type == "bool":
            lowered = text.str.to_lowercase()
            value = pl.when(lowered.is_in(YES)).then(True).when(lowered.is_in(NO)).then(False)
            typed.append(value.cast(pl.Boolean).alias(c.name))
            reasons.append((c.name, text.is_not_null() & value.is_null(), t("err_not_yes_no", lang)))
        else:
            typed.append(text)
    flags = work.select("_row", *[(test if why is None else pl.when(test).then(pl.lit(why))).alias(f"why{i}")
                                  for i, (_, test, why) in enumerate(reasons)])
    for i, (column, _, _) in enumerate(reasons):
        hits = flags.select("_row", pl.col(f"why{i}").alias("reason")).filter(pl.col("reason").is_not_null())
        if hits.is_empty():
            continue
        hits = hits.join(work.select("_row", pl.col(column).alias("value")), on="_row", how="left")
        for (why,), group in hits.group_by("reason", maintain_order=True):
            report.add_hits("error", shown[column], group.select("_row", "value"), why)
    frame = work.select(typed).with_columns(
        pl.col("school_type").replace_strict(SCHOOL_TYPE_NAMES, default=None, return_dtype=pl.String))
    both = frame.hstack(work.select(pl.exclude("_row", "^num:.*$")).rename(lambda c: f"text:{c}"))

    def check(column: str, mask: pl.Expr, reason: str) -> None:
        hits = both.filter(mask.fill_null(False)).select("_row", pl.col(f"text:{column}").alias("value"))
        report.add_hits("error", shown[column], hits, reason)

    ids = pl.col("school_id")
    check("school_id", ids.is_not_null() & ~ids.str.contains(r"^\d{10}$"), t("err_school_id", lang))
    check("school_id", ids.is_not_null() & ids.is_duplicated(), t("err_school_id_repeat", lang))
    check("county_code", pl.col("county_code").is_not_null()
          & ~pl.col("county_code").is_in(counties["county_code"].implode()), t("err_county_code", lang))
    if region:  # an account imports only the counties of its own region
        check("county_code", pl.col("county_code").is_in(counties["county_code"].implode())
              & ~pl.col("county_code").str.starts_with(region), t("err_county_outside_region", lang, region=region))
    check("urban_rural_code", pl.col("urban_rural_code").is_not_null()
          & ~pl.col("urban_rural_code").is_in(list(indicators.URBAN_RURAL_GROUPS)), t("err_urban_rural", lang))
    check("school_type", pl.col("text:school_type").is_not_null() & pl.col("school_type").is_null(),
          t("err_school_type", lang))
    if "year" in raw.columns:
        check("year", pl.col("year") != year, t("err_year", lang, year=year))
    classes = pl.col("primary_classes") + pl.col("junior_classes")
    check("classes_56_65", (pl.col("classes_56_65") + pl.col("classes_66_plus")) > classes,
          t("err_large_classes", lang))
    for column in PART_OF_TEACHERS:
        check(column, pl.col(column) > pl.col("teachers"), t("err_part_of_teachers", lang))
    students = pl.col("primary_students") + pl.col("junior_students")
    for column in PART_OF_STUDENTS:
        check(column, pl.col(column) > students, t("err_part_of_students", lang))
    if "standardized_year" in raw.columns:
        check("standardized_year", pl.col("standardized_year") > year, t("err_standardized_year", lang, year=year))
    return frame.with_columns(pl.lit(year, dtype=pl.Int32).alias("year")).select(
        "_row", *dictionary.polars_schema()).cast(dictionary.polars_schema())


def _warnings(frame: pl.DataFrame, shown: dict, year: int, data_dir: Path, report: Report, lang: str) -> None:
    students = pl.col("primary_students") + pl.col("junior_students")
    for column, ceiling in PLAUSIBLE_PER_STUDENT.items():
        hits = frame.filter((students > 0) & (pl.col(column) / students > ceiling)).select(
            "_row", pl.col(column).alias("value"))
        report.add_hits("warning", shown[column], hits, t("warn_implausible", lang, ceiling=ceiling))
    classes = pl.col("primary_classes") + pl.col("junior_classes")
    hits = frame.filter((classes > 0) & (students / classes > MAX_CLASS_SIZE)).select(
        "_row", pl.col("primary_students").alias("value"))
    report.add_hits("warning", shown["primary_students"], hits, t("warn_class_size", lang, size=MAX_CLASS_SIZE))
    if "lon" in shown and "lat" in shown:
        _coordinate_warnings(frame, shown, data_dir, report, lang)
    _missing_school_warnings(frame, shown, year, data_dir, report, lang)


def _missing_school_warnings(frame: pl.DataFrame, shown: dict, year: int, data_dir: Path, report: Report,
                             lang: str) -> None:
    """Schools of the file's counties present last year and absent now."""
    try:
        before = pl.read_parquet(store.current_path(data_dir, year - 1),
                                 columns=["school_id", "school_name", "county_code"])
    except Exception:  # absent or broken: a broken earlier year must not block a good import
        return
    # Only the counties this file covers: a county bureau's file says nothing of other counties.
    gone = before.filter(pl.col("county_code").is_in(frame["county_code"].unique().implode())).join(
        frame.select("school_id"), on="school_id", how="anti")
    why = t("warn_missing_school", lang, name="{name}", year=year - 1)
    hits = gone.select(pl.lit("—").alias("_row"), pl.col("school_id").alias("value"),
                       pl.format(why.replace("{name}", "{}"), pl.col("school_name").fill_null("")).alias("reason"))
    report.add_hits("warning", shown["school_id"], hits, t("warn_missing_school_kind", lang, year=year - 1))


def _coordinate_warnings(frame: pl.DataFrame, shown: dict, data_dir: Path, report: Report, lang: str) -> None:
    """Points more than about 2 km outside their county's outline (the outlines are simplified for display)."""
    import geopandas as gpd
    import numpy as np
    import shapely
    located = frame.filter(pl.col("lon").is_not_null() & pl.col("lat").is_not_null()).select(
        "_row", "county_code", "lon", "lat")
    if located.is_empty():
        return
    counties = gpd.read_parquet(Path(data_dir) / "boundaries" / "counties.parquet", columns=["county_code", "geometry"])
    counties = counties[counties["county_code"].isin(located["county_code"].unique().to_list())]
    position = {code: i for i, code in enumerate(counties["county_code"])}
    polygons = np.asarray(counties.geometry.values, dtype=object)
    shapely.prepare(polygons)
    index = located["county_code"].replace_strict(position, default=-1, return_dtype=pl.Int64).to_numpy()
    known = index >= 0
    x, y = located["lon"].to_numpy(), located["lat"].to_numpy()
    outside = np.zeros(located.height, dtype=bool)
    shapes = polygons[index[known]]
    inside = shapely.contains_xy(shapes, x[known], y[known])
    near = ~inside
    if near.any():  # only the points outside the outline: how far are they?
        points = shapely.points(x[known][near], y[known][near])
        inside[near] = shapely.distance(shapes[near], points) <= 0.02
    outside[known] = ~inside
    hits = located.filter(pl.Series(outside)).select(
        "_row", pl.format("{}, {}", "lon", "lat").alias("value"),
        pl.format(t("warn_outside_county", lang, county="{}"), "county_code").alias("reason"))
    report.add_hits("warning", f"{shown['lon']}, {shown['lat']}", hits,
                    t("warn_outside_county_kind", lang))


def upload_dir(data_dir: Path) -> Path:
    """The private folder uploads are stored in while they are checked and imported (owner-only)."""
    folder = Path(data_dir) / UPLOAD_DIR
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o700)
    return folder


def sweep_uploads(data_dir: Path, max_age_s: float = UPLOAD_MAX_AGE_S) -> int:
    """Delete stored uploads older than max_age_s (left by a crash or a closed browser). Returns how many."""
    folder = Path(data_dir) / UPLOAD_DIR
    if not folder.is_dir():
        return 0
    cutoff, removed = time.time() - max_age_s, 0
    for path in folder.iterdir():
        try:
            if path.is_file() and path.stat().st_mtime < cutoff:
                path.unlink()
                removed += 1
        except OSError:  # another process removed it first
            continue
    return removed


@contextmanager
def stored_upload(data_dir: Path, name: str, content: bytes):
    """The uploaded bytes as a file under a random name in the upload folder, deleted on leaving.

    The user's file name is never part of the path: only its suffix (.xlsx / .csv) is kept, so the reader
    knows the format. Uploads older than a day are swept first.
    """
    sweep_uploads(data_dir)
    suffix = Path(name).suffix.lower()
    path = upload_dir(data_dir) / f"{secrets.token_hex(16)}{suffix if suffix in ('.xlsx', '.csv') else '.upload'}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(content)
        yield path
    finally:
        path.unlink(missing_ok=True)


def import_file(path: Path, year: int, data_dir: Path, lang: str = "zh", dry_run: bool = False,
                lock_timeout: float = store.LOCK_WAIT_S, allow_removal: bool | Removal = False,
                source: str | None = None, region: str = "", replace_year: bool = False) -> tuple[Report, str | None]:
    """Validate and (unless dry_run or there are errors) store path as the current snapshot of year.

    All or nothing: with any error nothing is written. An import that would remove counties or most schools
    (report.needs_removal_confirmation) writes nothing unless allow_removal is True, or is the Removal the user
    confirmed and the removal is still exactly that. source: the file's name as the user knows it.
    The file replaces the rows of the counties it contains and leaves every other county of the year as it
    was; replace_year: it replaces the whole year within region (the importing account's region; '' all).
    Returns (report, version id or None).
    """
    path = Path(path)
    try:
        with store.lock(data_dir, timeout=lock_timeout):
            store.read_manifest(data_dir, lang)  # a damaged manifest stops the import before anything is done
            frame, report = validate(path, year, data_dir, lang, name=source, region=region,
                                     replace_year=replace_year)
            if frame is None or dry_run:
                return report, None
            if report.needs_removal_confirmation and not (allow_removal is True or allow_removal == report.removal):
                return report, None
            version = store.write_version(data_dir, year, frame.drop("_row"), source=source or path.name,
                                          synthetic=False, checksum=store.file_checksum(path), held_lock=True,
                                          lang=lang, counties=not replace_year, region=region)
            return report, version
    except store.Timeout:
        raise store.StoreError(store.busy_message(data_dir, lang)) from None


EXAMPLE_ROWS = [  # three plausible schools of 临朐县 for the template
    {"school_id": "3707240101", "school_name": "临朐县城关街道第一小学", "county_code": "370724",
     "township": "城关街道", "urban_rural_code": "111", "school_type": "小学", "parent_school_id": None,
     "is_public": "是", "is_boarding": "否", "lon": 118.54, "lat": 36.51, "primary_students": 1850,
     "junior_students": 0,
     "primary_classes": 40, "junior_classes": 0, "classes_56_65": 2, "classes_66_plus": 0, "teachers": 102,
     "teachers_above_degree": 96, "teachers_senior_title": 48, "backbone_teachers": 22, "pe_arts_teachers": 18,
     "psych_teachers": 3, "building_area_m2": 9800.0, "sports_area_m2": 12600.0, "equipment_value_cny": 4_300_000.0,
     "computers": 260, "books": 61000, "multimedia_rooms": 42, "left_behind_students": 35, "migrant_students": 310,
     "boarding_students": 0, "standardized_year": 2012},
    {"school_id": "3707240102", "school_name": "临朐县柳山镇中心小学", "county_code": "370724", "township": "柳山镇",
     "urban_rural_code": "121", "school_type": "九年一贯制学校", "parent_school_id": None, "is_public": "是",
     "is_boarding": "是", "lon": 118.42, "lat": 36.43, "primary_students": 620, "junior_students": 380,
     "primary_classes": 14, "junior_classes": 8, "classes_56_65": 0, "classes_66_plus": 0, "teachers": 78,
     "teachers_above_degree": 70, "teachers_senior_title": 33, "backbone_teachers": 12, "pe_arts_teachers": 10,
     "psych_teachers": 1, "building_area_m2": 6900.0, "sports_area_m2": 9800.0, "equipment_value_cny": 2_500_000.0,
     "computers": 130, "books": 36000, "multimedia_rooms": 22, "left_behind_students": 96, "migrant_students": 12,
     "boarding_students": 260, "standardized_year": 2016},
    {"school_id": "3707240103", "school_name": "临朐县柳山镇王家庄教学点", "county_code": "370724",
     "township": "柳山镇", "urban_rural_code": "220", "school_type": "教学点", "parent_school_id": "3707240102",
     "is_public": "是", "is_boarding": "否", "lon": 118.39, "lat": 36.40, "primary_students": 38,
     "junior_students": 0, "primary_classes": 3, "junior_classes": 0, "classes_56_65": 0, "classes_66_plus": 0,
     "teachers": 4, "teachers_above_degree": 3, "teachers_senior_title": 1, "backbone_teachers": 0,
     "pe_arts_teachers": 1, "psych_teachers": 0, "building_area_m2": 320.0, "sports_area_m2": 600.0,
     "equipment_value_cny": 60_000.0, "computers": 6, "books": 1500, "multimedia_rooms": 3,
     "left_behind_students": 4, "migrant_students": 0, "boarding_students": 0, "standardized_year": None},
]


def versions_table(versions: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The stored versions, labelled for the data management page."""
    return versions.select(
        pl.col("year").alias(t("year", lang)),
        pl.when(pl.col("is_current")).then(pl.lit("●")).otherwise(pl.lit("")).alias(t("current_version", lang)),
        pl.col("id").alias(t("version", lang)),
        pl.col("source").alias(t("source", lang)),
        pl.col("rows").alias(t("rows", lang)),
        pl.when(pl.col("synthetic")).then(pl.lit(t("synthetic", lang))).otherwise(pl.lit(t("imported", lang)))
        .alias(t("data_kind", lang)),
        pl.col("kind").replace_strict({k: t(f"version_kind_{k}", lang) for k in ("year", "counties", "undo")},
                                      default="—").alias(t("version_kind", lang)),
        pl.when(pl.col("counties").str.len_chars() > 60).then(pl.col("counties").str.slice(0, 60) + pl.lit("…"))
        .otherwise(pl.col("counties")).alias(t("version_counties", lang)),
        pl.when(pl.col("undone")).then(pl.lit(t("version_undone", lang))).otherwise(pl.lit("")).alias(
            t("version_undone", lang)),
        pl.col("written_at").alias(t("written_at", lang)),
        pl.col("checksum").str.slice(0, 16).alias(t("checksum", lang)),
    )


def version_label(versions: pl.DataFrame, version: str, lang: str) -> str:
    row = versions.filter(pl.col("id") == version).row(0, named=True)
    current = f" · {t('current_version', lang)}" if row["is_current"] else ""
    return f"{row['written_at']} · {row['source']} · {row['rows']} {t('rows', lang)}{current}"

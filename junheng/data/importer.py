"""Import a bureau's school table (.xlsx / .csv): read, normalise, validate, and store all or nothing.

The report names each problem as the user sees it: spreadsheet row (header = row 1), the column's
header as written in the file, the value, and the reason in the chosen language.
"""
from __future__ import annotations

import csv
import io
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

import polars as pl

from junheng.data import dictionary, store
from junheng.rules import indicators
from junheng.i18n import t

SCHOOL_TYPE_NAMES = {  # accepted spellings (after NFKC) -> data-model value
    "primary": "primary", "小学": "primary", "普通小学": "primary",
    "junior": "junior", "初中": "junior", "初级中学": "junior",
    "nine_year": "nine_year", "九年一贯制学校": "nine_year", "九年一贯制": "nine_year",
    "twelve_year": "twelve_year", "十二年一贯制学校": "twelve_year", "十二年一贯制": "twelve_year",
    "complete_secondary": "complete_secondary", "完全中学": "complete_secondary",
    "teaching_point": "teaching_point", "教学点": "teaching_point", "小学教学点": "teaching_point",
}
YES = {"是", "1", "true", "yes", "y", "t", "√"}
NO = {"否", "0", "false", "no", "n", "f", "×"}
OPTIONAL = {"year", "parent_school_id", "lon", "lat", "standardized_year", "township"}
PART_OF_TEACHERS = ("teachers_above_degree", "teachers_senior_title", "backbone_teachers", "pe_arts_teachers",
                    "psych_teachers")
PART_OF_STUDENTS = ("left_behind_students", "boarding_students", "migrant_students")
# Values far outside the plausible range: warnings, not errors (column -> per-student ceiling).
PLAUSIBLE_PER_STUDENT = {"building_area_m2": 100.0, "sports_area_m2": 200.0, "equipment_value_cny": 100_000.0,
                         "computers": 5.0, "books": 500.0}
MAX_CLASS_SIZE = 120


@dataclass
class Report:
    problems: list[dict] = field(default_factory=list)  # row, column, value, reason, level

    def add(self, level: str, row, column: str, value, reason: str) -> None:
        self.problems.append({"level": level, "row": row, "column": column,
                              "value": "" if value is None else str(value), "reason": reason})

    @property
    def errors(self) -> list[dict]:
        return [p for p in self.problems if p["level"] == "error"]

    @property
    def warnings(self) -> list[dict]:
        return [p for p in self.problems if p["level"] == "warning"]

    def frame(self, lang: str) -> pl.DataFrame:
        """The report as a table with headers in lang (for the page and the Excel download)."""
        schema = {"level": pl.String, "row": pl.String, "column": pl.String, "value": pl.String, "reason": pl.String}
        rows = [{**p, "row": str(p["row"]), "level": t(f"level_{p['level']}", lang)} for p in self.problems]
        return pl.DataFrame(rows, schema=schema).rename({k: t(f"report_{k}", lang) for k in schema})

    def text(self, lang: str) -> str:
        lines = [f"{t('level_' + p['level'], lang)}: {t('report_row', lang)} {p['row']} · {p['column']} · "
                 f"「{p['value']}」 · {p['reason']}" for p in self.problems]
        lines.append(t("report_summary", lang, errors=len(self.errors), warnings=len(self.warnings)))
        return "\n".join(lines)


class UnreadableFile(ValueError):
    """The file cannot be read at all (wrong format, unreadable encoding, no header)."""


def normalise(text) -> str | None:
    """NFKC (full-width letters, digits and spaces to half-width), trimmed; empty -> None."""
    if text is None:
        return None
    value = unicodedata.normalize("NFKC", str(text)).strip()
    return value or None


def read_table(path: Path, lang: str = "zh") -> list[list[str | None]]:
    """All cells of the first sheet (or the CSV) as normalised text, header row first."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        import openpyxl
        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as e:  # openpyxl raises many kinds for a broken or mislabelled file
            raise UnreadableFile(t("err_unreadable_xlsx", lang, path=path.name, detail=type(e).__name__)) from None
        sheet = book.worksheets[0]
        rows = [[_cell(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        book.close()
    elif suffix == ".csv":
        raw = path.read_bytes()
        text = _decode(raw, path.name, lang)
        rows = [[normalise(v) for v in row] for row in csv.reader(io.StringIO(text))]
    else:
        raise UnreadableFile(t("err_file_type", lang, path=path.name))
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows or not any(rows[0]):
        raise UnreadableFile(t("err_no_header", lang, path=path.name))
    return rows


def _cell(value) -> str | None:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return normalise(value)


def _decode(raw: bytes, name: str, lang: str) -> str:
    """UTF-8 (with or without BOM) first; else GB18030 (a superset of GBK) when it decodes; else detected."""
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes
    best = from_bytes(raw).best()
    if best is None:
        raise UnreadableFile(t("err_encoding", lang, path=name))
    return str(best)


def header_map() -> dict[str, str]:
    """Accepted header (normalised) -> column name: the English name or the Chinese label."""
    out = {}
    for c in dictionary.columns():
        out[normalise(c.name).lower()] = c.name
        out[normalise(c.zh)] = c.name
    return out


def validate(path: Path, year: int, data_dir: Path, lang: str = "zh") -> tuple[pl.DataFrame | None, Report]:
    """Read and check a file for year. Returns (clean frame or None when there are errors, report)."""
    report = Report()
    rows = read_table(path, lang)
    headers = rows[0]
    known = header_map()
    columns: dict[str, int] = {}
    shown: dict[str, str] = {}  # column name -> header as written in the file
    for i, header in enumerate(headers):
        if header is None:
            continue
        name = known.get(header.lower()) or known.get(header)
        if name is None:
            report.add("warning", 1, header, header, t("warn_unknown_column", lang))
        elif name in columns:
            report.add("error", 1, header, header, t("err_duplicate_column", lang, first=shown[name]))
        else:
            columns[name] = i
            shown[name] = header
    missing = [c for c in dictionary.columns() if c.name not in columns and c.name not in OPTIONAL]
    for c in missing:
        report.add("error", 1, f"{c.zh} / {c.name}", "", t("err_missing_column", lang))
    if missing:
        return None, report

    body = rows[1:]
    raw = pl.DataFrame({name: [r[i] if i < len(r) else None for r in body] for name, i in columns.items()},
                       schema={name: pl.String for name in columns}).with_row_index("_row", offset=2)
    frame = _convert(raw, shown, year, report, data_dir, lang)
    if frame is None or report.errors:
        return None, report
    _warnings(frame, raw, shown, year, data_dir, report, lang)
    return frame, report


def _convert(raw: pl.DataFrame, shown: dict, year: int, report: Report, data_dir: Path, lang: str):
    """Typed columns from text, reporting every value that cannot be converted or breaks a rule."""
    out = {"_row": raw["_row"]}
    rows = raw["_row"].to_list()

    def bad(column: str, mask, values, reason: str) -> None:
        for r, v, m in zip(rows, values, mask):
            if m:
                report.add("error", r, shown[column], v, reason)

    for c in dictionary.columns():
        if c.name not in raw.columns:
            out[c.name] = pl.Series(c.name, [None] * raw.height, dtype=dictionary.POLARS_TYPES[c.type])
            continue
        text = raw[c.name]
        empty = text.is_null()
        if c.required and c.name not in OPTIONAL:
            bad(c.name, empty, text, t("err_empty", lang))
        if c.type in ("int", "float"):
            number = text.str.replace_all(",", "").cast(pl.Float64, strict=False)
            bad(c.name, ~empty & number.is_null(), text, t("err_not_number", lang))
            if c.name not in ("lon", "lat"):
                bad(c.name, number < 0, text, t("err_negative", lang))
            if c.type == "int":
                bad(c.name, number.is_not_null() & (number != number.round(0)), text, t("err_not_whole", lang))
                out[c.name] = number.round(0).cast(pl.Int32, strict=False)
            else:
                out[c.name] = number
        elif c.type == "bool":
            lowered = text.str.to_lowercase()
            out[c.name] = pl.Series(c.name, [True if v in YES else False if v in NO else None for v in lowered],
                                    dtype=pl.Boolean)
            bad(c.name, ~empty & out[c.name].is_null(), text, t("err_not_yes_no", lang))
        else:
            out[c.name] = text
    frame = pl.DataFrame(out)

    def check(column: str, mask: pl.Series, reason: str) -> None:
        bad(column, mask.fill_null(False), raw[column], reason)

    ids = frame["school_id"]
    check("school_id", ids.is_not_null() & ~ids.str.contains(r"^\d{10}$"), t("err_school_id", lang))
    check("school_id", ids.is_not_null() & ids.is_duplicated(), t("err_school_id_repeat", lang))
    counties = set(pl.read_parquet(Path(data_dir) / "boundaries" / "counties.parquet",
                                   columns=["county_code"])["county_code"])
    check("county_code", frame["county_code"].is_not_null() & ~frame["county_code"].is_in(list(counties)),
          t("err_county_code", lang))
    check("urban_rural_code", frame["urban_rural_code"].is_not_null()
          & ~frame["urban_rural_code"].is_in(list(indicators.URBAN_RURAL_GROUPS)), t("err_urban_rural", lang))
    types = pl.Series([SCHOOL_TYPE_NAMES.get(v) if v else None for v in frame["school_type"].to_list()],
                      dtype=pl.String)
    check("school_type", frame["school_type"].is_not_null() & types.is_null(), t("err_school_type", lang))
    frame = frame.with_columns(types.alias("school_type"))
    if "year" in raw.columns:
        check("year", frame["year"].is_not_null() & (frame["year"] != year), t("err_year", lang, year=year))
    classes = frame["primary_classes"] + frame["junior_classes"]
    check("classes_56_65", (frame["classes_56_65"] + frame["classes_66_plus"]) > classes,
          t("err_large_classes", lang))
    for column in PART_OF_TEACHERS:
        check(column, frame[column] > frame["teachers"], t("err_part_of_teachers", lang))
    students = frame["primary_students"] + frame["junior_students"]
    for column in PART_OF_STUDENTS:
        check(column, frame[column] > students, t("err_part_of_students", lang))
    if "standardized_year" in raw.columns:
        check("standardized_year", frame["standardized_year"] > year, t("err_standardized_year", lang, year=year))
    return frame.with_columns(pl.lit(year, dtype=pl.Int32).alias("year")).select(
        "_row", *dictionary.polars_schema()).cast(dictionary.polars_schema())


def _warnings(frame: pl.DataFrame, raw: pl.DataFrame, shown: dict, year: int, data_dir: Path, report: Report,
              lang: str) -> None:
    students = pl.col("primary_students") + pl.col("junior_students")
    for column, ceiling in PLAUSIBLE_PER_STUDENT.items():
        for r, v in frame.filter((students > 0) & (pl.col(column) / students > ceiling)).select(
                "_row", column).iter_rows():
            report.add("warning", r, shown[column], v, t("warn_implausible", lang, ceiling=ceiling))
    classes = pl.col("primary_classes") + pl.col("junior_classes")
    for r, v in frame.filter((classes > 0) & (students / classes > MAX_CLASS_SIZE)).select(
            "_row", "primary_students").iter_rows():
        report.add("warning", r, shown["primary_students"], v, t("warn_class_size", lang, size=MAX_CLASS_SIZE))
    if "lon" in shown and "lat" in shown:
        _coordinate_warnings(frame, shown, data_dir, report, lang)
    _missing_school_warnings(frame, shown, year, data_dir, report, lang)


def _missing_school_warnings(frame: pl.DataFrame, shown: dict, year: int, data_dir: Path, report: Report,
                             lang: str) -> None:
    """Schools of the file's counties present last year and absent now."""
    previous = store.current_path(data_dir, year - 1)
    try:
        before = pl.read_parquet(previous, columns=["school_id", "school_name", "county_code"])
    except Exception:  # absent or broken: a broken earlier year must not block a good import
        return
    # Only the counties this file covers: a county bureau's file says nothing of other counties.
    before = before.filter(pl.col("county_code").is_in(frame["county_code"].unique().to_list()))
    gone = before.filter(~pl.col("school_id").is_in(frame["school_id"].to_list()))
    for sid, name, _ in gone.iter_rows():
        report.add("warning", "—", shown["school_id"], sid, t("warn_missing_school", lang, name=name, year=year - 1))


def _coordinate_warnings(frame: pl.DataFrame, shown: dict, data_dir: Path, report: Report, lang: str) -> None:
    import geopandas as gpd
    import shapely
    located = frame.filter(pl.col("lon").is_not_null() & pl.col("lat").is_not_null())
    if located.is_empty():
        return
    counties = gpd.read_parquet(Path(data_dir) / "boundaries" / "counties.parquet", columns=["county_code", "geometry"])
    polygons = dict(zip(counties["county_code"], counties.geometry))
    points = shapely.points(located["lon"].to_numpy(), located["lat"].to_numpy())
    for (r, code, lon, lat), point in zip(located.select("_row", "county_code", "lon", "lat").iter_rows(), points):
        polygon = polygons.get(code)
        # The boundaries are simplified for display: allow about 2 km before warning.
        if polygon is not None and not polygon.buffer(0.02).contains(point):
            report.add("warning", r, f"{shown['lon']}, {shown['lat']}", f"{lon}, {lat}",
                       t("warn_outside_county", lang, county=code))


def import_file(path: Path, year: int, data_dir: Path, lang: str = "zh", dry_run: bool = False,
                lock_timeout: float = store.LOCK_WAIT_S) -> tuple[Report, str | None]:
    """Validate and (unless dry_run or there are errors) store path as the current snapshot of year.

    All or nothing: with any error nothing is written. Returns (report, version id or None).
    """
    path = Path(path)
    try:
        with store.lock(data_dir, timeout=lock_timeout):
            frame, report = validate(path, year, data_dir, lang)
            if frame is None or dry_run:
                return report, None
            version = store.write_version(data_dir, year, frame.drop("_row"), source=path.name, synthetic=False,
                                          checksum=store.file_checksum(path), held_lock=True)
            return report, version
    except store.Timeout:
        raise store.StoreError(store.busy_message(data_dir)) from None


EXAMPLE_ROWS = [  # three plausible schools of 临朐县 for the template
    {"school_id": "3707240101", "school_name": "临朐县城关街道第一小学", "county_code": "370724", "township": "城关街道",
     "urban_rural_code": "111", "school_type": "小学", "parent_school_id": None, "is_public": "是",
     "is_boarding": "否", "lon": 118.54, "lat": 36.51, "primary_students": 1850, "junior_students": 0,
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


def template_bytes(lang: str = "zh") -> bytes:
    """The import template: a data sheet (header row + examples) and the data dictionary sheet."""
    from junheng.reports import exports
    cols = [c for c in dictionary.columns() if c.name != "year"]
    header = [c.zh if lang == "zh" else c.name for c in cols]
    data = pl.DataFrame([[row.get(c.name) for c in cols] for row in EXAMPLE_ROWS], schema=header, orient="row",
                        infer_schema_length=None)
    guide = pl.DataFrame([{
        t("dict_header", lang): c.zh if lang == "zh" else c.name, t("dict_name", lang): c.name,
        t("dict_zh", lang): c.zh, t("dict_meaning", lang): c.en, t("dict_type", lang): c.type,
        t("dict_unit", lang): c.unit, t("dict_allowed", lang): c.allowed,
        t("dict_required", lang): t("yes", lang) if c.required and c.name not in OPTIONAL else t("no", lang),
    } for c in cols])
    return exports.xlsx_bytes({t("sheet_data", lang): data, t("sheet_dictionary", lang): guide})


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
        pl.col("written_at").alias(t("written_at", lang)),
        pl.col("checksum").str.slice(0, 16).alias(t("checksum", lang)),
    )


def version_label(versions: pl.DataFrame, version: str, lang: str) -> str:
    row = versions.filter(pl.col("id") == version).row(0, named=True)
    current = f" · {t('current_version', lang)}" if row["is_current"] else ""
    return f"{row['written_at']} · {row['source']} · {row['rows']} {t('rows', lang)}{current}"

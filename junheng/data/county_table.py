"""The county self-assessment table: what school rows cannot show, one value per county, item and year.

Long format, one row per county and item: county_code, item, value (shares as 0–1 or "85%", yes/no items as
是/否). Items are the keys of junheng/rules/county_items.toml. Read and checked like the school table (row,
column, value and reason in the user's language; any error writes nothing); every import is a version.
An import replaces the rows of the counties it contains and keeps the other counties' rows.

Layout under the data directory:
  county_items/year=YYYY/part-0.parquet           the current version of each year
  county_items/versions/year=YYYY/<version>.parquet
  county_items/manifest.json                      per year: current version and every version
  county_items/manifest.json.bak, county_items/.pending.json
Stored on the school snapshots' crash-safe protocol and lock (junheng/data/store.py, the table
store.COUNTY_ITEMS): version file, pending note, manifest backup, manifest (the commit point), current file;
store.recover finishes an interrupted write. Read only through the scoped query layer (queries/county_items.sql
over the view `county_items`): a guest sees no imported item at all.
"""
from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

from junheng.data import db, importer, store
from junheng.i18n import t
from junheng.rules import verdicts
from junheng.settings import PACKAGE_DIR

TABLE = store.COUNTY_ITEMS
FOLDER = TABLE.folder  # "county_items"
SCHEMA = {"county_code": pl.String, "item": pl.String, "value": pl.Float64}
HEADERS = {  # column -> accepted headers (after NFKC); item_name is for people and ignored
    "county_code": ("county_code", "县级行政区划代码", "县代码"),
    "item": ("item", "评估项目", "项目代码"),
    "value": ("value", "值", "评估值"),
    "item_name": ("item_name", "项目名称"),
}
SAMPLE = PACKAGE_DIR / "data" / "samples" / "county_self_assessment_2025.csv"


def current_path(data_dir: Path, year: int) -> Path:
    return TABLE.current_path(data_dir, year)


def read(con: duckdb.DuckDBPyConnection, scope, year: int) -> pl.DataFrame:
    """The self-assessment items of year inside scope (county_code, item, value), through the scoped query layer:
    a guest's scope holds none (imported items are never synthetic)."""
    return db.run(con, "county_items", scope, year=year).select(list(SCHEMA)).cast(SCHEMA)


def _current(data_dir: Path, year: int, manifest: dict | None = None) -> pl.DataFrame:
    """Every county's current rows of year, unscoped: for the store's own writes and checks, never for a reader."""
    if manifest is not None and str(year) not in manifest["years"]:
        return pl.DataFrame(schema=SCHEMA)
    path = current_path(data_dir, year)
    if not path.exists():
        return pl.DataFrame(schema=SCHEMA)
    return pl.read_parquet(path).select(list(SCHEMA)).cast(SCHEMA)


def _header_map() -> dict[str, str]:
    return {importer.normalise(h).lower(): column for column, names in HEADERS.items() for h in names}


def _parse(kind: str, text: pl.Expr) -> pl.Expr:
    """Text -> number for an item kind: shares 0–1 or "85%", 是/否 -> 1/0, numbers and counts as written."""
    plain = text.str.replace_all(",", "").str.strip_chars()
    if kind == "share":
        percent = plain.str.ends_with("%")
        number = plain.str.strip_suffix("%").str.strip_chars().cast(pl.Float64, strict=False)
        return pl.when(percent).then(number / 100).otherwise(number)
    if kind == "yes_no":
        lowered = plain.str.to_lowercase()
        return (pl.when(lowered.is_in(list(importer.YES))).then(1.0)
                .when(lowered.is_in(list(importer.NO))).then(0.0))
    return plain.cast(pl.Float64, strict=False)


def validate(path: Path, year: int, data_dir: Path, lang: str = "zh", name: str | None = None, region: str = ""
             ) -> tuple[pl.DataFrame | None, importer.Report]:
    """Read and check a county self-assessment file. Returns (clean rows or None when there are errors, report).

    name: the file's name as the user knows it (for messages), when path is a stored upload.
    region: the importing account's region ('' the whole country); a row of a county outside it is an error.
    """
    report = importer.Report()
    table, first_row = importer.read_table(path, lang, name)
    known = _header_map()
    columns: dict[str, str] = {}  # column -> c<i> in table
    shown: dict[str, str] = {}    # column -> header as written in the file
    for i, header in enumerate(importer.normalise(v) for v in table.row(0)):
        if header is None:
            continue
        column = known.get(header.lower())
        if column is None:
            report.add("warning", first_row, header, header, t("warn_unknown_column", lang))
        elif column in columns:
            report.add("error", first_row, header, header, t("err_duplicate_column", lang, first=shown[column]))
        else:
            columns[column], shown[column] = f"c{i}", header
    missing = [c for c in SCHEMA if c not in columns]
    for c in missing:
        report.add("error", first_row, f"{HEADERS[c][1]} / {c}", "", t("err_missing_column", lang))
    if missing or report.error_count:
        return None, report
    raw = table.slice(1).with_row_index("_row", offset=first_row + 1).select(
        pl.col("_row").cast(pl.Int64), *[_normalised(src).alias(c) for c, src in columns.items() if c in SCHEMA]
    ).filter(pl.any_horizontal(pl.col(c).is_not_null() for c in SCHEMA))
    if raw.is_empty():
        report.add("error", first_row + 1, shown["county_code"], "", t("ct_err_no_rows", lang))
        return None, report
    frame = _check(raw, shown, data_dir, report, lang, region)
    if frame is not None and frame.is_empty():
        report.add("error", first_row + 1, shown["value"], "", t("ct_err_no_values", lang))
    if frame is not None and not report.error_count:
        _replacement_warnings(frame, year, data_dir, shown, report, lang)
    report.problems.sort(key=lambda p: p["row"] if isinstance(p["row"], int) else 1 << 62)
    return (None if report.error_count else frame), report


def _normalised(column: str) -> pl.Expr:
    """NFKC (full-width to half-width), trimmed, empty -> null: the school table's rule, column-wise."""
    text = pl.col(column).str.normalize("NFKC").str.strip_chars()
    return pl.when(text == "").then(None).otherwise(text)


def _check(raw: pl.DataFrame, shown: dict, data_dir: Path, report: importer.Report, lang: str, region: str = ""):
    """Typed rows from text, reporting every unknown county or item, bad value and repeated pair."""
    def bad(frame: pl.DataFrame, mask: pl.Expr, column: str, reason: str) -> None:
        hits = frame.filter(mask.fill_null(False)).select("_row", pl.col(column).alias("value"))
        report.add_hits("error", shown[column], hits, reason)

    registry = pl.DataFrame([{"key": i.key, "zh": i.zh, "kind": i.kind, "open": i.self_assessable}
                             for i in verdicts.items()])
    keyed = raw.with_columns(pl.col("item").replace(dict(zip(registry["zh"], registry["key"]))).alias("key")).join(
        registry.select("key", "kind", "open"), on="key", how="left", maintain_order="left")
    counties = pl.read_parquet(Path(data_dir) / "boundaries" / "counties.parquet", columns=["county_code"])
    bad(keyed, pl.col("county_code").is_null(), "county_code", t("err_empty", lang))
    bad(keyed, pl.col("county_code").is_not_null() & ~pl.col("county_code").is_in(counties["county_code"].implode()),
        "county_code", t("err_county_code", lang))
    if region:  # an account imports only the counties of its own region (the school importer's rule)
        bad(keyed, pl.col("county_code").is_in(counties["county_code"].implode())
            & ~pl.col("county_code").str.starts_with(region), "county_code",
            t("err_county_outside_region", lang, region=region))
    bad(keyed, pl.col("item").is_null(), "item", t("err_empty", lang))
    bad(keyed, pl.col("item").is_not_null() & pl.col("kind").is_null(), "item", t("ct_err_unknown_item", lang))
    bad(keyed, ~pl.col("open"), "item", t("ct_err_computed_item", lang))
    for r, v in keyed.filter(pl.col("value").is_null() & pl.col("open").fill_null(False)).select(
            "_row", "item").iter_rows():
        report.add("warning", r, shown["value"], "", t("ct_warn_empty_value", lang, item=v),
                   summary=t("ct_warn_empty_value", lang, item="…"))
    parsed = pl.concat([keyed.filter(pl.col("kind") == kind).with_columns(_parse(kind, pl.col("value")).alias("number"))
                        for kind in ("share", "yes_no", "number", "count", "year")],
                       how="vertical_relaxed").sort("_row")
    given = pl.col("value").is_not_null() & pl.col("open")
    reasons = {"share": "ct_err_share", "yes_no": "err_not_yes_no", "number": "err_not_number",
               "count": "err_not_whole", "year": "err_not_whole"}
    for kind, reason in reasons.items():
        bad(parsed, given & (pl.col("kind") == kind) & pl.col("number").is_null(), "value", t(reason, lang))
    finite = pl.col("number").is_not_null() & pl.col("number").is_finite()
    bad(parsed, given & pl.col("number").is_not_null() & ~pl.col("number").is_finite(), "value",
        t("err_not_number", lang))
    bad(parsed, given & finite & (pl.col("number") < 0), "value", t("err_negative", lang))
    bad(parsed, given & finite & (pl.col("kind") == "share") & (pl.col("number") > 1), "value", t("ct_err_share", lang))
    bad(parsed, given & finite & pl.col("kind").is_in(["count", "year"])
        & (pl.col("number") != pl.col("number").round(0)), "value", t("err_not_whole", lang))
    pairs = parsed.filter(pl.col("value").is_not_null())
    first = pairs.group_by("county_code", "key").agg(pl.col("_row").min().alias("first"))
    repeated = pairs.join(first, on=["county_code", "key"]).filter(pl.col("_row") > pl.col("first")).sort("_row")
    for r, v, f in repeated.select("_row", "item", "first").iter_rows():
        report.add("error", r, shown["item"], v, t("ct_err_repeated", lang, first=f),
                   summary=t("ct_err_repeated", lang, first="…"))
    if report.error_count:
        return None
    return pairs.select("county_code", pl.col("key").alias("item"), pl.col("number").alias("value")).cast(SCHEMA)


def _replacement_warnings(frame: pl.DataFrame, year: int, data_dir: Path, shown: dict, report: importer.Report,
                          lang: str) -> None:
    """Say which counties' earlier self-assessment of the year this file replaces."""
    before = _current(data_dir, year)
    for code, n in before.filter(pl.col("county_code").is_in(frame["county_code"].unique().implode())).group_by(
            "county_code").len().sort("county_code").iter_rows():
        report.add("warning", "—", shown["county_code"], code, t("ct_warn_replaces", lang, year=year, items=n),
                   summary=t("ct_warn_replaces", lang, year=year, items="…"))


def import_file(path: Path, year: int, data_dir: Path, lang: str = "zh", dry_run: bool = False,
                source: str | None = None, region: str = "") -> tuple[importer.Report, str | None]:
    """Validate and (unless dry_run or there are errors) store the file's counties as a new version of year.

    The file's counties replace their own rows; other counties keep theirs. source: the file's name as the user
    knows it. region: the importing account's region; a row outside it is an error, so nothing is written.
    Returns (report, version or None); touched_counties names the counties a version wrote. Not audited here
    (junheng/commands/ audits).
    """
    path, data_dir = Path(path), Path(data_dir)
    try:
        with store.lock(data_dir):
            # a damaged manifest stops the import before anything is done (the message in both languages)
            manifest = store.manifest_for_write(data_dir, TABLE)
            frame, report = validate(path, year, data_dir, lang, name=source, region=region)
            if frame is None or dry_run:
                return report, None
            touched = sorted(frame["county_code"].unique().to_list())
            kept = _current(data_dir, year, manifest).filter(~pl.col("county_code").is_in(touched))
            merged = pl.concat([kept, frame]).sort("county_code", "item")
            entry = {"kind": "import", "source": source or path.name, "checksum": store.file_checksum(path),
                     "rows": merged.height, "county_count": merged["county_code"].n_unique(),
                     "counties_touched": touched, "base": manifest["years"].get(str(year), {}).get("current")}
            return report, store.write_table_version(data_dir, TABLE, year, manifest, merged, entry, lang)
    except store.Timeout:
        raise store.StoreError(store.busy_message(data_dir, lang)) from None


def validate_upload(name: str, content: bytes, year: int, data_dir: Path, lang: str, region: str = ""
                    ) -> tuple[importer.Report | None, str | None]:
    """(report, unreadable-file message) for an uploaded file, stored privately only while it is read."""
    try:
        with importer.stored_upload(Path(data_dir), name, content) as stored:
            return validate(stored, year, Path(data_dir), lang, name=name, region=region)[1], None
    except importer.UnreadableFile as e:
        return None, str(e)


def import_upload(name: str, content: bytes, year: int, data_dir: Path, lang: str, region: str = ""
                  ) -> tuple[importer.Report, str | None]:
    """Store an uploaded file's counties as a new version of year (all or nothing); (report, version or None)."""
    with importer.stored_upload(Path(data_dir), name, content) as stored:
        return import_file(stored, year, Path(data_dir), lang, source=name, region=region)


def versions_table(versions_frame: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The stored self-assessment versions, labelled for the data management page."""
    return versions_frame.select(
        pl.col("year").alias(t("year", lang)),
        pl.when(pl.col("is_current")).then(pl.lit("●")).otherwise(pl.lit("")).alias(t("current_version", lang)),
        pl.col("id").alias(t("version", lang)),
        pl.col("source").alias(t("source", lang)),
        pl.col("rows").alias(t("rows", lang)),
        pl.col("county_count").alias(t("ct_col_counties", lang)),
        pl.col("written_at").alias(t("written_at", lang)),
    )


def read_manifest(data_dir: Path, lang: str | None = None) -> dict:
    """The self-assessment manifest, checked: a damaged one raises store.ManifestError (both languages without
    lang) saying how to recover from county_items/manifest.json.bak."""
    return store.read_manifest(data_dir, lang, TABLE)


def _touched(data_dir: Path, year: int, entry: dict) -> list[str]:
    """The counties a version wrote. Versions stored before this was recorded: every county in its file (more
    than it wrote, never fewer, so a region check on it errs towards refusing)."""
    if isinstance(entry.get("counties_touched"), list):
        return list(entry["counties_touched"])
    stored = TABLE.version_path(data_dir, year, entry["id"])
    if not stored.exists():
        return []
    return sorted(pl.read_parquet(stored, columns=["county_code"])["county_code"].unique().to_list())


def touched_counties(data_dir: Path, year: int, version: str) -> list[str]:
    """The county codes version of year wrote (an import: the counties its file held; a rollback of a region: the
    counties it changed). A version the manifest does not list raises store.StoreError."""
    entries = read_manifest(data_dir)["years"].get(str(year), {}).get("versions", [])
    entry = next((v for v in entries if v["id"] == version), None)
    if entry is None:
        known = ", ".join(v["id"] for v in entries) or "—"
        raise store.StoreError(_say("store_no_version", None, year=year, version=version, known=known))
    return _touched(Path(data_dir), year, entry)


def _say(key: str, lang: str | None, **values) -> str:
    if lang in ("zh", "en"):
        return t(key, lang, **values)
    return f"{t(key, 'zh', **values)} / {t(key, 'en', **values)}"


def versions(data_dir: Path) -> pl.DataFrame:
    """Every stored version: year, id, kind (import, rollback), source, rows, county_count (counties in the
    version's table), counties (the county codes it wrote, comma-separated, as store.versions), written_at,
    is_current (newest first)."""
    data_dir = Path(data_dir)
    rows = []
    for year, entry in read_manifest(data_dir)["years"].items():
        for v in entry["versions"]:
            count = v.get("county_count", v.get("counties"))  # older entries: "counties" was the count
            rows.append({"year": int(year), **{k: v.get(k) for k in ("id", "source", "rows", "written_at")},
                         "kind": v.get("kind", "import"), "county_count": count if isinstance(count, int) else None,
                         "counties": ",".join(_touched(data_dir, int(year), v)),
                         "is_current": v["id"] == entry["current"]})
    schema = {"year": pl.Int64, "id": pl.String, "source": pl.String, "rows": pl.Int64, "written_at": pl.String,
              "kind": pl.String, "county_count": pl.Int64, "counties": pl.String, "is_current": pl.Boolean}
    return pl.DataFrame(rows, schema=schema).sort("year", "written_at", descending=[True, True])


def _changed_counties(before: pl.DataFrame, after: pl.DataFrame) -> list[str]:
    """The counties whose rows differ between two versions of a year (an item added, removed or changed)."""
    keys = list(SCHEMA)
    differ = pl.concat([before.join(after, on=keys, how="anti"), after.join(before, on=keys, how="anti")])
    return sorted(differ["county_code"].unique().to_list())


def rollback(data_dir: Path, year: int, version: str, region: str = "", lang: str | None = None) -> dict:
    """Roll year's self-assessment back to an earlier version. Nationally (region '') that version becomes current
    again; with region, only the region's counties get their rows of that version back (a new version), every
    other county keeps its current rows. Returns the manifest entry of the version now current, with "counties":
    the county codes the rollback changed. Not audited here (junheng/commands/ audits)."""
    data_dir = Path(data_dir)
    try:
        with store.lock(data_dir):
            manifest = store.manifest_for_write(data_dir, TABLE)
            year_entry = manifest["years"].get(str(year), {})
            entries = year_entry.get("versions", [])
            entry = next((v for v in entries if v["id"] == version), None)
            stored = TABLE.version_path(data_dir, year, version)
            if entry is None or not stored.exists():
                known = ", ".join(v["id"] for v in entries) or "—"
                raise store.StoreError(_say("store_no_version", lang, year=year, version=version, known=known))
            before = _current(data_dir, year, manifest)
            chosen = pl.read_parquet(stored).select(list(SCHEMA)).cast(SCHEMA)
            inside = pl.col("county_code").str.starts_with(region)
            after = pl.concat([before.filter(~inside), chosen.filter(inside)]).sort("county_code", "item")
            touched = _changed_counties(before, after)
            if not region or after.equals(chosen.sort("county_code", "item")):
                store.make_current(data_dir, TABLE, year, manifest, version, lang)
                return {**entry, "counties": touched}
            if not touched:  # the region's counties already hold that version's rows: nothing to write
                current = next(v for v in entries if v["id"] == year_entry["current"])
                return {**current, "counties": []}
            new = {"kind": "rollback", "source": _say("ct_rollback_source", None, version=version, region=region),
                   "checksum": None, "rows": after.height, "county_count": after["county_code"].n_unique(),
                   "counties_touched": touched, "rolls_back_to": version, "base": year_entry["current"]}
            written = store.write_table_version(data_dir, TABLE, year, manifest, after, new, lang)
            return {**manifest["years"][str(year)]["versions"][-1], "id": written, "counties": touched}
    except store.Timeout:
        raise store.StoreError(store.busy_message(data_dir, lang)) from None

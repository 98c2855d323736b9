"""Data commands: check, import and roll back either table (the school table, the county self-assessment), and
list the stored versions, each inside the administrator's region and audited."""
from __future__ import annotations

from pathlib import Path

import polars as pl

from junheng.access import audit
from junheng.access.accounts import Account
from junheng.commands.gate import Denied, audit_region, authorize
from junheng.data import county_table, importer, precompute, store

TABLES = ("school", "county")


def _table(table: str) -> str:
    if table not in TABLES:
        raise Denied("gate_unknown_table", table=str(table)[:20])
    return table


def validate_upload(data_dir: Path, actor: Account | None, table: str, name: str, content: bytes, year: int,
                    lang: str, replace_year: bool = False):
    """(report, unreadable-file message) for an uploaded file, checked against the actor's region; writes nothing."""
    actor = authorize(data_dir, actor, "admin")
    if _table(table) == "county":
        return county_table.validate_upload(name, content, year, Path(data_dir), lang, region=actor.region)
    try:
        with importer.stored_upload(Path(data_dir), name, content) as stored:
            _, report = importer.validate(stored, year, Path(data_dir), lang, name=name, region=actor.region,
                                          replace_year=replace_year)
    except importer.UnreadableFile as e:
        return None, str(e)
    return report, None


def import_upload(data_dir: Path, actor: Account | None, table: str, name: str, content: bytes, year: int,
                  lang: str, allow_removal=False, replace_year: bool = False):
    """Store an uploaded file as a new version of year (all or nothing); (report, version or None)."""
    authorize(data_dir, actor, "admin")
    with importer.stored_upload(Path(data_dir), name, content) as stored:
        return import_file(data_dir, actor, table, stored, year, lang, allow_removal=allow_removal,
                           replace_year=replace_year, source=name)


def import_file(data_dir: Path, actor: Account | None, table: str, path: Path, year: int, lang: str,
                dry_run: bool = False, allow_removal=False, replace_year: bool = False, source: str | None = None):
    """Validate and (unless dry_run or there are errors) store a file as a new version of year.

    The region check of what a file touches is the importers' validation: rows of counties outside the actor's
    region are errors, so nothing is written; replace_year replaces the
    year within the actor's region only. Returns (report, version or None); a written version is audited with
    the counties it touched.
    """
    actor = authorize(data_dir, actor, "admin")
    data_dir, source = Path(data_dir), source or Path(path).name
    if _table(table) == "county":
        report, version = county_table.import_file(Path(path), year, data_dir, lang, dry_run, source=source,
                                                   region=actor.region)
        touched = county_table.touched_counties(data_dir, year, version) if version else []
    else:
        report, version = importer.import_file(Path(path), year, data_dir, lang, dry_run,
                                               allow_removal=allow_removal, source=source, region=actor.region,
                                               replace_year=replace_year)
        touched = _school_counties(data_dir, year, version) if version else []
    if version:
        audit.record(data_dir, actor, "import", {"table": table, "year": year, "version": version, "file": source,
                                                 "replace_year": replace_year, "counties": touched},
                     region=audit_region(touched or [actor.region]))
        precompute.after_write(data_dir, year, touched)  # the touched county-years' plans, before a visitor asks
    return report, version


def rollback(data_dir: Path, actor: Account | None, table: str, year: int, version: str, lang: str) -> dict:
    """Undo one import of year inside the actor's region; returns the new current version's entry. Audited."""
    actor = authorize(data_dir, actor, "admin")
    data_dir = Path(data_dir)
    if _table(table) == "county":
        entry = county_table.rollback(data_dir, year, version, region=actor.region, lang=lang)
    else:
        entry = store.rollback(data_dir, year, version, lang, region=actor.region)
    touched = list(entry.get("counties") or [])
    audit.record(data_dir, actor, "rollback", {"table": table, "year": year, "undone": version,
                                               "version": entry["id"], "counties": touched},
                 region=audit_region(touched or [actor.region]))
    return entry


def versions(data_dir: Path, actor: Account | None, table: str, lang: str) -> pl.DataFrame:
    """The stored versions an administrator may see: those that touched a county of its region (a version that
    also touched other regions shows no source file name)."""
    actor = authorize(data_dir, actor, "admin")
    frame = (county_table.versions(Path(data_dir)) if _table(table) == "county"
             else store.versions(Path(data_dir), lang))
    if not actor.region or "counties" not in frame.columns:
        return frame
    codes = pl.col("counties").fill_null("").str.split(",")
    inside = codes.list.eval(pl.element().str.starts_with(actor.region))
    return frame.filter(inside.list.any()).with_columns(
        pl.when(inside.list.all()).then(pl.col("source")).otherwise(pl.lit("—")).alias("source"))


def _school_counties(data_dir: Path, year: int, version: str) -> list[str]:
    entry = store.versions(data_dir).filter((pl.col("year") == year) & (pl.col("id") == version))
    text = entry["counties"][0] if entry.height else ""
    return [c for c in (text or "").split(",") if c]


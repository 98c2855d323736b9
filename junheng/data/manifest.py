"""The versioned tables' layout and manifests, read-only: where each table's files lie, the manifest as checked,
each county's provenance, which counties are synthetic. The store (junheng/data/store.py) writes them; the query
layer (junheng/data/db.py) reads them to open the data."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from junheng.i18n import t

MANIFEST = "manifest.json"
BACKUP = "manifest.json.bak"
PENDING = ".pending.json"


@dataclass(frozen=True)
class Table:
    """Where one versioned table's files lie under the data directory: its folder ('' the data directory itself)
    holds the manifest, its backup, the pending note and versions/; current files are under current_folder."""
    folder: str
    current_folder: str
    sort_by: tuple[str, ...]  # version files are sorted so one county's rows sit together
    aggregated: bool          # whether a write rebuilds the pre-aggregates (the school rows only)

    def root(self, data_dir: Path) -> Path:
        return Path(data_dir) / self.folder

    def current_path(self, data_dir: Path, year: int) -> Path:
        return self.root(data_dir) / self.current_folder / f"year={year}" / "part-0.parquet"

    def version_path(self, data_dir: Path, year: int, version: str) -> Path:
        return self.root(data_dir) / "versions" / f"year={year}" / f"{version}.parquet"

    def shown(self, name: str) -> str:
        """A file of the table as messages name it: relative to the data directory, never a server path."""
        return f"{self.folder}/{name}" if self.folder else name


SCHOOLS = Table("", "snapshots", ("county_code", "school_id"), aggregated=True)
COUNTY_ITEMS = Table("county_items", "", ("county_code", "item"), aggregated=False)
TABLES = (SCHOOLS, COUNTY_ITEMS)


class StoreError(RuntimeError):
    """A write or rollback that cannot go on; the message says why (zh / en) and names no server path."""


class ManifestError(StoreError, ValueError):
    """manifest.json cannot be read or does not have the expected shape."""


def _say(key: str, lang: str | None, **values) -> str:
    """The message in lang, or in both languages (zh / en) when the caller has none."""
    if lang in ("zh", "en"):
        return t(key, lang, **values)
    return f"{t(key, 'zh', **values)} / {t(key, 'en', **values)}"


def read_manifest(data_dir: Path, lang: str | None = None, table: Table = SCHOOLS) -> dict:
    """The manifest, checked: a damaged one raises ManifestError saying how to recover (no path beyond its name)."""
    root = table.root(data_dir)
    path = root / MANIFEST
    if not path.exists():
        return {"years": {}}
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        problem = _manifest_problem(manifest)
    except (OSError, UnicodeDecodeError) as e:
        problem = type(e).__name__
    except json.JSONDecodeError as e:
        problem = f"JSON, line {e.lineno}"
    if problem:
        key = "store_manifest_damaged" if _backup_usable(root) else "store_manifest_damaged_no_backup"
        raise ManifestError(_say(key, lang, file=table.shown(MANIFEST), backup=table.shown(BACKUP), detail=problem))
    return manifest


def _manifest_problem(manifest) -> str | None:
    """What is wrong with the manifest's shape, or None."""
    if not isinstance(manifest, dict) or not isinstance(manifest.get("years"), dict):
        return "years"
    for year, entry in manifest["years"].items():
        if not str(year).isdigit() or not isinstance(entry, dict):
            return f"years.{year}"
        versions = entry.get("versions")
        if not isinstance(versions, list) or not all(isinstance(v, dict) and isinstance(v.get("id"), str)
                                                     for v in versions):
            return f"years.{year}.versions"
        if entry.get("current") not in {v["id"] for v in versions}:
            return f"years.{year}.current"
    return None


def _backup_usable(root: Path) -> bool:
    try:
        return _manifest_problem(json.loads((Path(root) / BACKUP).read_text(encoding="utf-8"))) is None
    except (OSError, ValueError):
        return False


def current_path(data_dir: Path, year: int) -> Path:
    return SCHOOLS.current_path(data_dir, year)


def version_path(data_dir: Path, year: int, version: str) -> Path:
    return SCHOOLS.version_path(data_dir, year, version)


def provenance_of(year_entry: dict) -> dict[str, str]:
    """County code -> the version its current rows came from (stores written before per-county imports: the
    current version for every county of the year's latest whole-year write)."""
    if "provenance" in year_entry:
        return dict(year_entry["provenance"])
    current = next((v for v in year_entry.get("versions", []) if v.get("id") == year_entry.get("current")), {})
    return {c: current["id"] for c in current.get("counties", [])}


def synthetic_counties(data_dir: Path) -> dict[int, set[str]]:
    """Per year, the counties whose current rows are synthetic (demo) data: the synthetic notice and guests'
    scope are per county and year. A damaged manifest raises ManifestError."""
    years = read_manifest(data_dir)["years"]
    out = {}
    for year, entry in years.items():
        synthetic = {v["id"] for v in entry.get("versions", []) if v.get("synthetic") is True}
        provenance = provenance_of(entry)
        if not provenance and entry.get("synthetic") is True and current_path(data_dir, int(year)).exists():
            codes = pl.read_parquet(current_path(data_dir, int(year)), columns=["county_code"])["county_code"]
            provenance = {c: entry["current"] for c in codes.unique().to_list()}
        out[int(year)] = {c for c, v in provenance.items() if v in synthetic}
    return out

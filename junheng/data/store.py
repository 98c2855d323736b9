"""Snapshot storage: every write is a version; the manifest is the commit point; a crash leaves a consistent store.

Layout under the data directory:
  snapshots/year=YYYY/part-0.parquet       the current version of each year (what readers see)
  versions/year=YYYY/<version>.parquet     every version ever written, for rollback
  manifest.json                            per year: the current version's facts and the list of versions
  manifest.json.bak                        the manifest as it was before the last write (the last good one)
  .pending.json                            years whose current snapshot may lag the manifest (during a write)

A write (import, rollback) takes the store's write lock (a lock file in the data directory; with
JUNHENG_DATABASE_URL a PostgreSQL advisory lock, so servers on several hosts sharing the directory take turns)
and goes:
  1. read and check manifest.json: a damaged one stops the write before anything is written;
  2. write the new version file (a name nobody lists until the manifest does);
  3. note the year in .pending.json;
  4. copy manifest.json to manifest.json.bak, then replace manifest.json: the commit point;
  5. copy the version named by the manifest over the current snapshot (atomic rename);
  6. remove .pending.json.
A crash before 4 leaves the old manifest and the old current snapshot (plus an unlisted version file); a crash
after 4 is finished by `recover` (run with every write and when the app starts), which copies the version the
manifest names over the current snapshot. Every file is replaced by writing a hidden temporary file and renaming.
Messages never contain a server path: at most a path relative to the data directory.

The version catalog stays manifest.json, next to the files it names, on the shared filesystem: its atomic
rename is the commit point of the snapshot files too, which a database row could not be (a crash between the
row and the files would let them disagree). Other servers see a write at once: the manifest's and snapshots'
file stamps are part of junheng.data.db.fingerprint, hence of every cache key. docs/deploy.md has the rest.

The county self-assessment (junheng/data/county_table.py) is a second table on the same protocol and lock, in
its own folder (county_items/: manifest.json, manifest.json.bak, .pending.json, versions/, year=YYYY/): a
`Table` says where a table's files are; `recover` finishes an interrupted write of either.
"""
from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import os
import shutil
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import polars as pl
from filelock import Timeout

from junheng.data import backend
from junheng.data.manifest import (  # noqa: F401 — the store's layout and errors, named here for its callers
    BACKUP,
    COUNTY_ITEMS,
    MANIFEST,
    PENDING,
    SCHOOLS,
    TABLES,
    ManifestError,
    StoreError,
    Table,
    _backup_usable,
    _manifest_problem,
    _say,
    current_path,
    provenance_of,
    read_manifest,
    synthetic_counties,
    version_path,
)

log = logging.getLogger(__name__)

LOCK_NAME = backend.LOCK_NAME
LOCK_WAIT_S = 30


def lock(data_dir: Path, timeout: float = LOCK_WAIT_S):
    """The store's write lock, held for a whole import so writes never interleave: a lock file in the data
    directory (one host), or a PostgreSQL advisory lock when JUNHENG_DATABASE_URL is set (every host)."""
    return backend.write_lock(data_dir, timeout)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write data next to path under a hidden name, flush it to disk, rename it over path."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    _fsync(tmp)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_manifest(root: Path, manifest: dict) -> None:
    """Keep the manifest being replaced (already checked) as the backup, then commit the new one."""
    path = Path(root) / MANIFEST
    if path.exists():
        _atomic_write(Path(root) / BACKUP, path.read_bytes())
    _atomic_write(path, json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8"))


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not every system lets a directory be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _swap_in(source: Path, target: Path) -> None:
    """Copy source next to target under a name readers never list, then rename it over target (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    _fsync(tmp)
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def write_version(data_dir: Path, year: int, frame: pl.DataFrame, source: str, synthetic: bool,
                  checksum: str | None = None, held_lock: bool = False, lang: str | None = None,
                  counties: bool = False, region: str = "") -> str:
    """Store a new version of year and make it current. Returns the version id.

    counties False (a whole-year write): frame is the year within region ('' the whole country); the region's
    counties missing from frame are removed, counties outside region are kept. counties True (a per-county
    import): frame holds the rows of the counties it contains, which replace theirs; every other county of the
    year is kept as it was. checksum: of the source file (imports); for generated data, of the written file.
    """
    data_dir = Path(data_dir)
    guard = _NoLock() if held_lock else lock(data_dir)
    try:
        with guard:
            manifest = read_manifest(data_dir, lang)  # a damaged manifest stops here: nothing written yet
            _recover_locked(data_dir, manifest)
            year_entry = manifest["years"].get(str(year), {})
            current = _current_frame(data_dir, year) if year_entry else None
            written = set(frame["county_code"].unique().to_list())
            if current is not None:
                replaced = pl.col("county_code").is_in(sorted(written)) if counties else \
                    pl.col("county_code").str.starts_with(region)
                if not counties:
                    written |= set(current.filter(replaced)["county_code"].unique().to_list())
                frame = pl.concat([current.filter(~replaced), frame], how="diagonal_relaxed")
            entry = _entry(year_entry, source, synthetic, checksum, frame, "counties" if counties else "year", written)
            present = set(frame["county_code"].unique().to_list())
            return _write(data_dir, year, manifest, frame, entry,
                          {c: NEW if c in present else None for c in written}, lang)
    except Timeout:
        raise StoreError(busy_message(data_dir, lang)) from None


def _entry(year_entry: dict, source: str, synthetic: bool, checksum: str | None, frame: pl.DataFrame, kind: str,
           written: set[str]) -> dict:
    """A version's manifest entry (its id is set when its file is written)."""
    before = provenance_of(year_entry)
    return {"source": source, "checksum": checksum, "rows": frame.height, "synthetic": synthetic, "kind": kind,
            "counties": sorted(written), "base": year_entry.get("current"),
            "previous": {c: before.get(c) for c in sorted(written)}}


def _write(data_dir: Path, year: int, manifest: dict, frame: pl.DataFrame, entry: dict,
           changes: dict, lang: str | None) -> str:
    """Write the version file, add its entry and the counties' new provenance to the manifest, commit."""
    stamp = datetime.now(UTC)
    try:
        file_sum, version = _write_version_file(data_dir, year, frame, stamp)
    except OSError as e:  # disk full, permissions: nothing is committed, the store is as it was
        log.exception("version file of %s not written", year)
        raise StoreError(_say("store_write_failed", lang, detail=type(e).__name__)) from None
    entry = {"id": version, **entry, "checksum": entry.get("checksum") or file_sum,
             "written_at": stamp.isoformat(timespec="seconds")}
    year_entry = manifest["years"].get(str(year), {})
    provenance = provenance_of(year_entry)
    for county, source_version in changes.items():
        if source_version is None:
            provenance.pop(county, None)
        else:
            provenance[county] = version if source_version == NEW else source_version
    history = year_entry.get("versions", []) + [entry]
    made_up = {v["id"] for v in history if v.get("synthetic") is True}
    summary = {k: entry[k] for k in ("id", "source", "checksum", "rows", "written_at")}
    # the year as a whole is synthetic when every county's rows came from synthetic data
    summary["synthetic"] = bool(provenance) and all(v in made_up for v in provenance.values())
    manifest["years"][str(year)] = {**summary, "current": version, "provenance": provenance, "versions": history}
    _commit(data_dir, year, manifest, version, lang)
    return version


NEW = object()  # in a provenance change: "the version being written"


def _current_frame(data_dir: Path, year: int) -> pl.DataFrame | None:
    path = current_path(data_dir, year)
    return pl.read_parquet(path) if path.exists() else None


def _write_version_file(data_dir: Path, year: int, frame: pl.DataFrame, stamp: datetime,
                        table: Table = SCHOOLS) -> tuple[str, str]:
    """Write frame as a version file under a name nobody lists yet; (its sha256, the version id)."""
    staging = table.root(data_dir) / "versions" / f"year={year}" / f".staging-{os.getpid()}.parquet"
    staging.parent.mkdir(parents=True, exist_ok=True)
    # Small row groups sorted by county: a county's rows sit in a few groups the reader can pick out.
    # LZ4, not Polars' default zstd: a national year (246,285 rows) reads into DuckDB in 61 ms instead of 70 ms,
    # for files about 45% larger (11.6 -> 16.9 MB).
    frame.sort(*table.sort_by).write_parquet(staging, row_group_size=10_000, compression="lz4")
    file_sum = _sha256(staging)
    version = f"{stamp.strftime('%Y%m%dT%H%M%S%f')}-{file_sum[:8]}"
    os.replace(staging, table.version_path(data_dir, year, version))
    return file_sum, version


def manifest_for_write(data_dir: Path, table: Table, lang: str | None = None) -> dict:
    """Step 1 of a write of table, the store's lock held: its checked manifest (a damaged one raises ManifestError
    before anything is written), with an interrupted earlier write of the table finished first."""
    manifest = read_manifest(data_dir, lang, table)
    _recover_locked(Path(data_dir), manifest, table)
    return manifest


def write_table_version(data_dir: Path, table: Table, year: int, manifest: dict, frame: pl.DataFrame,
                        entry: dict, lang: str | None = None) -> str:
    """Steps 2-6 for a table whose manifest lists per year only `current` and `versions` (the county
    self-assessment): store frame as a new version of year and make it current. entry: the version's facts
    (its id and written_at are added). manifest: from manifest_for_write, the lock still held. Returns the id."""
    data_dir = Path(data_dir)
    stamp = datetime.now(UTC)
    try:
        _, version = _write_version_file(data_dir, year, frame, stamp, table)
    except OSError as e:  # disk full, permissions: nothing is committed, the table is as it was
        log.exception("version file of %s %s not written", table.folder, year)
        raise StoreError(_say("store_write_failed", lang, detail=type(e).__name__)) from None
    year_entry = manifest["years"].get(str(year), {})
    history = year_entry.get("versions", []) + [{"id": version, **entry,
                                                 "written_at": stamp.isoformat(timespec="seconds")}]
    manifest["years"][str(year)] = {**year_entry, "current": version, "versions": history}
    _commit(data_dir, year, manifest, version, lang, table)
    return version


def make_current(data_dir: Path, table: Table, year: int, manifest: dict, version: str,
                 lang: str | None = None) -> None:
    """Steps 3-6 with a version already stored: make it year's current one again (a rollback to it)."""
    manifest["years"][str(year)]["current"] = version
    _commit(Path(data_dir), year, manifest, version, lang, table)


def rollback(data_dir: Path, year: int, version: str, lang: str | None = None, region: str = "") -> dict:
    """Undo one import (or any write) of year: the counties it wrote get back the rows they had just before it;
    every other county stays as it is. Refused when a later write changed one of those counties (undo that
    first) or, with region, when the write touched a county outside region. Returns the new version's entry.
    """
    data_dir = Path(data_dir)
    try:
        with lock(data_dir):
            manifest = read_manifest(data_dir, lang)
            _recover_locked(data_dir, manifest)
            year_entry = manifest["years"].get(str(year))
            if not year_entry:
                raise StoreError(_say("store_no_year", lang, year=year))
            versions_ = year_entry.get("versions", [])
            index = next((i for i, v in enumerate(versions_) if v["id"] == version), None)
            if index is None:
                known = ", ".join(v["id"] for v in versions_)
                raise StoreError(_say("store_no_version", lang, year=year, version=version, known=known))
            undone = versions_[index]
            counties = undone.get("counties")
            if counties is None:  # a version written before per-county imports: its counties are in its file
                counties = sorted(pl.read_parquet(version_path(data_dir, year, version), columns=["county_code"])
                                  ["county_code"].unique().to_list())
            outside = [c for c in counties if not c.startswith(region)]
            if outside:
                raise StoreError(_say("store_undo_outside_region", lang, counties=", ".join(outside[:5])))
            after = versions_[index + 1:]
            undone_ids = {v.get("undoes") for v in versions_}
            ids_after = {v["id"] for v in after}
            # a later write that still counts: not itself undone, and not the undo of a later write
            later = next((v for v in after if set(v.get("counties") or counties) & set(counties)
                          and v["id"] not in undone_ids and v.get("undoes") not in ids_after), None)
            if version in undone_ids:
                raise StoreError(_say("store_undo_twice", lang, version=version))
            if later is not None:
                raise StoreError(_say("store_undo_later", lang, version=version, later=later["id"],
                                      source=later.get("source", "")))
            base = undone.get("base")
            if base is None:  # the year's first write: undoing it would leave nothing
                raise StoreError(_say("store_undo_nothing_before", lang, version=version))
            kept = _current_frame(data_dir, year).filter(~pl.col("county_code").is_in(counties))
            restored = pl.read_parquet(version_path(data_dir, year, base)).filter(pl.col("county_code").is_in(counties))
            frame = pl.concat([kept, restored], how="diagonal_relaxed")
            previous = undone.get("previous") or {c: None for c in counties}
            entry = {"source": _say("store_undo_source", None, version=version), "checksum": None,
                     "rows": frame.height, "synthetic": False, "kind": "undo",
                     "undoes": version, "counties": counties, "base": year_entry.get("current"),
                     "previous": {c: provenance_of(year_entry).get(c) for c in counties}}
            _write(data_dir, year, manifest, frame, entry, {c: previous.get(c) for c in counties}, lang)
            return read_manifest(data_dir)["years"][str(year)]["versions"][-1]
    except Timeout:
        raise StoreError(busy_message(data_dir, lang)) from None


def _commit(data_dir: Path, year: int, manifest: dict, version: str, lang: str | None,
            table: Table = SCHOOLS) -> None:
    """Steps 3-6 of a write (see the module notes); on a failure, the manifest decides what happened."""
    root = table.root(data_dir)
    try:
        _atomic_write(root / PENDING, json.dumps({"years": [year]}).encode())
        _write_manifest(root, manifest)
        _swap_in(table.version_path(data_dir, year, version), table.current_path(data_dir, year))
        (root / PENDING).unlink()
    except Exception as e:
        log.exception("write of %s %s interrupted", table.folder, year)
        try:
            committed = read_manifest(data_dir, table=table)["years"].get(str(year), {}).get("current") == version
            _recover_locked(data_dir, read_manifest(data_dir, table=table), table)
        except Exception:
            log.exception("recovery after the interrupted write failed; it runs again with the next write")
            raise StoreError(_say("store_write_interrupted", lang, detail=type(e).__name__)) from None
        if not committed:
            raise StoreError(_say("store_write_failed", lang, detail=type(e).__name__)) from None
    if table.aggregated:
        _aggregates(data_dir, year)


def recover(data_dir: Path, timeout: float = 0) -> list[int]:
    """Finish an interrupted write of either table (the school snapshots, the county self-assessment): make each
    pending year's current file the version its manifest names, remove temporary files.

    Run when the app starts and by every write. Skipped (returns []) when another write holds the lock; a table
    whose manifest is damaged is left alone (that is reported by whatever reads it next). Returns the school
    years repaired.
    """
    data_dir = Path(data_dir)
    waiting = [table for table in TABLES if (table.root(data_dir) / PENDING).exists() or _strays(data_dir, table)]
    if not waiting:
        return []
    repaired: dict[Table, list[int]] = {}
    try:
        with lock(data_dir, timeout=timeout):
            for table in waiting:
                try:
                    repaired[table] = _recover_locked(data_dir, read_manifest(data_dir, table=table), table)
                except ManifestError:
                    continue
    except Timeout:
        return []
    return repaired.get(SCHOOLS, [])


def _strays(data_dir: Path, table: Table = SCHOOLS) -> list[Path]:
    """Temporary files an interrupted write of table left (hidden names no reader lists)."""
    root = table.root(data_dir)
    found = [*root.glob("versions/year=*/.staging-*.parquet"),
             *root.glob(str(Path(table.current_folder, "year=*", ".*.tmp"))), *root.glob(".*.tmp")]
    if table.aggregated:
        found += [*data_dir.glob("aggregates/*/year=*/.*.tmp"), *data_dir.glob("aggregates/by_county/.*.tmp"),
                  *data_dir.glob("aggregates/cohort_base/.*.tmp")]
    return found


def _recover_locked(data_dir: Path, manifest: dict, table: Table = SCHOOLS) -> list[int]:
    for stray in _strays(data_dir, table):
        if stray.is_dir():  # a by-county layout being written
            shutil.rmtree(stray, ignore_errors=True)
        else:
            stray.unlink(missing_ok=True)
    pending = table.root(data_dir) / PENDING
    if not pending.exists():
        return []
    try:
        years = [int(y) for y in json.loads(pending.read_text(encoding="utf-8"))["years"]]
    except (OSError, ValueError, KeyError, TypeError):  # a torn note: check every year
        years = [int(y) for y in manifest["years"]]
    repaired = []
    for year in years:
        entry = manifest["years"].get(str(year))
        if entry is None:  # the write never reached its commit: nothing of it is current
            continue
        stored = table.version_path(data_dir, year, entry["current"])
        if not _matches(table.current_path(data_dir, year), entry["current"], stored):
            _swap_in(stored, table.current_path(data_dir, year))
            if table.aggregated:
                _aggregates(data_dir, year)
            repaired.append(year)
            log.warning("recovered %s %s: current file set to %s as the manifest says", table.folder or "snapshots",
                        year, entry["current"])
    pending.unlink()
    return repaired


def _matches(snapshot: Path, version: str, stored: Path | None = None) -> bool:
    """Whether the snapshot file is that version: its id ends with the first 8 hex digits of the file's sha256,
    or (county self-assessment versions written before this store, named by their source file's checksum) the
    file is the stored version file byte for byte."""
    if not snapshot.exists():
        return False
    digest = _sha256(snapshot)
    if digest[:8] == version.rsplit("-", 1)[-1]:
        return True
    return stored is not None and stored.exists() and _sha256(stored) == digest


def consistency_problems(data_dir: Path) -> list[str]:
    """Every year whose current snapshot is not the version the manifest names (empty: consistent)."""
    data_dir = Path(data_dir)
    manifest = read_manifest(data_dir)
    problems = [f"{year}: current is not {entry['current']}" for year, entry in sorted(manifest["years"].items())
                if not _matches(current_path(data_dir, int(year)), entry["current"])]
    listed = set(manifest["years"])
    problems += [f"{p.parent.name}: not in the manifest" for p in sorted(data_dir.glob("snapshots/year=*/*.parquet"))
                 if p.parent.name.removeprefix("year=") not in listed]
    return problems


def _aggregates(data_dir: Path, year: int) -> None:
    """Pre-aggregates of the year's current snapshot and the by-county layout of all years (unless deferred).
    Best effort: without them, readers build their own or read the yearly files."""
    from junheng import settings
    from junheng.data import db
    try:
        db.write_aggregates(data_dir, year, current_path(data_dir, year), settings.load_thresholds())
    except (settings.SettingsError, OSError, db.duckdb.Error):
        pass
    if not _LAYOUT_DEFERRED.get():
        write_layout(data_dir)


# A writer of many years at once (the demo) defers the by-county layout to its end instead of after each year.
_LAYOUT_DEFERRED = contextvars.ContextVar("junheng_layout_deferred", default=False)


@contextmanager
def layout_deferred(data_dir: Path):
    """Years written inside this block rewrite the by-county layout once, at its end."""
    token = _LAYOUT_DEFERRED.set(True)
    try:
        yield
    finally:
        _LAYOUT_DEFERRED.reset(token)
    write_layout(data_dir)


def write_layout(data_dir: Path) -> None:
    """The by-county layout of every year's current snapshot (junheng/data/db.py write_history) and the cohort base
    (junheng/data/cohort.py write_base); best effort."""
    from junheng import settings
    from junheng.data import cohort, db
    try:
        db.write_history(Path(data_dir))
    except (OSError, db.duckdb.Error):
        log.warning("by-county layout not written; readers use the yearly files", exc_info=True)
    try:  # the cohort page's statistics read it (junheng/data/cohort.py write_base)
        cohort.write_base(Path(data_dir), int(settings.load_thresholds()["privacy"]["min_count"]))
    except (OSError, KeyError, TypeError, ValueError, db.DataError, db.duckdb.Error, settings.SettingsError):
        log.warning("cohort base not written; cohort statistics read the snapshots", exc_info=True)


def versions(data_dir: Path, lang: str | None = None) -> pl.DataFrame:
    """Every stored version: year, id, source, checksum, rows, synthetic, written_at, is_current, kind
    (year, counties, undo), counties (the county codes it wrote, comma-separated), undone (a later undo)."""
    rows = []
    for year, entry in sorted(read_manifest(data_dir, lang)["years"].items()):
        undone = {v.get("undoes") for v in entry.get("versions", [])}
        for v in entry.get("versions", []):
            rows.append({"year": int(year), **{k: v.get(k) for k in ("id", "source", "checksum", "rows",
                                                                          "synthetic", "written_at")},
                         "is_current": v["id"] == entry.get("current"), "kind": v.get("kind", "year"),
                         "counties": ",".join(v.get("counties") or []), "undone": v["id"] in undone})
    schema = {"year": pl.Int64, "id": pl.String, "source": pl.String, "checksum": pl.String, "rows": pl.Int64,
              "synthetic": pl.Boolean, "written_at": pl.String, "is_current": pl.Boolean, "kind": pl.String,
              "counties": pl.String, "undone": pl.Boolean}
    return pl.DataFrame(rows, schema=schema).sort("year", "written_at", descending=[True, True])


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def file_checksum(path: Path) -> str:
    return _sha256(Path(path))


def busy_message(data_dir: Path, lang: str | None = None) -> str:
    """Another import holds the lock (the message names no path)."""
    return _say("store_busy", lang, seconds=LOCK_WAIT_S)


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

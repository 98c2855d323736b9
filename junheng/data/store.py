"""Snapshot storage: every write is a version; the manifest is the commit point; a crash leaves a consistent store.

Layout under the data directory:
  snapshots/year=YYYY/part-0.parquet       the current version of each year (what readers see)
  versions/year=YYYY/<version>.parquet     every version ever written, for rollback
  manifest.json                            per year: the current version's facts and the list of versions
  manifest.json.bak                        the manifest as it was before the last write (the last good one)
  .pending.json                            years whose current snapshot may lag the manifest (during a write)

A write (import, rollback) takes the data directory's lock and goes:
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
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
from filelock import FileLock, Timeout

from junheng.i18n import t

log = logging.getLogger(__name__)

LOCK_NAME = ".write.lock"
LOCK_WAIT_S = 30
MANIFEST = "manifest.json"
BACKUP = "manifest.json.bak"
PENDING = ".pending.json"


class StoreError(RuntimeError):
    """A write or rollback that cannot go on; the message says why (zh / en) and names no server path."""


class ManifestError(StoreError, ValueError):
    """manifest.json cannot be read or does not have the expected shape."""


def _say(key: str, lang: str | None, **values) -> str:
    """The message in lang, or in both languages (zh / en) when the caller has none."""
    if lang in ("zh", "en"):
        return t(key, lang, **values)
    return f"{t(key, 'zh', **values)} / {t(key, 'en', **values)}"


def lock(data_dir: Path, timeout: float = LOCK_WAIT_S) -> FileLock:
    """The data directory's write lock; held for a whole import so writes never interleave."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    return FileLock(str(Path(data_dir) / LOCK_NAME), timeout=timeout)


def read_manifest(data_dir: Path, lang: str | None = None) -> dict:
    """The manifest, checked: a damaged one raises ManifestError saying how to recover (no path beyond its name)."""
    path = Path(data_dir) / MANIFEST
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
        key = "store_manifest_damaged" if _backup_usable(data_dir) else "store_manifest_damaged_no_backup"
        raise ManifestError(_say(key, lang, file=MANIFEST, backup=BACKUP, detail=problem))
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


def _backup_usable(data_dir: Path) -> bool:
    try:
        return _manifest_problem(json.loads((Path(data_dir) / BACKUP).read_text(encoding="utf-8"))) is None
    except (OSError, ValueError):
        return False


def _atomic_write(path: Path, data: bytes) -> None:
    """Write data next to path under a hidden name, flush it to disk, rename it over path."""
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    _fsync(tmp)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


def _write_manifest(data_dir: Path, manifest: dict) -> None:
    """Keep the manifest being replaced (already checked) as the backup, then commit the new one."""
    path = Path(data_dir) / MANIFEST
    if path.exists():
        _atomic_write(Path(data_dir) / BACKUP, path.read_bytes())
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


def current_path(data_dir: Path, year: int) -> Path:
    return Path(data_dir) / "snapshots" / f"year={year}" / "part-0.parquet"


def version_path(data_dir: Path, year: int, version: str) -> Path:
    return Path(data_dir) / "versions" / f"year={year}" / f"{version}.parquet"


def _swap_in(source: Path, target: Path) -> None:
    """Copy source next to target under a name readers never list, then rename it over target (atomic)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.copyfile(source, tmp)
    _fsync(tmp)
    os.replace(tmp, target)
    _fsync_dir(target.parent)


def write_version(data_dir: Path, year: int, frame: pl.DataFrame, source: str, synthetic: bool,
                  checksum: str | None = None, held_lock: bool = False, lang: str | None = None) -> str:
    """Store frame as a new version of year and make it current. Returns the version id.

    checksum: of the source file (imports); for generated data, of the written Parquet file.
    """
    data_dir = Path(data_dir)
    guard = _NoLock() if held_lock else lock(data_dir)
    try:
        with guard:
            manifest = read_manifest(data_dir, lang)  # a damaged manifest stops here: nothing written yet
            _recover_locked(data_dir, manifest)
            stamp = datetime.now(timezone.utc)
            try:
                file_sum, version = _write_version_file(data_dir, year, frame, stamp)
            except OSError as e:  # disk full, permissions: nothing is committed, the store is as it was
                log.exception("version file of %s not written", year)
                raise StoreError(_say("store_write_failed", lang, detail=type(e).__name__)) from None
            entry = {"id": version, "source": source, "checksum": checksum or file_sum, "rows": frame.height,
                     "synthetic": synthetic, "written_at": stamp.isoformat(timespec="seconds")}
            year_entry = manifest["years"].get(str(year), {})
            manifest["years"][str(year)] = {**entry, "current": version,
                                            "versions": year_entry.get("versions", []) + [entry]}
            _commit(data_dir, year, manifest, version, lang)
            return version
    except Timeout:
        raise StoreError(busy_message(data_dir, lang)) from None


def _write_version_file(data_dir: Path, year: int, frame: pl.DataFrame, stamp: datetime) -> tuple[str, str]:
    """Write frame as a version file under a name nobody lists yet; (its sha256, the version id)."""
    staging = data_dir / "versions" / f"year={year}" / f".staging-{os.getpid()}.parquet"
    staging.parent.mkdir(parents=True, exist_ok=True)
    # Small row groups sorted by county: a county's rows sit in a few groups the reader can pick out.
    frame.sort("county_code", "school_id").write_parquet(staging, row_group_size=10_000)
    file_sum = _sha256(staging)
    version = f"{stamp.strftime('%Y%m%dT%H%M%S%f')}-{file_sum[:8]}"
    os.replace(staging, version_path(data_dir, year, version))
    return file_sum, version


def rollback(data_dir: Path, year: int, version: str, lang: str | None = None) -> dict:
    """Make an earlier version of year current again. Returns its manifest entry."""
    data_dir = Path(data_dir)
    try:
        with lock(data_dir):
            manifest = read_manifest(data_dir, lang)
            _recover_locked(data_dir, manifest)
            year_entry = manifest["years"].get(str(year))
            if not year_entry:
                raise StoreError(_say("store_no_year", lang, year=year))
            entry = next((v for v in year_entry.get("versions", []) if v["id"] == version), None)
            if entry is None or not version_path(data_dir, year, version).exists():
                known = ", ".join(v["id"] for v in year_entry.get("versions", []))
                raise StoreError(_say("store_no_version", lang, year=year, version=version, known=known))
            manifest["years"][str(year)] = {**year_entry, **entry, "current": version,
                                            "versions": year_entry["versions"]}
            _commit(data_dir, year, manifest, version, lang)
            return entry
    except Timeout:
        raise StoreError(busy_message(data_dir, lang)) from None


def _commit(data_dir: Path, year: int, manifest: dict, version: str, lang: str | None) -> None:
    """Steps 3-6 of a write (see the module notes); on a failure, the manifest decides what happened."""
    try:
        _atomic_write(data_dir / PENDING, json.dumps({"years": [year]}).encode())
        _write_manifest(data_dir, manifest)
        _swap_in(version_path(data_dir, year, version), current_path(data_dir, year))
        (data_dir / PENDING).unlink()
    except Exception as e:
        log.exception("write of %s interrupted", year)
        try:
            committed = read_manifest(data_dir)["years"].get(str(year), {}).get("current") == version
            _recover_locked(data_dir, read_manifest(data_dir))
        except Exception:
            log.exception("recovery after the interrupted write failed; it runs again with the next write")
            raise StoreError(_say("store_write_interrupted", lang, detail=type(e).__name__)) from None
        if not committed:
            raise StoreError(_say("store_write_failed", lang, detail=type(e).__name__)) from None
    _aggregates(data_dir, year)


def recover(data_dir: Path, timeout: float = 0) -> list[int]:
    """Finish an interrupted write: make each pending year's current snapshot the version the manifest names.

    Run when the app starts and by every write. Skipped (returns []) when another write holds the lock or the
    manifest is damaged (that is reported by whatever reads it next). Returns the years repaired.
    """
    data_dir = Path(data_dir)
    if not (data_dir / PENDING).exists() and not _strays(data_dir):
        return []
    try:
        with lock(data_dir, timeout=timeout):
            return _recover_locked(data_dir, read_manifest(data_dir))
    except (Timeout, ManifestError):
        return []


def _strays(data_dir: Path) -> list[Path]:
    """Temporary files an interrupted write left (hidden names no reader lists)."""
    return [*data_dir.glob("versions/year=*/.staging-*.parquet"), *data_dir.glob("snapshots/year=*/.*.tmp"),
            *data_dir.glob("aggregates/*/year=*/.*.tmp"), *data_dir.glob(".*.tmp")]


def _recover_locked(data_dir: Path, manifest: dict) -> list[int]:
    for stray in _strays(data_dir):
        stray.unlink(missing_ok=True)
    pending = data_dir / PENDING
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
        if not _matches(current_path(data_dir, year), entry["current"]):
            _swap_in(version_path(data_dir, year, entry["current"]), current_path(data_dir, year))
            _aggregates(data_dir, year)
            repaired.append(year)
            log.warning("recovered %s: current snapshot set to %s as the manifest says", year, entry["current"])
    pending.unlink()
    return repaired


def _matches(snapshot: Path, version: str) -> bool:
    """Whether the snapshot file is that version (its id ends with the first 8 hex digits of the file's sha256)."""
    return snapshot.exists() and _sha256(snapshot)[:8] == version.rsplit("-", 1)[-1]


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
    """Pre-aggregates of the year's current snapshot. Best effort: without them, readers build their own."""
    from junheng import settings
    from junheng.data import db
    try:
        db.write_aggregates(data_dir, year, current_path(data_dir, year), settings.load_thresholds())
    except (settings.SettingsError, OSError, db.duckdb.Error):
        pass


def versions(data_dir: Path, lang: str | None = None) -> pl.DataFrame:
    """Every stored version: year, id, source, checksum, rows, synthetic, written_at, is_current."""
    rows = []
    for year, entry in sorted(read_manifest(data_dir, lang)["years"].items()):
        for v in entry.get("versions", []):
            rows.append({"year": int(year), **{k: v.get(k) for k in ("id", "source", "checksum", "rows",
                                                                          "synthetic", "written_at")},
                         "is_current": v["id"] == entry.get("current")})
    schema = {"year": pl.Int64, "id": pl.String, "source": pl.String, "checksum": pl.String, "rows": pl.Int64,
              "synthetic": pl.Boolean, "written_at": pl.String, "is_current": pl.Boolean}
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

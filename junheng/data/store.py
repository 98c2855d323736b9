"""Snapshot storage: every write is a version; the current one is swapped in atomically; a manifest records all.

Layout under the data directory:
  snapshots/year=YYYY/part-0.parquet       the current version of each year (what readers see)
  versions/year=YYYY/<version>.parquet     every version ever written, for rollback
  manifest.json                            per year: the current version's facts and the list of versions
A write takes the data directory's lock, so two imports never interleave.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

import polars as pl
from filelock import FileLock, Timeout

LOCK_NAME = ".write.lock"
LOCK_WAIT_S = 30


class StoreError(RuntimeError):
    """A write or rollback that cannot go on; the message says why (zh / en)."""


def lock(data_dir: Path, timeout: float = LOCK_WAIT_S) -> FileLock:
    """The data directory's write lock; held for a whole import so writes never interleave."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    return FileLock(str(Path(data_dir) / LOCK_NAME), timeout=timeout)


def read_manifest(data_dir: Path) -> dict:
    path = Path(data_dir) / "manifest.json"
    if not path.exists():
        return {"years": {}}
    return json.loads(path.read_text(encoding="utf-8"))


def _write_manifest(data_dir: Path, manifest: dict) -> None:
    path = Path(data_dir) / "manifest.json"
    tmp = path.with_name(".manifest.json.tmp")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True), encoding="utf-8")
    _fsync(tmp)
    os.replace(tmp, path)


def _fsync(path: Path) -> None:
    with open(path, "rb") as f:
        os.fsync(f.fileno())


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


def write_version(data_dir: Path, year: int, frame: pl.DataFrame, source: str, synthetic: bool,
                  checksum: str | None = None, held_lock: bool = False) -> str:
    """Store frame as a new version of year and make it current. Returns the version id.

    checksum: of the source file (imports); for generated data, of the written Parquet file.
    """
    data_dir = Path(data_dir)
    guard = _NoLock() if held_lock else lock(data_dir)
    try:
        with guard:
            stamp = datetime.now(timezone.utc)
            staging = data_dir / "versions" / f"year={year}" / f".staging-{os.getpid()}.parquet"
            staging.parent.mkdir(parents=True, exist_ok=True)
            # Small row groups sorted by county: a county's rows sit in a few groups the reader can pick out.
            frame.sort("county_code", "school_id").write_parquet(staging, row_group_size=10_000)
            file_sum = _sha256(staging)
            version = f"{stamp.strftime('%Y%m%dT%H%M%S%f')}-{file_sum[:8]}"
            final = version_path(data_dir, year, version)
            os.replace(staging, final)
            _swap_in(final, current_path(data_dir, year))
            entry = {"id": version, "source": source, "checksum": checksum or file_sum, "rows": frame.height,
                     "synthetic": synthetic, "written_at": stamp.isoformat(timespec="seconds")}
            manifest = read_manifest(data_dir)
            year_entry = manifest["years"].get(str(year), {})
            versions = year_entry.get("versions", []) + [entry]
            manifest["years"][str(year)] = {**entry, "current": version, "versions": versions}
            _write_manifest(data_dir, manifest)
            _aggregates(data_dir, year)
            return version
    except Timeout:
        raise StoreError(busy_message(data_dir)) from None


def rollback(data_dir: Path, year: int, version: str) -> dict:
    """Make an earlier version of year current again. Returns its manifest entry."""
    data_dir = Path(data_dir)
    try:
        with lock(data_dir):
            manifest = read_manifest(data_dir)
            year_entry = manifest["years"].get(str(year))
            if not year_entry:
                raise StoreError(f"没有 {year} 年的数据 / no data for {year}")
            entry = next((v for v in year_entry.get("versions", []) if v["id"] == version), None)
            path = version_path(data_dir, year, version)
            if entry is None or not path.exists():
                known = ", ".join(v["id"] for v in year_entry.get("versions", []))
                raise StoreError(f"{year} 年没有版本 {version}（现有：{known}） / {year} has no version {version} "
                                 f"(versions: {known})")
            _swap_in(path, current_path(data_dir, year))
            manifest["years"][str(year)] = {**year_entry, **entry, "current": version,
                                            "versions": year_entry["versions"]}
            _write_manifest(data_dir, manifest)
            _aggregates(data_dir, year)
            return entry
    except Timeout:
        raise StoreError(busy_message(data_dir)) from None


def _aggregates(data_dir: Path, year: int) -> None:
    """Pre-aggregates of the year's current snapshot. Best effort: without them, readers build their own."""
    from junheng import settings
    from junheng.data import db
    try:
        db.write_aggregates(data_dir, year, current_path(data_dir, year), settings.load_thresholds())
    except (settings.SettingsError, OSError, db.duckdb.Error):
        pass


def versions(data_dir: Path) -> pl.DataFrame:
    """Every stored version: year, id, source, checksum, rows, synthetic, written_at, is_current."""
    rows = []
    for year, entry in sorted(read_manifest(data_dir)["years"].items()):
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


def busy_message(data_dir: Path) -> str:
    return (f"另一个导入正在进行（{LOCK_WAIT_S} 秒后仍未结束），请稍后再试：{data_dir} / another import is "
            f"running in {data_dir} (still after {LOCK_WAIT_S} s); try again later")


class _NoLock:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

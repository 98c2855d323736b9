"""DuckDB over the Parquet snapshots: logical views, and named queries run with bound parameters."""
from __future__ import annotations

import hashlib
import os
from functools import cache
from pathlib import Path

import duckdb
import polars as pl

from junheng.data import manifest as manifest_files
from junheng.settings import QUERY_DIR


class DataError(RuntimeError):
    """The data directory is missing something a query needs; the message names it."""


def snapshot_files(data_dir: Path) -> list[Path]:
    return sorted(Path(data_dir).glob("snapshots/year=*/*.parquet"))


def snapshot_health(data_dir: Path) -> tuple[list[Path], dict[int, str]]:
    """(readable snapshot files, {year: problem}) — a year the manifest lists whose file is missing or
    cannot be read is reported, never read, so the other years keep working. Problems name files
    relative to the data directory (users never see server paths)."""
    import json

    import pyarrow.parquet as pq
    data_dir = Path(data_dir)
    good, problems = [], {}
    for path in snapshot_files(data_dir):
        year = int(path.parent.name.removeprefix("year="))
        try:
            pq.read_metadata(path)
            good.append(path)
        except Exception as e:  # pyarrow raises several kinds for a truncated or foreign file
            problems[year] = f"快照文件损坏 / damaged snapshot: {path.relative_to(data_dir)} ({type(e).__name__})"
    manifest = data_dir / "manifest.json"
    if manifest.exists():
        try:
            listed = json.loads(manifest.read_text(encoding="utf-8")).get("years", {})
        except ValueError:
            listed = {}
        present = {int(p.parent.name.removeprefix("year=")) for p in snapshot_files(data_dir)}
        for year in listed:
            if int(year) not in present:
                problems[int(year)] = f"快照文件缺失 / missing snapshot: snapshots/year={year}/part-0.parquet"
    return good, problems


def fingerprint(data_dir: Path) -> str:
    """Changes whenever a snapshot, boundary or county self-assessment file is replaced; part of every cache key."""
    h = hashlib.sha1()
    paths = (snapshot_files(data_dir) + sorted(Path(data_dir).glob("boundaries/*.parquet"))
             + sorted(Path(data_dir).glob("aggregates/*/year=*/*.parquet"))
             + sorted(Path(data_dir).glob("county_items/year=*/*.parquet")))
    for path in paths + [Path(data_dir) / "manifest.json", Path(data_dir) / "county_items" / "manifest.json"]:
        if path.exists():
            st = path.stat()
            h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}:{st.st_ino}".encode())
    return h.hexdigest()[:16]


def duckdb_config() -> dict:
    """A bounded DuckDB (issue 15: server memory ≤ 1.5 GB): its memory limit from the settings (the default
    is 80% of the machine), spilling to a private folder in the system's temporary directory."""
    import tempfile

    from junheng import settings
    return {"memory_limit": settings.get("JUNHENG_DUCKDB_MEMORY"),
            "temp_directory": str(Path(tempfile.gettempdir()) / f"junheng-duckdb-{os.getuid()}")}


def connect(data_dir: Path, rules: dict | None = None) -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB connection with the views `schools` and `counties` and the pre-aggregated tables.

    The school views and aggregates are scoped: every read sees only the rows of the region scope set on its
    cursor by `run` (none at all when no scope is set). The raw data sit behind names starting with `_`,
    which no query file may use.
    rules: the evaluation rules whose counting settings the pre-aggregates use (default: the settings file).
    """
    data_dir = Path(data_dir)
    files, damaged = snapshot_health(data_dir)
    if not files:
        raise DataError("no snapshots under snapshots/")
    county_file = data_dir / "boundaries" / "counties.parquet"
    if not county_file.exists():
        raise DataError("boundaries missing: boundaries/counties.parquet")
    con = duckdb.connect(config=duckdb_config())
    # Each file's footer is read once per connection, not once per query.
    con.execute("set parquet_metadata_cache = true")
    _schools_view(con, _snapshot_source(files), "_schools")
    manifest = _manifest(data_dir)
    history = history_path(data_dir, manifest)
    # Without a layout (older data) or with a damaged year: the yearly files, which leave that year out.
    _history_macro(con, history if history is not None and history.exists() and not damaged else None)
    con.execute(
        "create view counties as select county_code, county_name, prefecture_code, prefecture_name, "
        f"province_code, province_name, in_statistics from read_parquet({_quote(county_file)})"
    )
    years = [int(p.parent.name.removeprefix("year=")) for p in files]
    try:
        synthetic = manifest_files.synthetic_counties(data_dir)
    except manifest_files.ManifestError:  # nothing counts as synthetic: a guest is shown less, never more
        synthetic = {}
    # From one frame: an insert per county and year took 5 s at national size.
    synthetic_rows = pl.DataFrame({"county_code": [c for y in years for c in sorted(synthetic.get(y, ()))],
                                   "year": [y for y in years for _ in synthetic.get(y, ())]},
                                  schema={"county_code": pl.String, "year": pl.Int32})
    con.register("_synthetic_rows", synthetic_rows)
    con.execute("create table _synthetic as select * from _synthetic_rows")
    con.unregister("_synthetic_rows")
    # The county totals every page reads, so national views never re-scan 2.5 million school rows:
    # read from the aggregates written with each snapshot when they match it and the rules, else built here.
    if rules is None:
        from junheng import settings
        rules = settings.load_thresholds()
    con.execute("create view schools as select * from _schools")  # unscoped only while the aggregates are built
    for name, params in materialized_params(rules).items():
        stored = [aggregate_path(data_dir, year, name, params, manifest) for year in years]
        if all(path is not None and path.exists() for path in stored):
            # Copied in (small): the connection never depends on files a later import may replace.
            con.execute(f"create table _{name} as select * from read_parquet($files)",  # name: from MATERIALIZED
                        {"files": [str(p) for p in stored]})
        else:
            con.execute(f"create table _{name} as " + query_body(name), params)
    _evaluation_tables(con, data_dir, years, rules, manifest)
    _cohort_base(con, data_dir, manifest, rules, damaged)
    # The county-years that are not synthetic (see SCOPED): every county-year of the county totals, which hold
    # one row per county-year of the snapshots, less the synthetic ones. When the manifest cannot say which are
    # synthetic, that is every county-year: a guest is shown less, never more.
    con.execute("create table _real as select county_code, year::integer as year from _county_year_totals "
                "except select county_code, year from _synthetic")
    for name in ("schools", *MATERIALIZED, *EVALUATED, "cohort_base"):
        con.execute(f"create or replace view {name} as select * from _{name} as rows where {SCOPED}")
    con.execute("create view cohort_base_threshold as select * from _cohort_base_threshold")
    _county_items(con, data_dir)
    con.execute(f"create view county_items as select * from _county_items as rows where {SCOPED_IMPORTED}")
    con.execute(f"create macro schools_by_county(region) as table select * from _schools_by_county(region) as rows "
                f"where {SCOPED}")
    return con


def _county_items(con, data_dir: Path) -> None:
    """The raw `_county_items` (the county self-assessment, junheng/data/county_table.py): every year's current
    file copied in (a few rows per county), so a later import never changes what an open connection reads. A
    year whose file cannot be read is left out and logged (its items then read as not assessed)."""
    import logging

    frames = []
    for path in sorted(manifest_files.COUNTY_ITEMS.root(data_dir).glob("year=*/part-0.parquet")):
        try:
            frames.append(pl.read_parquet(path, columns=["county_code", "item", "value"]).with_columns(
                pl.lit(int(path.parent.name.removeprefix("year=")), dtype=pl.Int32).alias("year")))
        except (OSError, ValueError, pl.exceptions.PolarsError):
            logging.getLogger(__name__).warning("county self-assessment file unreadable, left out: %s",
                                                path.relative_to(data_dir), exc_info=True)
    con.execute("create table _county_items (county_code varchar, year integer, item varchar, value double)")
    if frames:
        con.register("_county_items_rows", pl.concat(frames, how="vertical_relaxed"))
        con.execute("insert into _county_items select county_code, year, item, value from _county_items_rows")
        con.unregister("_county_items_rows")


COHORT_QUERY = "cohort_rows"  # the cohort's rows (junheng/data/cohort.py builds its statements from it)
COHORT_BASE_FACETS = ("urban_rural", "school_type", "is_public", "is_boarding", "township")


def cohort_base_columns() -> tuple[str, ...]:
    """The cohort base's columns besides its keys: the facets and every derived measure (students among them)."""
    from junheng.rules import cohort as grammar
    return tuple(dict.fromkeys([*COHORT_BASE_FACETS, *(f.name for f in grammar.measures())]))


def cohort_base_path(data_dir: Path, manifest: dict | None, min_count: int) -> Path | None:
    """Where the cohort base of the current versions, this threshold and these measures is (or would be): written
    by junheng/data/cohort.py write_base, opened here."""
    import hashlib
    folder = history_path(Path(data_dir), manifest)
    if folder is None:
        return None
    key = "\n".join([folder.name, str(int(min_count)), query_text(COHORT_QUERY), *cohort_base_columns()])
    return Path(data_dir) / "aggregates" / "cohort_base" / f"{hashlib.sha1(key.encode()).hexdigest()[:12]}.parquet"


def _cohort_base(con, data_dir: Path, manifest: dict | None, rules: dict, damaged: dict) -> None:
    """The raw `_cohort_base` (junheng/data/cohort.py write_base) and its threshold, when written for the current
    versions and the rules' privacy threshold; else an empty one (the statistics read the snapshots)."""
    min_count = (rules.get("privacy") or {}).get("min_count")
    path = cohort_base_path(data_dir, manifest, int(min_count)) if isinstance(min_count, int) else None
    if path is not None and path.exists() and not damaged:
        con.execute(f"create view _cohort_base as select * from read_parquet({_quote(path)})")  # our own path
        con.execute("create table _cohort_base_threshold as select $min_count::integer as min_count",
                    {"min_count": int(min_count)})
    else:
        con.execute("create view _cohort_base as select null::varchar as county_code, null::integer as year "
                    "where false")
        con.execute("create table _cohort_base_threshold (min_count integer)")


# Per county and year, what the evaluation takes from the school rows (evaluation.level_results and
# verdicts.school_row_items): computed in Polars once per data version and rules, stored beside the SQL
# aggregates, so a national evaluation page never fetches and re-evaluates 250,000 school rows.
EVALUATED = ("county_level_results", "county_row_items", "school_count_status", "left_behind_groups", "migrant_groups",
             "published_cells")
# Decided by the privacy threshold alone (the count suppression), not by the evaluation rules.
BY_MIN_COUNT = ("school_count_status", "left_behind_groups", "migrant_groups", "published_cells")
PROTECTED = ("school_count_status", "left_behind_groups", "migrant_groups", "published_cells")


def evaluation_params(rules: dict) -> dict:
    """What the evaluated aggregates depend on: every rule but the privacy threshold (a cache tag)."""
    import json
    kept = {k: v for k, v in rules.items() if k != "privacy"}
    return {"rules": hashlib.sha1(json.dumps(kept, sort_keys=True, default=str).encode()).hexdigest()[:12]}


def evaluated_params(name: str, rules: dict) -> dict:
    """The cache tag of an evaluated aggregate: the count statuses depend on the privacy threshold only."""
    if name in BY_MIN_COUNT:
        # "audit": statuses stored before the audit by optimisation (issue 23) are not read: they could be worked back
        return {"min_count": int(rules["privacy"]["min_count"]), "audit": 1}
    return evaluation_params(rules)


def evaluated(schools: pl.DataFrame, year: int, rules: dict, names: tuple[str, ...] = EVALUATED
              ) -> dict[str, pl.DataFrame]:
    """The evaluated aggregates `names` of one year's school rows (every dictionary column present)."""
    from junheng.rules import evaluation, indicators, left_behind, published_counts, verdicts
    min_count = int(rules["privacy"]["min_count"])
    out = {}
    if "county_level_results" in names:
        out["county_level_results"] = evaluation.level_results(evaluation.level_values(schools, rules), rules)
    if "county_row_items" in names:
        out["county_row_items"] = verdicts.school_row_items(schools, rules)
    # The left-behind page's protection and its migrant group totals' serve both the stored statuses and the
    # stored breakdowns: solved once per year (solving each twice was 30% of a national demo's generation).
    rows = schools.with_columns(indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group"))
    shield = migrant = None
    early: dict[str, dict] = {}  # what the published cells need of the schools, whatever the protection decides
    if set(PROTECTED) & set(names):
        shield, migrant = left_behind.both_protections(
            rows, min_count, (lambda: early.update(schools=published_counts.school_cells(rows)))
            if "published_cells" in names else None)
    if "school_count_status" in names:
        # Which left-behind and migrant counts may be published (the cohort page's suppression, decided per county):
        # 100 s for the 13 national years on the first cohort of a fresh server before it was stored.
        out["school_count_status"] = published_counts.year_status(rows, min_count, shield, migrant).join(
            schools.select("school_id", "county_code"), on="school_id", how="left")
    if "left_behind_groups" in names:
        # The left-behind page's breakdowns above a county: group sums and statuses per county (its suppression
        # took 7.6 s for a national year, on each year's first visit).
        out["left_behind_groups"] = left_behind.stored_groups(rows, shield)
    if "migrant_groups" in names:
        out["migrant_groups"] = left_behind.migrant_groups(schools, min_count, migrant)
    if "published_cells" in names:
        # Every left-behind and migrant cell anything shows, with its status (`junheng published` prints it).
        out["published_cells"] = published_counts.cells(rows, shield, migrant, early.get("schools"))
    for name in BY_MIN_COUNT:
        if name in out:
            out[name] = out[name].with_columns(pl.lit(min_count).alias("min_count"))
    return {name: frame.with_columns(pl.lit(year, dtype=pl.Int32).alias("year")) for name, frame in out.items()}


def _write_frame(frame: pl.DataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp")
    frame.write_parquet(tmp)
    tmp.replace(target)


# Evaluated aggregates read in place from their stored files instead of copied into the connection: the
# per-school count statuses are 3.9 million rows nationally (320 MB as a table); the left-behind breakdowns
# 904,000 rows (copying them in was 0.18 s of opening the national data, so of a fresh server's first page; its
# queries take 3 ms more, about 10 ms). The files are named by version and never rewritten, so a connection never
# sees them change. (The SQL aggregates stay copied in: read in place, a county's region_level_group_totals took
# 25 ms instead of 9.)
READ_IN_PLACE = ("school_count_status", "left_behind_groups")


def _evaluation_tables(con, data_dir: Path, years: list[int], rules: dict, manifest: dict | None) -> None:
    """The evaluated tables (the view _school_count_status): read from the stored files of the current versions
    (by DuckDB, no Polars copy); what a year lacks (older data, other rules) is evaluated here once and its files
    written (best effort: a read-only data directory just evaluates it again next time)."""
    files: dict[str, list[str]] = {name: [] for name in EVALUATED}
    built: dict[str, list[pl.DataFrame]] = {name: [] for name in EVALUATED}
    for year in years:
        paths = {name: aggregate_path(data_dir, year, name, evaluated_params(name, rules), manifest)
                 for name in EVALUATED}
        stored = {name: path for name, path in paths.items() if path is not None and path.exists()}
        for name, path in stored.items():
            files[name].append(str(path))
        missing = tuple(name for name in EVALUATED if name not in stored)
        if not missing:
            continue
        # Only what is missing (a new aggregate in older data is computed without redoing the others).
        schools = con.sql("select * from schools where year = $year", params={"year": year}).pl()
        for name, frame in evaluated(schools, year, rules, missing).items():
            built[name].append(frame)
            if paths[name] is not None:
                try:
                    _write_frame(frame, paths[name])
                except OSError:
                    pass
        del schools
    for name in EVALUATED:  # name: from EVALUATED, never a user's
        if name in READ_IN_PLACE and files[name] and not built[name]:
            # a view cannot hold bound parameters: the file list (our own paths) is written into it, quoted
            listed = "[" + ", ".join(_quote(Path(f)) for f in files[name]) + "]"
            con.execute(f"create view _{name} as select * from read_parquet({listed}, hive_partitioning = false)")
            continue
        parts = []
        if files[name]:
            parts.append("select * from read_parquet($files, union_by_name = true, hive_partitioning = false)")
        if built[name]:
            con.register(f"_built_{name}", pl.concat(built[name], how="diagonal_relaxed"))
            parts.append(f"select * from _built_{name}")
        con.execute(f"create table _{name} as " + " union all by name ".join(parts),
                    {"files": files[name]} if files[name] else {})
        if built[name]:
            con.unregister(f"_built_{name}")


# Rows inside the cursor's scope (see `run`): an unset scope is NULL, so nothing is inside it.
# A synthetic-only scope (a guest) drops the county-years in `_real` (every county-year the data hold that is not
# synthetic, usually none or a few bureaus'): DuckDB builds its hash table on that small side. The earlier
# `in (select … from _synthetic)` (37,000 county-years at national size) made it hash the school rows instead:
# a guest's national year of school rows took 227 ms, now 110 ms, and every scope paid a join on the 37,000.
# An uncorrelated subquery, not a correlated `exists`: DuckDB then still pushes a query's own filters (a county,
# a year) down into the Parquet scan; with `exists` it read every year of every county (1.4 s for one county).
SCOPED = ("starts_with(rows.county_code, getvariable('scope_region')) "
          "and (not getvariable('scope_synthetic_only') or (rows.county_code, rows.year) not in "
          "(select county_code, year from _real))")


# The county self-assessment holds imported items only (the demo data ship none): a guest's scope, synthetic data
# only, sees none of it, whatever county; others see the items of their region.
SCOPED_IMPORTED = ("starts_with(rows.county_code, getvariable('scope_region')) "
                   "and not getvariable('scope_synthetic_only')")


def _manifest(data_dir: Path) -> dict | None:
    import json
    try:
        return json.loads((Path(data_dir) / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def aggregate_path(data_dir: Path, year: int, name: str, params: dict, manifest: dict | None = None) -> Path | None:
    """Where the aggregate `name` of the current version of year, built with params, is stored (or None).
    manifest: the manifest already read (a national one is megabytes; read it once per connection)."""
    try:
        entry = (manifest if manifest is not None else _manifest(data_dir))["years"][str(year)]
    except (TypeError, KeyError):
        return None
    return _version_file(data_dir, year, name, params, entry["current"])


def _version_file(data_dir: Path, year: int, name: str, params: dict, version: str) -> Path:
    """Where the aggregate `name` of one version of year, built with params, is stored."""
    import json
    tag = hashlib.sha1(json.dumps(params, sort_keys=True).encode()).hexdigest()[:8]
    return Path(data_dir) / "aggregates" / name / f"year={year}" / f"{version}-{tag}.parquet"


# Every year's school rows in one file per province, sorted by county, year and school, in row groups of
# HISTORY_ROWS rows: one county's history then sits in one or two row groups of one file instead of a row group in
# each of the yearly files (issue 15: `school_history` for one county read a slice of every year; one national
# file of 945 row groups was slower still). Named by the current versions of all years, rewritten after each
# write; readers fall back to the yearly files when it does not match them.
HISTORY_ROWS = 4096
HISTORY_KEPT = 3  # older layouts are deleted beyond this many (a connection opened on one keeps reading it)


def history_path(data_dir: Path, manifest: dict | None) -> Path | None:
    """The folder of the by-county layout of the current versions (or where it would be); None without a
    manifest. Inside: province=XX/data_0.parquet."""
    import json
    try:
        current = sorted((int(y), e["current"]) for y, e in manifest["years"].items())
    except (TypeError, KeyError, AttributeError):
        return None
    if not current:
        return None
    tag = hashlib.sha1(json.dumps(current).encode()).hexdigest()[:12]
    return Path(data_dir) / "aggregates" / "by_county" / tag


def write_history(data_dir: Path) -> Path | None:
    """Write the by-county layout of the current snapshots (nothing to do when it exists). Best effort."""
    import shutil
    data_dir = Path(data_dir)
    target = history_path(data_dir, _manifest(data_dir))
    files, problems = snapshot_health(data_dir)
    if target is None or target.exists() or problems or not files:
        return target if target is not None and target.exists() else None
    tmp = target.with_name(f".{target.name}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(config=duckdb_config())
    try:
        con.execute("set enable_progress_bar = false")
        _schools_view(con, _snapshot_source(files))
        con.execute("copy (select *, left(county_code, 2) as province from schools order by county_code, year, "
                    f"school_id) to {_quote(tmp)} (format parquet, partition_by (province), "
                    f"row_group_size {HISTORY_ROWS})")  # our own path and constant
        con.close()
        tmp.replace(target)
    finally:  # a failed write leaves nothing behind (a crash leaves the hidden folder, which store.recover removes)
        con.close()
        shutil.rmtree(tmp, ignore_errors=True)
    older = sorted((p for p in target.parent.iterdir() if p != target and not p.name.startswith(".")),
                   key=lambda p: p.stat().st_mtime)
    for stale in older[:max(0, len(older) - (HISTORY_KEPT - 1))]:
        shutil.rmtree(stale, ignore_errors=True)
    return target


def _history_macro(con, history: Path | None) -> None:
    """The table macro _schools_by_county(region): the rows of region's province from the by-county layout (every
    province for a region that is not a province code, e.g. ''), or without a layout, every yearly row. Queries
    still filter by their region; the scoped macro schools_by_county applies the cursor's scope."""
    if history is None:
        con.execute("create macro _schools_by_county(region) as table select * from _schools")
        return
    import re
    held = [p.name.removeprefix("province=") for p in history.glob("province=*")]
    listed = ", ".join(f"'{code}'" for code in sorted(held) if re.fullmatch(r"\d{2}", code)) or "''"
    # A province the layout does not hold reads every province (its rows are then filtered away), never a
    # file pattern that matches nothing (an error).
    province = f"case when left(region, 2) in ({listed}) then left(region, 2) else '*' end"
    folder = str(history).replace("'", "''")  # our own path
    con.execute(f"create macro _schools_by_county(region) as table select * from read_parquet("
                f"'{folder}/province=' || ({province}) || '/*.parquet', hive_partitioning = false)")


def write_aggregates(data_dir: Path, year: int, snapshot: Path, rules: dict) -> dict:
    """Build every pre-aggregate of one year's snapshot file and store it beside the data (for connect).
    The protected ones are computed only for the counties whose protection inputs changed since an earlier stored
    version (see `protected_aggregates`). Returns what the protection did: {"counties", "computed", "reused",
    "source", "reason"}."""
    manifest = _manifest(data_dir)  # read once: the version being written is its current one
    con = duckdb.connect()
    _schools_view(con, f"read_parquet({_quote(snapshot)})")
    for name, params in materialized_params(rules).items():
        target = aggregate_path(data_dir, year, name, params, manifest)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.tmp")
        con.execute(f"copy ({query_body(name)}) to {_quote(tmp)} (format parquet)", params)
        tmp.replace(target)
    schools = con.sql("select * from schools").pl()
    con.close()
    for name, frame in evaluated(schools, year, rules, tuple(n for n in EVALUATED if n not in PROTECTED)).items():
        _write_frame(frame, aggregate_path(data_dir, year, name, evaluated_params(name, rules), manifest))
    frames, digests, done = protected_aggregates(data_dir, year, schools, rules, manifest)
    write_protection(data_dir, year, manifest["years"][str(year)]["current"], rules, frames, digests)
    import logging
    logging.getLogger(__name__).info("protection of %s: %s of %s counties computed (%s), the rest from %s", year,
                                     done["computed"], done["counties"], done["reason"], done["source"])
    return done


# Incremental protection (issue 23). The protection of the small counts (suppression, audit by optimisation,
# repair) of one county depends only on that county's rows and min_count: every published sum lies inside one
# county. A write of a year (an import of one county, a rollback) therefore protects only the counties whose
# protection inputs changed since an earlier stored version of the year, and takes the other counties' rows of
# the PROTECTED aggregates from that version's files. "Changed" is decided by a digest per county of the
# PROTECTION_COLUMNS of its rows, stored beside the aggregates (aggregates/protection_digest/year=Y/<version>-<tag>
# .parquet, with min_count and PROTECTION_FORMAT). Anything unsure (no earlier version with a digest file, an
# unreadable file, another min_count or format, a column missing, a schema that differs) protects the whole year.
# One reused county (the smallest) is protected again anyway and must match its stored rows (else: the whole
# year): a canary against a change of the protection's code without a bump of PROTECTION_FORMAT.
#
# PROTECTION_FORMAT covers junheng/rules/privacy.py, privacy_audit.py, published_counts.py, left_behind.py
# (protection, migrant_protection, county_groups, stored_groups, migrant_groups), indicators.urban_rural_group and
# the protected part of `evaluated` above: bump it when any of them changes what it computes from the same rows.
# 2: the repair keeps each covering solution as a table the reader cannot tell from the true one and skips a cell
# it already moves far enough; the covering LP without presolve (other optimal vertices: other cells withheld).
# 3: the first pass's round against the audit's criteria (privacy._System._widen), and the covering LP's dual simplex
# without cost perturbation (other optimal vertices).
PROTECTION_FORMAT = 3
# Every column the protection reads (tests/test_incremental_protection.py protects rows of these columns only
# and checks the result is the same as from every column).
PROTECTION_COLUMNS = ("county_code", "school_id", "township", "urban_rural_code", "school_type", "is_public",
                      "is_boarding", "primary_students", "junior_students", "psych_teachers", "left_behind_students",
                      "migrant_students", "boarding_students")
DIGEST = "protection_digest"
# The rows of one county in a PROTECTED aggregate, ordered (the canary's comparison, the tests').
PROTECTED_KEYS = {"school_count_status": ("county_code", "school_id"),
                  "left_behind_groups": ("county_code", "breakdown", "group"),
                  "migrant_groups": ("county_code", "group"),
                  "published_cells": ("county_code", "measure", "cell_id")}
INCREMENTAL = True  # False: every county of the year protected afresh (the A/B of tools/bench and the tests)
PREVIOUS_TRIED = 3  # earlier versions of the year looked at for a digest file, newest first


def digest_params(rules: dict) -> dict:
    """The cache tag of the digest file: the protected aggregates' tag and the format."""
    return {**evaluated_params(PROTECTED[0], rules), "format": PROTECTION_FORMAT}


def protection_files(data_dir: Path, year: int, version: str, rules: dict) -> dict[str, Path]:
    """The PROTECTED aggregates' files of one version of year, and its digest file (DIGEST)."""
    files = {name: _version_file(data_dir, year, name, evaluated_params(name, rules), version) for name in PROTECTED}
    return {**files, DIGEST: _version_file(data_dir, year, DIGEST, digest_params(rules), version)}


def write_protection(data_dir: Path, year: int, version: str, rules: dict, frames: dict[str, pl.DataFrame],
                     digests: pl.DataFrame | None) -> None:
    """Store one version's PROTECTED aggregates, then its digest rows (`digest_rows`): last, so a version's digest
    file exists only when every protected file of it was written before (each through a temporary name)."""
    files = protection_files(data_dir, year, version, rules)
    for name in PROTECTED:
        _write_frame(frames[name], files[name])
    if digests is not None:
        _write_frame(digests, files[DIGEST])


def digest_rows(schools: pl.DataFrame, rules: dict) -> pl.DataFrame | None:
    """What a version stores as its digest file: `protection_digests` with min_count and PROTECTION_FORMAT."""
    digests = protection_digests(schools)
    return None if digests is None else digests.with_columns(
        pl.lit(int(rules["privacy"]["min_count"]), pl.Int32).alias("min_count"),
        pl.lit(PROTECTION_FORMAT, pl.Int32).alias("format"))


def protection_digests(schools: pl.DataFrame) -> pl.DataFrame | None:
    """county_code, digest (sha1 of the county's PROTECTION_COLUMNS, rows in a canonical order, every value
    length-prefixed, a null distinct from every text), rows; None when a column is missing."""
    if any(c not in schools.columns for c in PROTECTION_COLUMNS):
        return None
    def field(c: str) -> pl.Expr:
        text = pl.col(c).cast(pl.String)
        return pl.when(text.is_null()).then(pl.lit("n")).otherwise(
            pl.lit("v") + text.str.len_bytes().cast(pl.String) + pl.lit(":") + text)
    rows = schools.select("county_code", pl.concat_str([field(c) for c in PROTECTION_COLUMNS]).alias("_row"))
    per_county = rows.sort("county_code", "_row").group_by("county_code", maintain_order=True).agg(
        pl.col("_row").str.join(""), pl.len().alias("rows"))
    return pl.DataFrame({
        "county_code": per_county["county_code"],
        "digest": [hashlib.sha1(text.encode()).hexdigest() for text in per_county["_row"].to_list()],
        "rows": per_county["rows"].cast(pl.Int64)}, schema={"county_code": pl.String, "digest": pl.String,
                                                            "rows": pl.Int64})


def _earlier_protection(data_dir: Path, year: int, rules: dict, manifest: dict | None
                        ) -> tuple[str, pl.DataFrame, dict[str, pl.DataFrame]] | str:
    """(version, its digests, its PROTECTED frames) of the newest stored version of year (the current one first:
    a recovery's rerun, then the one it was written on, then the others) with a digest file of the same min_count
    and format; else why not (a text)."""
    try:
        entry = manifest["years"][str(year)]
        ids = [v["id"] for v in entry.get("versions", [])]
        base = next((v.get("base") for v in entry.get("versions", []) if v.get("id") == entry["current"]), None)
    except (TypeError, KeyError, AttributeError):
        return "no manifest entry"
    order = [entry["current"], *([base] if base else []), *reversed(ids)]
    candidates = list(dict.fromkeys(v for v in order if isinstance(v, str)))[:PREVIOUS_TRIED]
    min_count = int(rules["privacy"]["min_count"])
    for version in candidates:
        files = protection_files(data_dir, year, version, rules)
        if not files[DIGEST].exists():
            continue
        try:
            digests = pl.read_parquet(files[DIGEST])
            if (digests["min_count"] != min_count).any() or (digests["format"] != PROTECTION_FORMAT).any():
                return f"digest of {version}: another min_count or format"
            frames = {name: pl.read_parquet(files[name]) for name in PROTECTED}
        except Exception as e:  # noqa: BLE001 — a damaged or foreign file of any kind: protect the whole year
            return f"{version} unreadable ({type(e).__name__})"
        return version, digests.select("county_code", "digest"), frames
    return "no earlier version with a digest"


def protected_aggregates(data_dir: Path, year: int, schools: pl.DataFrame, rules: dict, manifest: dict | None
                         ) -> tuple[dict[str, pl.DataFrame], pl.DataFrame | None, dict]:
    """The PROTECTED aggregates of year's rows (what `evaluated` gives), computed only for the counties whose
    protection inputs changed since an earlier stored version; the digest rows to store; what was done."""
    digests = digest_rows(schools, rules)
    counties = schools["county_code"].n_unique()

    def full(reason: str, source: str = "—"):
        frames = evaluated(schools, year, rules, PROTECTED)
        return frames, digests, {"counties": counties, "computed": counties, "reused": 0,
                                 "source": source, "reason": reason}
    if not INCREMENTAL:
        return full("full protection asked for")
    if digests is None:
        return full("a protection column missing")
    earlier = _earlier_protection(data_dir, year, rules, manifest)
    if isinstance(earlier, str):
        return full(earlier)
    version, old_digests, old = earlier
    same = digests.join(old_digests, on=["county_code", "digest"], how="semi")
    if same.is_empty():
        return full("every county changed", version)
    canary = same.sort("rows", "county_code").row(0, named=True)["county_code"]
    reused = [c for c in same["county_code"].to_list() if c != canary]
    compute = schools.filter(~pl.col("county_code").is_in(reused))
    fresh = evaluated(compute, year, rules, PROTECTED)
    frames = {}
    for name in PROTECTED:
        before, now = old[name], fresh[name]
        if before.schema != now.schema:
            return full(f"{name} of {version}: another schema", version)
        keys = list(PROTECTED_KEYS[name])
        if not before.filter(pl.col("county_code") == canary).sort(keys).equals(
                now.filter(pl.col("county_code") == canary).sort(keys)):
            return full(f"{name}: county {canary} protected otherwise than stored in {version}", version)
        frames[name] = pl.concat([before.filter(pl.col("county_code").is_in(reused)), now]).sort(
            "county_code", maintain_order=True)
    computed = compute["county_code"].n_unique()
    return frames, digests, {"counties": counties, "computed": computed, "reused": len(reused),
                             "source": version, "reason": "changed counties only"}


SQL_TYPES = {"int": "integer", "float": "double", "text": "varchar", "code": "varchar", "bool": "boolean"}


def schools_columns() -> dict[str, str]:
    """Every column the `schools` view has, whatever the snapshots hold: name -> dictionary type."""
    from junheng.data import dictionary
    return {c.name: c.type for c in dictionary.columns()}


def _snapshot_source(files: list[Path]) -> str:
    """A `from` source over the snapshot files with one fixed schema and no `union_by_name` (which made DuckDB
    read every year's schema on every query): files with the same columns are read together, each group
    brought to the data dictionary's columns (a column a group lacks reads as null), and the groups joined
    with `union all by name`."""
    import pyarrow.parquet as pq
    dictionary = schools_columns()
    groups: dict[tuple[str, ...], list[Path]] = {}
    for path in files:
        groups.setdefault(tuple(pq.read_schema(path).names), []).append(path)
    if len(groups) == 1:
        return "read_parquet([" + ", ".join(_quote(p) for p in files) + "])"
    parts = []
    for names, paths in groups.items():
        missing = "".join(f", null::{SQL_TYPES[kind]} as {name}"  # names and types from the dictionary
                          for name, kind in dictionary.items() if name not in names)
        parts.append(f"select *{missing} from read_parquet([" + ", ".join(_quote(p) for p in paths) + "])")
    return "(" + " union all by name ".join(parts) + ")"


def _schools_view(con: duckdb.DuckDBPyConnection, source: str, name: str = "schools") -> None:
    """The `schools` view (or the raw `_schools` behind the scoped one) over source, with every data-dictionary column: an optional column that older
    snapshots lack (e.g. senior_students) reads as null, so queries may name it."""
    present = {row[0] for row in con.execute(f"describe select * from {source}").fetchall()}
    missing = "".join(f", null::{SQL_TYPES[kind]} as {name}"  # names and types from the dictionary
                      for name, kind in schools_columns().items() if name not in present)
    con.execute(f"create view {name} as select *{missing} from {source}")  # name: ours, never a user's


# Query files whose results become tables when the data are opened, with the settings they bind.
MATERIALIZED = ("county_year_totals", "county_level_group_totals")


def materialized_params(rules: dict) -> dict[str, dict]:
    return {"county_year_totals": {},
            "county_level_group_totals": {"junior_weight": rules["rules"]["junior_weight"],
                                          "senior_weight": rules["rules"]["senior_weight"]}}


def _quote(path: Path) -> str:
    return "'" + str(path).replace("'", "''") + "'"


@cache
def query_text(name: str) -> str:
    path = QUERY_DIR / f"{name}.sql"
    if not path.is_file() or path.parent != QUERY_DIR:
        raise KeyError(f"unknown query: {name}")
    return path.read_text(encoding="utf-8")


def query_body(name: str) -> str:
    """The query without its two header lines (to wrap in `create table … as` or `copy`)."""
    return query_text(name).split("\n", 2)[2]


def query_names() -> list[str]:
    return sorted(p.stem for p in QUERY_DIR.glob("*.sql"))


def run(con: duckdb.DuckDBPyConnection, name: str, scope, **params) -> pl.DataFrame:
    """Run queries/<name>.sql with named parameters bound, inside scope (a junheng.data.scope.Scope).

    The scope is set on the query's own cursor before the query runs, so the scoped views return only its
    rows; a cursor per call keeps threads and users apart.
    """
    return run_text(con, query_text(name), scope, params)


def copy_text(con: duckdb.DuckDBPyConnection, text: str, scope, params: dict, target: Path, row_group_size: int
              ) -> None:
    """Write what SQL text gives inside scope (as `run_text`) to the Parquet file target (our own path)."""
    cursor = con.cursor()
    try:
        cursor.execute("set variable scope_region = $region", {"region": scope.region})
        cursor.execute("set variable scope_synthetic_only = $synthetic", {"synthetic": bool(scope.synthetic_only)})
        cursor.execute(f"copy (\n{text}\n) to {_quote(target)} (format parquet, row_group_size {int(row_group_size)})",
                       params)
    finally:
        cursor.close()


def run_text(con: duckdb.DuckDBPyConnection, text: str, scope, params: dict) -> pl.DataFrame:
    """Run SQL text inside scope, values bound, as `run` does. text: a query file's text, or one that
    junheng/data/cohort.py built from its file with identifiers from its allow-list only (never a user's text)."""
    cursor = con.cursor()
    try:
        cursor.execute("set variable scope_region = $region", {"region": scope.region})
        cursor.execute("set variable scope_synthetic_only = $synthetic", {"synthetic": bool(scope.synthetic_only)})
        return cursor.sql(text, params=params).pl()
    finally:
        cursor.close()

"""`junheng bench`: time every named query the pages use at three scopes, against the pandas way, and the pages.

Queries: cold (a new DuckDB connection) and warm (the same connection, after a warm-up), median and
95th percentile over repeated runs. The pandas way: every snapshot read once into one DataFrame, then
filtered and grouped in pandas, as a typical Streamlit dashboard does; both must give the same numbers.
Pages (bench_pages): headless Chromium against a running app, time until the script has finished and every
chart and map is drawn (fresh load, navigation, year and filter change), the map bytes sent, server memory.
"""
from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import time
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl

from junheng.data import db
from junheng.data.scope import EVERYTHING

SCOPES = {"county": "370724", "province": "37", "national": ""}
EXPORT_ROWS = 100_000  # issue 14: a 100,000-row cohort export in ≤ 5 s


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


def query_cases(years: list[int]) -> list[tuple[str, str, dict]]:
    """(query name, scope name, parameters) as the pages call them."""
    latest = [max(years)]
    cases = [("snapshot_years", "national", {}),
             ("counties_with_data", "national", {})]
    for scope_name, region in SCOPES.items():
        cases.append(("county_totals", scope_name, {"years": years, "region": region}))
        cases.append(("level_group_totals", scope_name, {"years": latest, "region": region}))
        cases.append(("region_level_group_totals", scope_name, {"years": years, "region": region}))
        cases.append(("school_rows", scope_name, {"year": latest[0], "region": region}))
        # 2017: the last year with many oversized classes, so the list is not empty
        cases.append(("huge_class_schools", scope_name, {"year": sorted(years)[1], "region": region}))
    cases.append(("school_history", "county", {"region": SCOPES["county"]}))
    return cases


def pandas_way(frame: pd.DataFrame, counties: pd.DataFrame, name: str, params: dict) -> pd.DataFrame:
    """The same result computed in pandas from one in-memory DataFrame of all snapshots."""
    rows = frame  # the benchmark reads as the local administrator: every county
    if name == "snapshot_years":  # schools per year: 教学点 are counted apart
        schools = rows[rows["school_type"] != "teaching_point"]
        return schools.groupby("year").size().rename("schools").reset_index()
    if name == "counties_with_data":
        codes = rows["county_code"].unique()
        out = counties[counties["county_code"].isin(codes)]
        return out.drop(columns=["in_statistics"]).sort_values("county_code")
    rows = rows[rows["county_code"].str.startswith(params["region"])]
    if name == "school_history":
        return rows.sort_values(["county_code", "school_id", "year"])
    if "year" in params:
        rows = rows[rows["year"] == params["year"]]
        if name == "school_rows":
            return rows.sort_values(["county_code", "school_id"])
        if name == "huge_class_schools":
            rows = rows.assign(classes=rows["primary_classes"] + rows["junior_classes"])
            rows = rows[rows["classes_66_plus"] > 0]
            return rows[["county_code", "school_id", "school_name", "classes_66_plus", "classes_56_65", "classes"]
                        ].sort_values(["classes_66_plus", "school_id"], ascending=[False, True])
    rows = rows[rows["year"].isin(params["years"])]
    if name == "level_group_totals":
        return _pandas_levels(rows, params.get("junior_weight", 1.1))
    if name == "region_level_group_totals":
        levels = _pandas_levels(rows, params.get("junior_weight", 1.1))
        return levels.groupby(["year", "level", "urban_rural_code"], sort=True)[
            ["schools", "students", *LEVEL_RESOURCES]].sum().reset_index()
    if name == "county_totals":
        point = rows["school_type"] == "teaching_point"  # 教学点 are counted apart from schools
        done = (rows["standardized_year"] <= rows["year"]).fillna(False)  # standardized by the row's year
        rows = rows.assign(students=rows["primary_students"] + rows["junior_students"],
                           classes=rows["primary_classes"] + rows["junior_classes"],
                           school=~point, teaching_point=point,
                           standardized=~point & done,
                           public=~point & rows["is_public"],
                           public_standardized=~point & rows["is_public"] & done,
                           standardized_point=point & done)
        sums = ["students", "primary_students", "junior_students", "classes", "classes_56_65", "classes_66_plus",
                "teachers", "teachers_above_degree", "teachers_senior_title", "backbone_teachers",
                "pe_arts_teachers", "psych_teachers", "building_area_m2", "sports_area_m2", "equipment_value_cny",
                "computers", "books", "multimedia_rooms", "left_behind_students", "migrant_students",
                "boarding_students"]
        grouped = rows.groupby(["county_code", "year"], sort=True)
        out = grouped[sums].sum()
        out.insert(0, "schools", grouped["school"].sum())
        out.insert(1, "teaching_points", grouped["teaching_point"].sum())
        out["standardized_schools"] = grouped["standardized"].sum()
        out["public_schools"] = grouped["public"].sum()
        out["public_standardized_schools"] = grouped["public_standardized"].sum()
        out["standardized_teaching_points"] = grouped["standardized_point"].sum()
        return out.reset_index()
    raise KeyError(name)


LEVEL_RESOURCES = ["teachers", "teachers_above_degree", "teachers_senior_title", "backbone_teachers",
                   "pe_arts_teachers", "psych_teachers", "building_area_m2", "sports_area_m2", "equipment_value_cny",
                   "computers", "books", "multimedia_rooms"]


FACILITY_RESOURCES = {"building_area_m2", "sports_area_m2", "equipment_value_cny", "computers", "books"}


def _pandas_levels(rows: pd.DataFrame, weight: float, senior_weight: float = 1.32) -> pd.DataFrame:
    # The split of queries/county_level_group_totals.sql: facilities by weighted enrolment, the rest by plain.
    parts = []
    senior = rows["senior_students"].fillna(0) if "senior_students" in rows else 0
    weighted = rows["primary_students"] + weight * rows["junior_students"] + senior_weight * senior
    plain = rows["primary_students"] + rows["junior_students"] + senior
    for level, students, w in (("primary", "primary_students", 1.0), ("junior", "junior_students", weight)):
        keep = rows[students] > 0
        facility = (w * rows[students] / weighted)[keep]
        enrolment = (rows[students] / plain)[keep]
        piece = rows.loc[keep, ["county_code", "year", "urban_rural_code"]].assign(
            level=level, students=rows.loc[keep, students],
            **{c: rows.loc[keep, c] * (facility if c in FACILITY_RESOURCES else enrolment) for c in LEVEL_RESOURCES})
        parts.append(piece)
    both = pd.concat(parts, ignore_index=True)
    grouped = both.groupby(["county_code", "year", "level", "urban_rural_code"], sort=True)
    out = grouped[["students", *LEVEL_RESOURCES]].sum()
    out.insert(0, "schools", grouped.size())
    return out.reset_index()


def same_numbers(duck: pl.DataFrame, pandas_result: pd.DataFrame) -> bool:
    """Both ways agree: same columns, same rows in the same order, numbers equal to float precision."""
    other = pl.from_pandas(pandas_result.reset_index(drop=True))
    if duck.columns != other.columns or duck.height != other.height:
        return False
    if duck.height == 0:
        return True
    for column in duck.columns:
        a, b = duck[column], other[column]
        if a.dtype.is_numeric() or b.dtype.is_numeric() or a.dtype == pl.Boolean:
            x, y = a.cast(pl.Float64).to_numpy(), b.cast(pl.Float64).to_numpy()
            if not np.allclose(x, y, rtol=1e-9, equal_nan=True):
                return False
        elif a.cast(pl.String).to_list() != b.cast(pl.String).to_list():
            return False
    return True


def _timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def _p95(values: list[float]) -> float:
    return float(np.percentile(values, 95))


def bench_queries(data_dir: Path, repeats: int = 7, log=print) -> tuple[list[dict], dict]:
    con = db.connect(data_dir)
    years = db.run(con, "snapshot_years", EVERYTHING)["year"].to_list()
    files, _ = db.snapshot_health(data_dir)
    start = time.perf_counter()
    frame = pd.concat([pd.read_parquet(f) for f in files], ignore_index=True)
    for name in db.schools_columns():  # as the schools view: a column the snapshots lack reads as null
        if name not in frame:
            frame[name] = None
    counties = pd.read_parquet(Path(data_dir) / "boundaries" / "counties.parquet").drop(columns="geometry")
    counties = counties[["county_code", "county_name", "prefecture_code", "prefecture_name", "province_code",
                         "province_name", "in_statistics"]]
    extra = {"pandas_load_ms": _ms(time.perf_counter() - start), "rows": len(frame)}
    log(f"pandas: {len(frame):,} rows loaded in {extra['pandas_load_ms']:.0f} ms")
    results = []
    for name, scope_name, params in query_cases(years):
        start = time.perf_counter()
        cold_con = db.connect(data_dir)
        db.run(cold_con, name, EVERYTHING, **params)
        cold = time.perf_counter() - start
        cold_con.close()
        db.run(con, name, EVERYTHING, **params)  # warm-up
        warm = _timed(lambda: db.run(con, name, EVERYTHING, **params), repeats)  # noqa: B023 - called now
        duck = db.run(con, name, EVERYTHING, **params)
        pandas_times = _timed(lambda: pandas_way(frame, counties, name, params),  # noqa: B023 - called now
                              max(3, repeats // 2))
        agree = same_numbers(duck, pandas_way(frame, counties, name, params))
        row = {"name": name, "scope": scope_name, "years": len(params.get("years", years)),
               "result_rows": duck.height, "cold_ms": _ms(cold), "warm_ms_median": _ms(statistics.median(warm)),
               "warm_ms_p95": _ms(_p95(warm)), "pandas_ms_median": _ms(statistics.median(pandas_times)),
               "same_numbers": agree}
        row["ratio"] = round(row["pandas_ms_median"] / max(row["warm_ms_median"], 0.01), 1)
        results.append(row)
        log(f"{name:18} {scope_name:8} rows {duck.height:>8,}  cold {row['cold_ms']:8.1f}  warm "
            f"{row['warm_ms_median']:7.1f} / p95 {row['warm_ms_p95']:7.1f}  pandas {row['pandas_ms_median']:8.1f}"
            f"  ×{row['ratio']:<6} {'same' if agree else 'DIFFERENT'}")
    return results, extra


def bench_export(data_dir: Path, rows: int = EXPORT_ROWS, repeats: int = 3, log=print) -> dict:
    """The cohort page's export of `rows` school-year rows (the latest year, the whole country, every column, as
    published): seconds to build each file, median and slowest of `repeats`."""
    from junheng import settings
    from junheng.data import cohort
    from junheng.reports import exports
    from junheng.rules import cohort as grammar
    rules = settings.load_thresholds()
    con = db.connect(data_dir, rules)
    year = max(db.run(con, "snapshot_years", EVERYTHING)["year"].to_list())
    start = time.perf_counter()
    result = cohort.run(con, grammar.Cohort("", year, year, ()), EVERYTHING, (year, year),
                        rules["privacy"]["min_count"])
    frame = cohort.export_frame(result).head(rows)
    out = {"rows": frame.height, "columns": frame.width, "year": year,
           "query_ms": _ms(time.perf_counter() - start), "formats": []}
    for kind in ("csv", "xlsx", "parquet"):
        times, size = [], 0
        for _ in range(repeats):
            began = time.perf_counter()
            size = len(exports.cohort_bytes(frame, kind, "zh"))
            times.append(time.perf_counter() - began)
        out["formats"].append({"format": kind, "seconds_median": round(statistics.median(times), 3),
                               "seconds_max": round(max(times), 3), "bytes": size,
                               "load_average": round(os.getloadavg()[0], 2)})
        log(f"export {kind:8} {frame.height:,} rows: {statistics.median(times):.2f} s median, {max(times):.2f} s max")
    con.close()
    return out


def export_lines(result: dict) -> list[str]:
    """The export section of docs/benchmarks.md."""
    e = result.get("export")
    if not e:
        return []
    lines = ["", f"## Cohort export ({e['rows']:,} rows)", "",
             f"The cohort page's files for {e['rows']:,} school-year rows of {e['year']} ({e['columns']} columns, "
             f"small counts as published), built as the download buttons build them (`exports.cohort_bytes`); "
             f"the cohort query took {e['query_ms']:,.0f} ms. Seconds over {3} builds.", "",
             "| format | median s | slowest s | MB | load |", "|---|---:|---:|---:|---:|"]
    for f in e["formats"]:
        lines.append(f"| {f['format']} | {f['seconds_median']:.2f} | {f['seconds_max']:.2f} | {f['bytes'] / 1e6:.1f} | "
                     f"{f['load_average']} |")
    return lines


def machine() -> dict:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import psutil
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30, 1),
            "python": platform.python_version(), "system": platform.platform()}


def peak_rss_mb() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def run(data_dir: Path, repeats: int = 7, pages: bool = True, log=print, page_rounds: int = 3,
        page_names: list[str] | None = None, scopes: tuple[str, ...] = ("county", "national")) -> dict:
    """The whole benchmark as one JSON-ready dict (the `--json` shape, with a few extra fields)."""
    data_dir = Path(data_dir)
    queries, extra = bench_queries(data_dir, repeats, log)
    result = {"queries": queries, "pages": [], "peak_rss_mb": peak_rss_mb(), "startup_ms": None,
              "demo_national_s": None, "machine": machine(), "load_average": os.getloadavg(), **extra}
    result["export"] = bench_export(data_dir, log=log)
    generation = data_dir / "generation.json"
    if generation.exists():
        info = json.loads(generation.read_text(encoding="utf-8"))
        if info.get("scope") == "national":
            result["demo_national_s"] = info["seconds"]
    if pages:
        from junheng.tools import bench_pages
        page_result = bench_pages.run(data_dir, log, rounds=page_rounds, pages=page_names, scopes=scopes)
        result.update(page_result)
        result["startup_ms"] = page_result["first_page_ms"]
    return result


# Issue 15's targets (this machine, median of 3); the map size, pandas ratio and demo time are earlier ones.
TARGETS = {"county_warm_ms": 20, "national_warm_ms": 100, "national_ratio": 5, "county_page_ms": 1000,
           "national_page_ms": 2000, "first_page_ms": 3000, "map_bytes": 3_000_000, "server_rss_mb": 1536,
           "demo_national_s": 180, "cohort_condition_p95_ms": 1500, "export_s": 5}


def report_markdown(result: dict, command: str) -> str:
    """docs/benchmarks.md: machine, command, query and page tables, and each target met or missed."""
    m = result["machine"]
    lines = ["# Benchmarks", "", f"Generated by `{command}` on {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}.",
             "", f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gb']} GB RAM, Python {m['python']}, "
             f"{m['system']}. The 2 cores are shared with other work, so timings are noisy: medians are reported"
             + (f" (load average when the run started: {result['load_average'][0]:.2f})."
                if result.get("load_average") else "."), "",
             "To reproduce: `make bench` (generates the national demo data into `data-national/` if missing, "
             "then runs this). What the numbers mean, how they were reached and what is left: "
             "[performance.md](performance.md).", "",
             f"Data: {result.get('rows', 0):,} school-year rows. The pandas way first reads every snapshot into "
             f"one DataFrame ({result.get('pandas_load_ms', 0):,.0f} ms, not counted per query).", "",
             "## Queries (DuckDB over Parquet, per named query)", "",
             "| query | scope | result rows | cold ms | warm ms median | warm ms p95 | pandas ms median "
             "| pandas ÷ DuckDB | same numbers |",
             "|---|---|---:|---:|---:|---:|---:|---:|---|"]
    for q in result["queries"]:
        lines.append(f"| `{q['name']}` ({q['years']} yr) | {q['scope']} | {q['result_rows']:,} | {q['cold_ms']:.1f} | "
                     f"{q['warm_ms_median']:.1f} | {q['warm_ms_p95']:.1f} | {q['pandas_ms_median']:.1f} | "
                     f"{q['ratio']} | {'yes' if q['same_numbers'] else '**NO**'} |")
    from junheng.tools import bench_pages
    lines += bench_pages.report_lines(result)
    lines += export_lines(result)
    lines += ["", "## Against the targets", "", "| target | reached | met |", "|---|---|---|"]
    for text, reached, met in target_checks(result):
        lines.append(f"| {text} | {reached} | {'yes' if met else '**no**'} |")
    lines += ["", f"Peak memory of the benchmark process (pandas frame included): {result['peak_rss_mb']:,} MB."]
    return "\n".join(lines) + "\n"


def target_checks(result: dict) -> list[tuple[str, str, bool]]:
    checks = []
    q = result["queries"]
    county = [x["warm_ms_median"] for x in q if x["scope"] == "county"]
    national = [x for x in q if x["scope"] == "national"]
    if county:
        checks.append((f"warm query ≤ {TARGETS['county_warm_ms']} ms, county scope (slowest)", f"{max(county):.1f} ms",
                       max(county) <= TARGETS["county_warm_ms"]))
    if national:
        worst = max(x["warm_ms_median"] for x in national)
        checks.append((f"warm query ≤ {TARGETS['national_warm_ms']} ms, national scope (slowest)", f"{worst:.1f} ms",
                       worst <= TARGETS["national_warm_ms"]))
        aggregates = [x for x in national if x["name"] == "county_totals"]
        if aggregates:
            ratio = min(x["ratio"] for x in aggregates)
            checks.append((f"≥ {TARGETS['national_ratio']}× faster than pandas, national aggregates",
                           f"×{ratio}", ratio >= TARGETS["national_ratio"]))
    from junheng.tools import bench_pages
    checks += bench_pages.target_checks(result, TARGETS)
    maps = [p["map_bytes"] for p in result["pages"] if p["scope"] == "national" and p["map_bytes"] is not None]
    if maps:
        checks.append(("national county map ≤ 3 MB to the browser", f"{max(maps) / 1e6:.2f} MB",
                       max(maps) <= TARGETS["map_bytes"]))
    if result.get("server_rss_mb"):
        checks.append((f"app server memory ≤ {TARGETS['server_rss_mb'] / 1024:.1f} GB after the page pass",
                       f"{result['server_rss_mb']:,} MB", result["server_rss_mb"] <= TARGETS["server_rss_mb"]))
    if result.get("export"):
        slowest = max(result["export"]["formats"], key=lambda f: f["seconds_max"])
        checks.append((f"{result['export']['rows']:,}-row cohort export ≤ {TARGETS['export_s']} s (slowest format, "
                       f"slowest of 3: {slowest['format']})", f"{slowest['seconds_max']:.2f} s",
                       result["export"]["rows"] >= EXPORT_ROWS and slowest["seconds_max"] <= TARGETS["export_s"]))
    if result.get("demo_national_s"):
        checks.append(("national demo data ≤ 3 min", f"{result['demo_national_s']} s",
                       result["demo_national_s"] <= TARGETS["demo_national_s"]))
    return checks


# Import validation: a national-size file (the national demo generator's rows for one year), validated in a
# fresh process per file so that its peak memory is the validation's, not the benchmark's.
IMPORT_MIN_ROWS = 200_000
IMPORT_TARGETS = {"seconds": 15, "peak_rss_mb": 1024,
                  # issue 23: the protection of a national year within the import's budget (the validation's 15 s)
                  "protection_s": 15}
# The child reads its own high-water mark (VmHWM, per address space) instead of ru_maxrss: Linux keeps ru_maxrss
# across fork and exec, so a child of a 3 GB benchmark process reported 3 GB whatever it used.
_IMPORT_CHILD = """
import json, sys, time
from pathlib import Path

def hwm_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024

import geopandas, shapely  # loaded by the app before any upload: not part of the validation's time
from junheng.data import importer
path, year, data_dir = Path(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
before = hwm_mb()
started = time.perf_counter()
frame, report = importer.validate(path, year, data_dir)
seconds = time.perf_counter() - started
print(json.dumps({"seconds": round(seconds, 2), "baseline_rss_mb": round(before, 1),
                  "peak_rss_mb": round(hwm_mb(), 1),
                  "rows": None if frame is None else frame.height, "errors": report.error_count,
                  "warnings": report.warning_count}))
"""


def _national_year(data_dir: Path) -> int | None:
    """The latest year of data_dir with a national-size current snapshot, if any."""
    import pyarrow.parquet as pq

    from junheng.data import store
    for year in sorted((int(y) for y in store.read_manifest(data_dir)["years"]), reverse=True):
        path = store.current_path(data_dir, year)
        if path.exists() and pq.read_metadata(path).num_rows >= IMPORT_MIN_ROWS:
            return year
    return None


def bench_import(data_dir: Path, log=print, xlsx: bool = True) -> dict:
    """Validation time and peak memory for a national-size file, as CSV (UTF-8 and GB18030) and .xlsx.

    Uses the latest national-size year of data_dir; when there is none, the national demo generator writes
    one year into a temporary directory (about a minute).
    """
    import shutil
    import subprocess
    import sys
    import tempfile

    from junheng.data import demo, dictionary, store
    with tempfile.TemporaryDirectory(prefix="junheng-bench-import-") as tmp:
        tmp = Path(tmp)
        source, year = Path(data_dir), _national_year(Path(data_dir))
        if year is None:
            log("no national-size year in the data directory: generating one (national demo, one year) …")
            source, year = tmp / "national", 2025
            if (Path(data_dir) / "boundaries").is_dir():
                shutil.copytree(Path(data_dir) / "boundaries", source / "boundaries")
            demo.generate(source, scope="national", years=(year,), log=lambda *_: None)
        schools = pl.read_parquet(store.current_path(source, year))
        # As a bureau exports it: Chinese headers, 是/否, no year column.
        table = schools.drop("year").with_columns(
            pl.col(pl.Boolean).replace_strict({True: "是", False: "否"}, return_dtype=pl.String)
        ).rename({c.name: c.zh for c in dictionary.columns()}, strict=False)
        files = [("CSV, UTF-8", tmp / "national_utf8.csv"), ("CSV, GB18030", tmp / "national_gb18030.csv")]
        text = table.write_csv()
        files[0][1].write_bytes(text.encode("utf-8"))
        files[1][1].write_bytes(text.encode("gb18030"))
        if xlsx:
            files.append((".xlsx", tmp / "national.xlsx"))
            _write_xlsx(table, files[2][1])
        results = []
        for kind, path in files:
            log(f"validating {kind} ({path.stat().st_size / 1e6:.1f} MB, {table.height:,} rows) …")
            run = subprocess.run([sys.executable, "-c", _IMPORT_CHILD, str(path), str(year), str(source)],
                                 capture_output=True, text=True, check=True)
            outcome = json.loads(run.stdout.strip().splitlines()[-1])
            results.append({"format": kind, "megabytes": round(path.stat().st_size / 1e6, 1), **outcome,
                            "load_average": round(os.getloadavg()[0], 1)})
            log(f"  {outcome['seconds']} s, peak {outcome['peak_rss_mb']} MB")
        protection = bench_protection(schools, year, log)
    return {"rows": schools.height, "year": year, "files": results, "protection": protection}


def bench_protection(schools: pl.DataFrame, year: int, log=print) -> dict:
    """What protecting the small counts adds to writing a year (issue 23): the left-behind and migrant suppression,
    audited by optimisation and repaired, and the published view, as `db.write_aggregates` computes them."""
    from junheng import settings
    from junheng.data import db
    rules = settings.load_thresholds()
    import resource

    from junheng.rules import privacy
    log("protecting the small counts of the year (suppression, audit by optimisation, repair) …")

    def cpu() -> float:  # this process and the repair's forked ones (privacy._workers)
        return sum(resource.getrusage(who).ru_utime + resource.getrusage(who).ru_stime
                   for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    started, cpu_started = time.perf_counter(), cpu()
    out = db.evaluated(schools, year, rules, db.PROTECTED)
    seconds, cpu_seconds = round(time.perf_counter() - started, 1), round(cpu() - cpu_started, 1)
    cells = out["published_cells"]
    hidden = cells.filter(pl.col("status") != "shown").height
    counties = cells.filter((pl.col("kind") == "county") & (pl.col("status") != "shown")).height
    workers = privacy._workers(privacy.PARALLEL_COUNTIES)
    log(f"  {seconds} s ({cpu_seconds} s CPU, {workers} processes), {hidden:,} of {cells.height:,} published cells "
        f"hidden ({counties} county totals)")
    # A county import into this year: the year's protected files above as the previous version, one school's
    # left-behind count changed in one county (370724 when present); db.protected_aggregates reuses the others.
    import tempfile
    county = "370724" if schools["county_code"].eq("370724").any() else schools["county_code"].min()
    school = schools.filter(pl.col("county_code") == county)["school_id"].min()
    changed = schools.with_columns(pl.when(pl.col("school_id") == school).then(pl.col("left_behind_students") + 1)
                                   .otherwise(pl.col("left_behind_students")).alias("left_behind_students"))
    manifest = {"years": {str(year): {"current": "after", "versions": [{"id": "before"},
                                                                      {"id": "after", "base": "before"}]}}}
    with tempfile.TemporaryDirectory(prefix="junheng-bench-county-") as tmp:
        db.write_protection(Path(tmp), year, "before", rules, out, db.digest_rows(schools, rules))
        started, cpu_started = time.perf_counter(), cpu()
        _, _, done = db.protected_aggregates(Path(tmp), year, changed, rules, manifest)
        import_s, import_cpu = round(time.perf_counter() - started, 1), round(cpu() - cpu_started, 1)
    log(f"  a county import into the year ({county}): protection {import_s} s ({import_cpu} s CPU), "
        f"{done['computed']} of {done['counties']:,} counties protected ({done['reason']})")
    return {"seconds": seconds, "cpu_seconds": cpu_seconds, "workers": workers, "cells": cells.height,
            "hidden": hidden, "hidden_counties": counties, "load_average": round(os.getloadavg()[0], 1),
            "county_import": {"county": county, "seconds": import_s, "cpu_seconds": import_cpu, **done}}


def _write_xlsx(table: pl.DataFrame, path: Path) -> None:
    """The table as a plain .xlsx (one sheet, text and numbers as a statistics system exports them)."""
    import xlsxwriter
    book = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, table.columns)
    for i, row in enumerate(table.iter_rows(), start=1):  # writing the test file, not validating it
        sheet.write_row(i, 0, row)
    book.close()


def import_markdown(result: dict) -> str:
    """The import section of docs/benchmarks.md."""
    lines = ["## Import validation (national-size file)", "",
             f"`importer.validate` on {result['rows']:,} schools ({result['year']}, the national demo data as a "
             "bureau would export them: Chinese headers, 是/否), each file in a fresh process; peak memory is "
             "that process's own high-water mark (VmHWM, with Python, Polars and GeoPandas loaded). To reproduce: "
             "`junheng bench --only import --data-dir data-national --report docs/benchmarks.md` (this section "
             "only; without a national-size year in the data directory, one is generated).", "",
             "| file | MB | validate s | peak RSS MB | before validating MB | errors | warnings | load avg |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for f in result["files"]:
        lines.append(f"| {f['format']} | {f['megabytes']} | {f['seconds']} | {f['peak_rss_mb']:,} | "
                     f"{f['baseline_rss_mb']:,} | {f['errors']} | {f['warnings']} | {f.get('load_average', '')} |")
    protection = result.get("protection")
    if protection:
        lines += ["", f"Protection (the small counts of minors, issue 23: suppression, audit of every hidden cell by "
                      f"optimisation, repair; written with the year by `db.write_aggregates`): "
                      f"{protection['seconds']} s for the year ({protection.get('cpu_seconds', '—')} s CPU in "
                      f"{protection.get('workers', 1)} processes), {protection['hidden']:,} of "
                      f"{protection['cells']:,} published left-behind and migrant cells hidden "
                      f"(load avg {protection['load_average']})."]
        if protection.get("county_import"):
            one = protection["county_import"]
            lines += ["", f"A county import into that year ({one['county']}, one school's left-behind count "
                          f"changed): protection {one['seconds']} s ({one['cpu_seconds']} s CPU), {one['computed']} "
                          f"of {one['counties']:,} counties protected, the others' rows reused from the previous "
                          "version (`db.protected_aggregates`)."]
    lines += ["", "Load avg: the machine's 1-minute load average after the run (2 cores, shared): times grow with it. "
              "Under load from other work the .xlsx took 11–44 s on this machine (most of it fastexcel/calamine "
              "parsing the sheet's XML) and a CSV 2–13 s; a national file is fastest as CSV.", "",
              f"Target: ≤ {IMPORT_TARGETS['seconds']} s and ≤ {IMPORT_TARGETS['peak_rss_mb']:,} MB."]
    for f in result["files"]:
        met = f["seconds"] <= IMPORT_TARGETS["seconds"] and f["peak_rss_mb"] <= IMPORT_TARGETS["peak_rss_mb"]
        lines.append(f"- {f['format']}: {'met' if met else '**missed**'}")
    if protection:
        met = protection["seconds"] <= IMPORT_TARGETS["protection_s"]
        lines.append(f"- protection of the year ≤ {IMPORT_TARGETS['protection_s']} s: "
                     f"{'met' if met else '**missed**'} ({protection['seconds']} s in "
                     f"{protection.get('workers', 1)} processes)")
    return "\n".join(lines) + "\n"


def section_named(report: str, heading: str) -> str | None:
    """The section of report under heading (up to the next `## ` heading or a load-test marker), or None."""
    if not report or heading not in report:
        return None
    rest = report.split(heading, 1)[1]
    body = rest.split("\n## ", 1)[0].split("\n<!-- loadtest", 1)[0]
    return heading + body.rstrip("\n") + "\n"


def splice_section(report: str, section: str) -> str:
    """report with its section of the same heading replaced by section (or section appended)."""
    heading = section.splitlines()[0]
    if heading not in report:
        return report.rstrip("\n") + "\n\n" + section
    before, rest = report.split(heading, 1)
    after = rest.split("\n## ", 1)
    return before + section + ("\n## " + after[1] if len(after) == 2 else "")


# --- issue 25: light on any link, nothing costly waits for a visitor ---------------------------------------------

LIGHT_HEADING = "## Light on any link (issue 25): bytes on the wire, first visit after an import, charts, deck"
LIGHT_TARGETS = {"first_load_bytes": 1_500_000, "national_year_bytes": 300_000, "after_import_ms": 2_000,
                 "deck_s": 15.0, "national_page_ms": 2_000}
CALIBRATE = Path("/work/shared/tools/calibrate")


def machine_state() -> str:
    """`uptime` and the shared calibration loop's line (when the tool is there): printed beside every figure."""
    import subprocess
    import sys
    up = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    line = ""
    if CALIBRATE.exists():
        line = subprocess.run([sys.executable, str(CALIBRATE)], capture_output=True, text=True).stdout.strip()
    return f"{up}; {line}" if line else up


LIGHT_PARTS = ("wire", "charts", "after_import", "pages", "deck")


def bench_light(data_dir: Path, deck_dir: Path | None = None, log=print, page_rounds: int = 1,
                parts: tuple[str, ...] = LIGHT_PARTS) -> dict:
    """Issue 25's bench on data_dir (a national data set: county scope is 370724 in it): bytes on the wire per page
    for a first load and a year change, the small multiples drawn both ways, the pages as the user waits (one
    round); on deck_dir (the demo data; default data_dir) the first visit of each view after an import and the
    county deck."""
    from playwright.sync_api import sync_playwright

    from junheng.tools import bench_pages
    from junheng.tools.browser import CHROMIUM, CHROMIUM_ARGS, streamlit_server
    data_dir = Path(data_dir)
    result = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "data_dir": str(data_dir),
              "deck_dir": str(deck_dir or data_dir), "rows": None, "machine": machine()}
    generation = data_dir / "generation.json"
    if generation.exists():
        result["rows"] = json.loads(generation.read_text(encoding="utf-8")).get("rows")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            if "wire" in parts:
                result["wire_state"] = machine_state()
                with streamlit_server(data_dir) as url:
                    result["wire"] = bench_pages.wire_bytes(browser, url, log)
            if "charts" in parts:
                result["charts_state"] = machine_state()
                result["charts"] = bench_pages.chart_draw_times(browser, data_dir, log=log)
            if "after_import" in parts:
                result["after_import_state"] = machine_state()
                result["after_import"] = bench_pages.after_import(browser, Path(deck_dir or data_dir), log)
        finally:
            browser.close()
    if "pages" in parts:
        result["pages_state"] = machine_state()
        pages = bench_pages.run(data_dir, log, rounds=page_rounds, pages=list(bench_pages.WIRE_PAGES))
        result["pages"] = pages["pages"]
    if "deck" in parts:
        from junheng.tools import bench_deck
        result["deck_state"] = machine_state()
        result["deck"] = bench_deck.bench_deck(Path(deck_dir or data_dir), log=log)
    return result


def light_checks(result: dict) -> list[tuple[str, str, bool]]:
    """(target, reached, met) for issue 25's targets."""
    checks, t = [], LIGHT_TARGETS
    wire = result.get("wire") or []
    if wire:
        worst = max(wire, key=lambda w: w["first_load_bytes"])
        checks.append((f"first load of any page ≤ {t['first_load_bytes'] / 1e6:.1f} MB on the wire (largest: "
                       f"{worst['page']}, {worst['scope']})", f"{worst['first_load_bytes'] / 1e6:.2f} MB",
                       worst["first_load_bytes"] <= t["first_load_bytes"]))
        national = [w for w in wire if w["scope"] == "national"]
        if national:
            worst = max(national, key=lambda w: w["year_change_bytes"])
            checks.append((f"national year change ≤ {t['national_year_bytes'] / 1e3:.0f} KB on the wire (largest: "
                           f"{worst['page']})", f"{worst['year_change_bytes'] / 1e3:.0f} KB",
                           worst["year_change_bytes"] <= t["national_year_bytes"]))
    views = (result.get("after_import") or {}).get("views") or []
    if views:
        worst = max(views, key=lambda v: v["server_cpu_ms"])
        checks.append((f"first visit after an import ≤ {t['after_import_ms'] / 1000:g} s server time, county scope "
                       f"(slowest: {worst['view']}, {worst['lang']}; server processor time)",
                       f"{worst['server_cpu_ms']:,} ms", worst["server_cpu_ms"] <= t["after_import_ms"]))
        zh = {v["view"]: v["server_cpu_ms"] for v in views if v["lang"] == "zh"}
        for v in views:
            if v["lang"] == "en" and v["view"] in zh:
                checks.append((f"a new English session no slower than a Chinese one ({v['view']}, server time)",
                               f"{v['server_cpu_ms']:,} ms vs {zh[v['view']]:,} ms",
                               v["server_cpu_ms"] <= zh[v["view"]] * 1.1 + 50))
    deck = result.get("deck")
    if deck:
        slowest = max(f["seconds"] for f in deck["files"]) if deck.get("files") else None
        if slowest is not None:
            checks.append((f"county deck ≤ {t['deck_s']:g} s (slowest format)", f"{slowest:.1f} s",
                           slowest <= t["deck_s"]))
    pages = [p for p in result.get("pages") or [] if p["scope"] == "national"]
    for kind in ("fresh", "year"):
        rows = [(p[f"{kind}_ms"], p["page"]) for p in pages if p.get(f"{kind}_ms") is not None]
        if rows:
            worst, name = max(rows)
            checks.append((f"every page ≤ {t['national_page_ms']:,} ms as the user waits, national scope, {kind} "
                           f"(slowest: {name})", f"{worst:,} ms", worst <= t["national_page_ms"]))
    return checks


def light_markdown(result: dict, command: str) -> str:
    """The issue 25 section of docs/benchmarks.md: every table with the machine's state when it was measured."""
    m = result["machine"]
    rows = f"{result['rows']:,} school-year rows" if result.get("rows") else "the data set"
    lines = [LIGHT_HEADING, "", f"Generated by `{command}` on {result['date']} on {m['cpu']}, {m['cores']} cores "
             f"(shared with other work: the load and the calibration loop, a fixed pure-Python loop that takes a "
             f"reference core about 0.6 s, are given beside every table; compare figures as ratios to it), data: "
             f"`{result['data_dir']}` ({rows}); county scope: {bench_pages_county()} in it. The first visit after an "
             f"import and the deck: `{result.get('deck_dir') or result['data_dir']}`. National scope: every county "
             "of the data (the whole country only with a national data set)."]
    wire = result.get("wire")
    if wire:
        lines += ["", "### Bytes on the wire", "", f"Machine: {result.get('wire_state', '')}", "",
                  "Counted by a TCP relay between the browser and the app (`bench_pages.WireCounter`): every byte "
                  "the server sent, compressed as sent (gzip for HTTP, permessage-deflate for the websocket), "
                  "headers included. First load: a new browser with an empty cache opening the page's link, until "
                  f"drawn and {bench_pages_quiet()} ms quiet; year change: another year picked in the sidebar "
                  "afterwards.", "", "| page | scope | first load MB | year change KB | load |",
                  "|---|---|---:|---:|---:|"]
        for w in wire:
            lines.append(f"| {w['page']} | {w['scope']} | {w['first_load_bytes'] / 1e6:.2f} | "
                         f"{w['year_change_bytes'] / 1e3:,.1f} | {w['load_average']} |")
    views = (result.get("after_import") or {}).get("views")
    if views:
        a = result["after_import"]
        lines += ["", "### First visit after an import (county scope)", "",
                  f"Machine: {result.get('after_import_state', '')}", "",
                  f"Each Chinese view: an import of {a['county']}'s {a['year']} rows (one school's books changed, "
                  "so the data are new) through the import command, whose write hook computes the county-year's "
                  "plans (import s, plans s), then the view opened in a new session of a signed-in viewer; each "
                  "English view: a new English session after those. Server CPU: the app server's processor time "
                  "during the visit (its own work, which the load hardly changes); script: until the server's "
                  "run has finished as the browser sees it; drawn: until every chart and map is drawn. Every "
                  "import is rolled back afterwards.", "",
                  "| view | language | server CPU ms | script ms | drawn ms | import s | plans s | load |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for v in views:
            lines.append(f"| {v['view']} | {v['lang']} | {v['server_cpu_ms']:,} | {v['script_ms']:,} | "
                         f"{v['drawn_ms']:,} | {v['import_s'] if v['import_s'] is not None else '—'} | "
                         f"{v['precompute_s'] if v['precompute_s'] is not None else '—'} | {v['load_average']} |")
    charts = result.get("charts")
    if charts:
        lines += ["", "### The 标准化建设 small multiples and 均衡评估's CV trends, drawn by the browser", "",
                  f"Machine: {result.get('charts_state', '')}", "",
                  "Both ways from the same data in one browser page (static/vendor/plotly's basic bundle, what "
                  "the pages draw with): "
                  "`Plotly.newPlot` until two frames later, median of 5. one plot: what the page draws now "
                  "(`charts.small_multiples_chart`, `charts.cv_trends_chart`); subplots: what it drew before "
                  "(`small_multiples_grid`; one figure per level, `cv_trend_chart`, their times summed). The small "
                  "multiples: every county of the data; the CV trends: 370724's years.", "",
                  "| figure | way | draw ms | traces | axes | SVG nodes | JSON KB | load |",
                  "|---|---|---:|---:|---:|---:|---:|---:|"]
        for c in charts:
            lines.append(f"| {c['figure']} | {c['way']} | {c['draw_ms']:,} | {c['traces']} | {c['axes']} | "
                         f"{c['svg_nodes']:,} | {c['json_bytes'] / 1e3:,.0f} | {c['load_average']} |")
    pages = result.get("pages")
    if pages:
        lines += ["", "### Pages as the user waits (one round)", "", f"Machine: {result.get('pages_state', '')}", "",
                  "As in the pages table above (`bench_pages.run`, headless Chromium, until the script has finished "
                  "and every chart and map is drawn), one round.", "",
                  "| page | scope | fresh | navigation | year | filter | load |", "|---|---|---:|---:|---:|---:|---:|"]
        for p in pages:
            cells = [("—" if p.get(f"{k}_ms") is None else f"{p[f'{k}_ms']:,}")
                     for k in ("fresh", "navigation", "year", "filter")]
            lines.append(f"| {p['page']} | {p['scope']} | {' | '.join(cells)} | {p.get('load_average', '')} |")
    pagetime = result.get("pagetime")
    if pagetime:
        lines += ["", "### Checked against the independent timer", "", f"Machine: {result.get('pagetime_state', '')}",
                  "", f"`/work/shared/tools/pagetime URL OUT.json` against a server on `{result.get('pagetime_dir')}` "
                  "(its own waiting rule: script finished, every Plotly chart's SVG and every map's layer drawn, "
                  "300 ms stable; two visits of each link, the second counts, year 2025). "
                  + result.get("pagetime_note", ""), "", "| page | scope | second visit s | first visit s |",
                  "|---|---|---:|---:|"]
        for row in pagetime.get("pages", []):
            second = "—" if row.get("s") is None else f"{row['s']:.2f}"
            first = "—" if row.get("first_s") is None else f"{row['first_s']:.2f}"
            lines.append(f"| {row['page']} | {row['scope']} | {second} | {first} |")
        if pagetime.get("first_page_s") is not None:
            lines += ["", f"Its first page of that server: {pagetime['first_page_s']:.2f} s."]
    deck = result.get("deck")
    if deck:
        lines += ["", "### County deck", "", f"Machine: {result.get('deck_state', '')}", "",
                  "`bench_deck.bench_deck` (HDECK's) on the demo data: " + ", ".join(
                      f"{f['format']} {f['seconds']:.1f} s" for f in deck.get("files", [])) + "."]
    lines += ["", "### Against issue 25's targets", "", "| target | reached | met |", "|---|---|---|"]
    for text, reached, met in light_checks(result):
        lines.append(f"| {text} | {reached} | {'yes' if met else '**no**'} |")
    return "\n".join(lines) + "\n"


def bench_pages_county() -> str:
    from junheng.tools import bench_pages
    return bench_pages.COUNTY


def bench_pages_quiet() -> int:
    from junheng.tools import bench_pages
    return bench_pages.QUIET_MS

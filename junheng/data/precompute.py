"""What the evaluation pages need for a county-year, computed before a visitor asks and stored with the data.

The 达标方案 (the minimum-cost plan, 1-6 s a county-year on this machine) and its schedule over years (0.1-3 s),
with the county's verdicts and 整改清单, are computed
- when data are written: an import (junheng/commands/data.py) computes the county-years it touched in a thread
  right after the write (the CLI waits for it before it exits; the server goes on serving);
- `junheng demo`: the latest year of every county after the snapshots are written;
- at server start (junheng/tools/serve.py; a minute after, so that short-lived servers such as the tests' start
  none): a low-priority process computes what is missing of the latest year,
  up to START_LIMIT counties (a national data set's 2,852 would hold a shared 2-core machine for an hour; the
  other years and counties are computed at their first visit and stored then; `python -m junheng.data.precompute
  --data-dir DIR` computes every year, latest first, up to WARM_LIMIT county-years).

Each result is stored under aggregates/precomputed/ in a file named by a hash of everything it depends on: the
county-year's school rows and self-assessment rows as the page reads them, the rules, and the code that computes
it. An import therefore leaves every other county's results valid, a rules or code change makes new ones, and a
page that finds none computes and stores them itself (views/cache.py `precomputed`). Files are JSON (frames as
Arrow IPC, base64), written atomically, at most KEPT of them (the oldest go first).

Stored language-neutral: the schedule is kept with Chinese labels and relabelled for another language
(`relabel_schedule`) from the same finite set of texts the plan uses (units, caveats, what remains and why).
"""
from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import logging
import os
import threading
import time
from pathlib import Path

import polars as pl

from junheng import settings
from junheng.i18n import t
from junheng.rules import plan as plans
from junheng.rules import rectification, verdicts

log = logging.getLogger("junheng.precompute")

FOLDER = Path("aggregates") / "precomputed"
KEPT = 20_000          # stored county-years (a demo county-year is about 10-40 KB)
WARM_LIMIT = 600       # county-years `python -m junheng.data.precompute` computes at most (the demo's 35 × 13 fit)
START_LIMIT = 200      # counties of the latest year the server's start warm-up computes at most
WRITE_LIMIT = 200      # county-years an import's hook computes at most (the rest: at the first visit)
DEMO_LIMIT = 100       # counties of the latest year `junheng demo` computes (the demo data's 35)
CODE = ("junheng.rules.plan", "junheng.rules.rectification", "junheng.rules.verdicts", "junheng.rules.evaluation",
        "junheng.rules.indicators", "junheng.rules.left_behind", "junheng.rules.privacy", "junheng.i18n",
        "junheng.data.precompute")


@functools.lru_cache(maxsize=1)
def _code_tag() -> str:
    from importlib.util import find_spec
    digest = hashlib.sha1(pl.__version__.encode())
    for module in CODE:
        digest.update(Path(find_spec(module).origin).read_bytes())
    return digest.hexdigest()


def _frame_digest(frame: pl.DataFrame | None) -> str:
    if frame is None:
        return "none"
    digest = hashlib.sha1(repr(list(frame.schema.items())).encode())
    if frame.height:
        digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    return digest.hexdigest()


def key(county: str, year: int, schools: pl.DataFrame, table: pl.DataFrame | None, rules: dict) -> str:
    """The name of a county-year's stored results: changes with its rows, its self-assessment, the rules, the code.
    Of the privacy settings only the threshold counts (the verdicts withhold a migrant share that would give a
    small count back, verdicts.migrant_share_bounds)."""
    kept_rules = {k: v for k, v in rules.items() if k != "privacy"}
    kept_rules["privacy.min_count"] = int(rules["privacy"]["min_count"])
    text = repr((str(county), int(year), _frame_digest(schools), _frame_digest(table), sorted(kept_rules.items()),
                 _code_tag()))
    return hashlib.sha1(text.encode()).hexdigest()[:32]


# --- what is stored ---------------------------------------------------------------------------------------------

def _frame_out(frame: pl.DataFrame) -> str:
    buffer = io.BytesIO()
    frame.write_ipc(buffer)
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _frame_in(text: str) -> pl.DataFrame:
    return pl.read_ipc(io.BytesIO(base64.b64decode(text)))


def _plan_out(plan: plans.Plan) -> dict:
    return {"changes": _frame_out(plan.changes), "cost": plan.cost, "lower_bound": plan.lower_bound,
            "status": plan.status, "relaxed": [[list(k), v] for k, v in plan.relaxed.items()],
            "binding": [list(b) for b in plan.binding]}


def _plan_in(d: dict) -> plans.Plan:
    return plans.Plan(_frame_in(d["changes"]), d["cost"], d["lower_bound"], d["status"],
                      {tuple(k): v for k, v in d["relaxed"]}, tuple(tuple(b) for b in d["binding"]))


SCHEDULE_FIELDS = ("cost", "feasible", "reachable_year", "years", "schools", "resolves", "remains", "budget_per_year",
                   "target_year", "budget_needed", "recurring", "caveats", "scheduled_budget")


def _schedule_out(s: plans.Schedule) -> dict:
    return {f: getattr(s, f) for f in SCHEDULE_FIELDS}


def _schedule_in(d: dict) -> plans.Schedule:
    return plans.Schedule(**{f: d[f] for f in SCHEDULE_FIELDS})


def compute(schools: pl.DataFrame, table: pl.DataFrame | None, rules: dict, year: int) -> dict:
    """Every stored result of one county-year (its school rows, its self-assessment rows), as the pages compute
    them: the plan, the schedule at the default target year and budget (Chinese labels), the 整改清单, verdicts."""
    best = plans.minimum_cost_plan(schools, rules)
    target, budget = plans.defaults(rules, year)
    schedule = plans.schedule(schools, rules, year, target, budget, table, "zh", best=best)
    items, county = rectification.rectification(schools, rules)
    verdict, parts = verdicts.evaluate(schools, rules, table)
    return {"plan": best, "schedule": schedule, "target": target, "budget": budget,
            "rectification": (items, county), "verdicts": (verdict, parts)}


def _dumps(result: dict) -> str:
    items, county = result["rectification"]
    out = {"plan": _plan_out(result["plan"]), "schedule": _schedule_out(result["schedule"]),
           "target": result["target"], "budget": result["budget"],
           "rectification": [_frame_out(items), _frame_out(county)]}
    try:  # verdicts are plain dicts of numbers and texts: kept when JSON holds them exactly
        if json.loads(json.dumps(result["verdicts"])) == list(result["verdicts"]):
            out["verdicts"] = result["verdicts"]
    except (TypeError, ValueError):
        pass
    return json.dumps(out)


def _loads(text: str) -> dict:
    d = json.loads(text)
    out = {"plan": _plan_in(d["plan"]), "schedule": _schedule_in(d["schedule"]), "target": d["target"],
           "budget": d["budget"], "rectification": tuple(_frame_in(x) for x in d["rectification"])}
    if "verdicts" in d:
        out["verdicts"] = tuple(d["verdicts"])
    return out


def path_of(data_dir: Path, name: str) -> Path:
    return Path(data_dir) / FOLDER / f"{name}.json"


def load(data_dir: Path, name: str) -> dict | None:
    """The stored results of that name, or None (none stored, or unreadable: then they are computed again)."""
    try:
        return _loads(path_of(data_dir, name).read_text(encoding="utf-8"))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def store(data_dir: Path, name: str, result: dict) -> bool:
    """Write the results atomically (a temporary file renamed); False when the data directory is read-only."""
    target = path_of(data_dir, name)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".{target.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        tmp.write_text(_dumps(result), encoding="utf-8")
        tmp.replace(target)
        return True
    except OSError:
        log.info("precomputed results could not be stored in %s", target.parent, exc_info=True)
        return False


def prune(data_dir: Path, kept: int = KEPT) -> int:
    """Delete the oldest stored files beyond `kept`; how many went."""
    folder = Path(data_dir) / FOLDER
    try:
        files = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
    except OSError:
        return 0
    gone = files[:-kept] if kept else files
    for old in gone:
        old.unlink(missing_ok=True)
    return len(gone)


def ensure(data_dir: Path, county: str, year: int, schools: pl.DataFrame, table: pl.DataFrame | None,
           rules: dict) -> dict:
    """The stored results for these rows, or computed now and stored."""
    name = key(county, year, schools, table, rules)
    found = load(data_dir, name)
    if found is not None:
        return found
    result = compute(schools, table, rules, year)
    store(data_dir, name, result)
    return result


def defaults_match(result: dict, target: int, budget: float) -> bool:
    """Whether a schedule asked for (target year, budget a year) is the stored one's."""
    return int(target) == int(result["target"]) and abs(float(budget) - float(result["budget"])) < 0.5


# --- labels -----------------------------------------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _translations(lang: str) -> dict[str, str]:
    """Every text the schedule carries, Chinese → lang: units, caveats and the reasons an item remains."""
    from junheng.i18n import TEXT
    keys = [k for k in TEXT if k.startswith(("plan_unit_", "plan_caveat_", "plan_why_"))
            and k not in ("plan_why_action", "plan_why_missing", "plan_why_failing")]
    out = {t(k, "zh"): t(k, lang) for k in keys if "{" not in TEXT[k][0]}
    for owner in sorted(set(plans.OWNERS.values()) | {"owner_government"}):
        for state in ("plan_why_missing", "plan_why_failing"):
            out[t("plan_why_action", "zh", owner=t(owner, "zh"), state=t(state, "zh"))] = t(
                "plan_why_action", lang, owner=t(owner, lang), state=t(state, lang))
    return out


def relabel_schedule(schedule: plans.Schedule, lang: str) -> plans.Schedule | None:
    """The stored (Chinese) schedule with its texts in lang; None when a text is not one the plan writes (then the
    page computes the schedule in that language itself)."""
    if lang == "zh":
        return schedule
    table = _translations(lang)

    def text(value: str) -> str:
        if value not in table:
            raise KeyError(value)
        return table[value]
    try:
        years = [{**y, "actions": [{**a, "unit": text(a["unit"])} for a in y["actions"]],
                  "salaries": [{**a, "unit": text(a["unit"])} for a in y["salaries"]]} for y in schedule.years]
        remains = [{**r, "why": text(r["why"])} for r in schedule.remains]
        caveats = [{**c, "why": text(c["why"])} for c in schedule.caveats]
    except KeyError:
        return None
    fields = _schedule_out(schedule)
    fields.update(years=years, remains=remains, caveats=caveats)
    return plans.Schedule(**fields)


# --- in batches: after a write, at start ------------------------------------------------------------------------

def county_rows(con, county: str, year: int) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """A county-year's school rows and self-assessment rows, read as the evaluation page reads them."""
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    history = db.run(con, "school_history", EVERYTHING, region=county)
    table = db.run(con, "county_items", EVERYTHING, year=year)
    return history.filter(pl.col("year") == year), county_table_of(table, county)


def county_table_of(table: pl.DataFrame, county: str) -> pl.DataFrame:
    """A county's rows of the county_items query (as the plan's schedule is given them)."""
    return table.filter(pl.col("county_code") == county) if "county_code" in table.columns else table


def run(data_dir: Path, pairs: list[tuple[str, int]] | None = None, limit: int = WARM_LIMIT, log_line=None,
        stop=None) -> dict:
    """Compute and store what is missing for the county-years `pairs` (default: every county with data, the latest
    year first, then each year before it), at most `limit` of them, until stop() says so; a summary."""
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    data_dir = Path(data_dir)
    rules = settings.load_thresholds()
    con = db.connect(data_dir, rules)
    started = time.perf_counter()
    done = stored = failed = 0
    try:
        if pairs is None:
            pairs = _pairs(con, sorted(db.run(con, "snapshot_years", EVERYTHING)["year"].to_list(), reverse=True))
        for county, year in pairs[:limit]:
            if stop is not None and stop():
                break
            try:
                schools, table = county_rows(con, county, year)
                if schools.is_empty():
                    continue
                name = key(county, year, schools, table, rules)
                done += 1
                if path_of(data_dir, name).exists():
                    continue
                store(data_dir, name, compute(schools, table, rules, year))
                stored += 1
                if log_line:
                    log_line(f"{county} {year}: stored ({time.perf_counter() - started:.0f} s)")
            except Exception:  # noqa: BLE001 — one county's failure never stops the others; the page says why
                failed += 1
                log.info("precomputing %s %s failed", county, year, exc_info=True)
    finally:
        con.close()
    prune(data_dir)
    return {"county_years": done, "computed": stored, "failed": failed,
            "seconds": round(time.perf_counter() - started, 1)}


def _pairs(con, years: list[int]) -> list[tuple[str, int]]:
    """(county, year) of every county with schools in each of years, in that order of years."""
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    out = []
    for year in years:
        codes = db.run(con, "county_totals", EVERYTHING, years=[year], region="")["county_code"]
        out += [(c, year) for c in sorted(codes.unique().to_list())]
    return out


def latest_pairs(data_dir: Path, years: list[int] | None = None) -> list[tuple[str, int]]:
    """(county, year) of every county with data in the latest year (or in each of years, latest first)."""
    from junheng.data import db
    from junheng.data.scope import EVERYTHING
    con = db.connect(Path(data_dir))
    try:
        years = years or [max(db.run(con, "snapshot_years", EVERYTHING)["year"].to_list())]
        return _pairs(con, sorted(years, reverse=True))
    finally:
        con.close()


_LOCK = threading.Lock()
_PENDING: list[threading.Thread] = []


def wait(timeout: float | None = None) -> None:
    """Wait for this process's write hooks to finish (the benchmark, tests)."""
    for thread in list(_PENDING):
        thread.join(timeout)
        if not thread.is_alive():
            _PENDING.remove(thread)


def after_write(data_dir: Path, year: int, counties: list[str]) -> threading.Thread | None:
    """After a write of year touching counties: compute their results in a thread (not a daemon: a command-line
    import waits for it before it exits; the server goes on serving while it runs)."""
    pairs = [(c, int(year)) for c in dict.fromkeys(counties) if len(c) == 6][:WRITE_LIMIT]
    if not pairs:
        return None

    def work() -> None:
        with _LOCK:  # one batch at a time in a process
            try:
                summary = run(Path(data_dir), pairs, limit=WRITE_LIMIT)
                log.info("precomputed after the write of %s: %s", year, summary)
            except Exception:  # noqa: BLE001 — the pages compute what is missing
                log.info("precomputing after the write of %s failed", year, exc_info=True)
    thread = threading.Thread(target=work, name="junheng-precompute", daemon=False)
    thread.start()
    _PENDING.append(thread)
    return thread


START_DELAY_S = 60.0  # a server that lives less (a test's, a benchmark's first-page run) never starts one


def start_warm(data_dir: Path, nice: int = 10, delay_s: float = START_DELAY_S) -> threading.Timer:
    """The start warm-up in a process of its own at low priority (it never holds the server's interpreter lock),
    delay_s after the call; the timer (cancel it to start none)."""
    timer = threading.Timer(delay_s, _spawn, args=(Path(data_dir), nice))
    timer.daemon = True
    timer.start()
    return timer


def _spawn(data_dir: Path, nice: int):
    import subprocess
    import sys

    def lower() -> None:
        os.nice(nice)
    try:
        process = subprocess.Popen([sys.executable, "-m", "junheng.data.precompute", "--data-dir", str(data_dir),
                                    "--latest", "--limit", str(START_LIMIT), "--parent", str(os.getpid())],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, preexec_fn=lower)
    except OSError:
        log.info("the precompute warm-up could not start", exc_info=True)
        return None
    log.info("precompute warm-up: %s", "done" if process.wait() == 0 else "failed")  # reaped: no zombie left
    return process


def main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description="precompute the evaluation pages' county-year results")
    parser.add_argument("--data-dir", default=str(settings.data_dir()))
    parser.add_argument("--year", type=int, action="append", help="only these years (default: all, latest first)")
    parser.add_argument("--latest", action="store_true", help="only the latest year")
    parser.add_argument("--limit", type=int, default=WARM_LIMIT)
    parser.add_argument("--parent", type=int, help="stop when this process (the server) has ended")
    args = parser.parse_args(argv)
    parent = args.parent
    pairs = latest_pairs(Path(args.data_dir), args.year) if args.year or args.latest else None
    print(json.dumps(run(Path(args.data_dir), pairs, args.limit,
                         stop=(lambda: os.getppid() != parent) if parent else None)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

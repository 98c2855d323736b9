"""Cached data access for the pages: the data's connection and fingerprint, named queries inside the visitor's region
scope, memos, county outlines, the evaluation rules, cohort statistics, housekeeping of the data directory."""
from __future__ import annotations

import logging
from pathlib import Path

import polars as pl
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from junheng import settings
from junheng.data import boundaries, db
from junheng.data.scope import GUEST, Scope
from junheng.i18n import t
from junheng.views import messages, shared

log = logging.getLogger("junheng")


def data_dir() -> Path:
    return settings.data_dir()


def fingerprint() -> str:
    """Changes with the data and with the counting rules the pre-aggregates use: part of every cache key.

    Worked out once per script run (it reads the stamp of every data file: 13 times a run on some pages, 5 ms
    each nationally): a write on the data page is always followed by a rerun, which works it out anew."""
    ctx = get_script_run_ctx()
    run = getattr(ctx, "cursors", None)  # a new dict for every run (ScriptRunContext.reset)
    held = st.session_state.get("_fingerprint_of_run") if run is not None else None
    if held is not None and held[0] is run:
        return held[1]
    value = db.fingerprint(data_dir()) + ":" + str(sorted(db.materialized_params(rules()).items()))
    if run is not None:
        st.session_state["_fingerprint_of_run"] = (run, value)
    return value


@st.cache_resource(show_spinner=False, max_entries=2)
def _connection(path: str, fp: str):
    # The settings file's rules: the connection's aggregates never depend on an account (only the privacy
    # threshold does, and no aggregate uses it).
    return db.connect(Path(path), settings.load_thresholds())


def warm_connection() -> tuple[str, str]:
    """Open the data's connection before the first visitor asks: (data directory, fingerprint)."""
    path = data_dir()
    fp = db.fingerprint(path) + ":" + str(sorted(db.materialized_params(settings.load_thresholds()).items()))
    _connection(str(path), fp)
    return str(path), fp


def warm_later() -> None:
    """What the pages after the first need (the launcher calls this once the first page is served): the county
    outlines, read with geopandas, which the first page does not need when its map is stored with the data."""
    try:
        path = data_dir()
        fp = db.fingerprint(path) + ":" + str(sorted(db.materialized_params(settings.load_thresholds()).items()))
        for coarse in (True, False):
            _county_geometry(str(path), fp, coarse)
    except Exception:  # noqa: BLE001 — the page reports it with its own message
        log.info("reading the county outlines failed; the page that needs them will say why", exc_info=True)


# Bounded caches (issue 15: server memory ≤ 1.5 GB after a benchmark pass): query results and memos are shared
# by every session as they are (Polars frames are never changed in place here), bounded by the bytes they hold
# (junheng/views/shared.py), each for an hour at most.
CACHE_TTL_S = 3600


RESULTS = shared.SharedResults(max_bytes=384 * shared.MB, ttl_s=CACHE_TTL_S)


def _query(path: str, fp: str, name: str, params: tuple, scope_key: tuple) -> pl.DataFrame:
    con = _connection(path, fp)
    return db.run(con, name, Scope(*scope_key), **{k: list(v) if isinstance(v, tuple) else v for k, v in params})


def query(name: str, **params) -> pl.DataFrame:
    """Run a named query inside the signed-in account's region scope, cached per scope, parameters and data."""
    return cached_query(str(data_dir()), fingerprint(), scope().key, name, params)


def cached_query(path: str, fp: str, scope_key: tuple, name: str, params: dict) -> pl.DataFrame:
    """query() with the data and scope named (the server's warm-up runs outside any session)."""
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in params.items()))
    return RESULTS.get(("query", path, fp, name, frozen, scope_key),
                       lambda: _query(path, fp, name, frozen, scope_key))


def query_later(name: str, **params):
    """A function that runs a named query when it is called (a download's builder): in the current visitor's
    scope, not cached (a region's school rows are fetched for the file, not kept)."""
    path, fp, scope_key = str(data_dir()), fingerprint(), scope().key

    def run() -> pl.DataFrame:
        return db.run(_connection(path, fp), name, Scope(*scope_key), **params)
    return run


def memo(key: tuple, build):
    """build() once per data version and key, shared by every session (bounded): the key names everything the
    result depends on besides the data (page, year, region, scope, rules)."""
    return RESULTS.get(("memo", str(data_dir()), fingerprint(), key), build)


def region_decisions(years: tuple[int, ...], min_count: int) -> pl.DataFrame:
    """Which region totals of protected counts may be published exactly (data/region_published.py), decided over
    every county of the data once per data version, years and threshold, shared by every session."""
    from junheng.data import region_published
    path, fp = str(data_dir()), fingerprint()
    return RESULTS.get(("region_decisions", path, fp, tuple(int(y) for y in years), int(min_count)),
                       lambda: region_published.decisions(_connection(path, fp), years, min_count))


def precomputed(county: str, year: int, schools: pl.DataFrame, table: pl.DataFrame | None, rules: dict) -> dict:
    """A county-year's plan, schedule (default target and budget, Chinese labels), 整改清单 and verdicts for these
    rows: stored with the data when they were written (junheng/data/precompute.py), else computed now and stored;
    kept here too, shared by every session and language."""
    from junheng.data import precompute
    path = data_dir()
    name = precompute.key(county, year, schools, table, rules)
    return RESULTS.get(("precomputed", str(path), name),
                       lambda: precompute.ensure(path, county, year, schools, table, rules))


def scope() -> Scope:
    """What the current visitor may read (the query layer applies it to every query); a guest's until a login."""
    return st.session_state.get("scope", GUEST)


@st.cache_resource(show_spinner=False, max_entries=4)  # coarse and fine, this version and the one before
def _county_geometry(path: str, fp: str, coarse: bool) -> gpd.GeoDataFrame:  # noqa: F821
    return boundaries.read(Path(path), "county_coarse" if coarse else "county")


def county_geometry(shown: int = 0) -> gpd.GeoDataFrame:  # noqa: F821
    """County polygons; coarser ones when a map shows more than COARSE_ABOVE counties (a province or more)."""
    return county_geometry_of(data_dir(), fingerprint(), shown)


def county_geometry_of(path: Path, fp: str, shown: int = 0) -> gpd.GeoDataFrame:  # noqa: F821
    return _county_geometry(str(path), fp, shown > boundaries.COARSE_ABOVE)


@st.cache_data(show_spinner=False, max_entries=8)
def _snapshot_health(path: str, fp: str):
    return db.snapshot_health(Path(path))


def snapshot_health():
    return _snapshot_health(str(data_dir()), fingerprint())


def rules() -> dict:
    """The evaluation rules (JUNHENG_THRESHOLDS); an invalid file stops the page with one clear message.

    Analysts and administrators see exact small counts when JUNHENG_ANALYST_EXACT_COUNTS=1 (no threshold).
    """
    try:
        out = settings.load_thresholds()
    except settings.SettingsError as e:
        messages.stop_with(t("settings_error", messages.language_code(), detail=str(e)))
    account = st.session_state.get("account")
    if account is not None and account.can("analyst") and settings.flag("JUNHENG_ANALYST_EXACT_COUNTS"):
        out["privacy"]["min_count"] = 0
    return out


@st.cache_data(show_spinner=False, max_entries=4)
def synthetic_counties(path: str, fp: str) -> dict[int, set[str]] | None:
    from junheng.data import store
    try:
        return store.synthetic_counties(Path(path))
    except store.ManifestError:  # unknown: the notice says synthetic, the safe side
        return None


@st.cache_resource(show_spinner=False)
def _housekeeping(path: str) -> None:
    from junheng.data import importer, store
    store.recover(Path(path))
    importer.sweep_uploads(Path(path))


def housekeeping() -> None:
    """Once per server process: finish a write a crash interrupted, delete uploads older than a day."""
    import logging
    try:
        _housekeeping(str(data_dir()))
    except Exception:  # never stop a page for it; the next write recovers too
        logging.getLogger(__name__).exception("housekeeping of the data directory failed")


@st.cache_resource(show_spinner=False, max_entries=2)
def _count_memo(path: str, fp: str) -> dict:
    """Suppression decisions per (scope, threshold, year, province), kept while the data stay the same: they do
    not depend on a cohort's conditions, so a condition change never recomputes them."""
    return {}


# Small results only (sizes, facet counts, summaries, trends, bins, a page of rows, the map's points), in the shared
# byte-bounded cache: a cohort's rows never stay in memory (a national cohort is 3.9 million school-years; 8 of them
# once held 6 GB).
def cohort(part: str, *args, **kwargs):
    """One statistic of a cohort as this visitor may see it (region scope, small counts), computed in DuckDB and
    cached: part is a name of junheng/data/cohort.py STATISTICS, args its cohort(s) and years, kwargs the rest."""
    from junheng.data import cohort as cohort_query
    kwargs = {k: tuple(dict.fromkeys(v)) if isinstance(v, list) else v for k, v in kwargs.items()}
    path, fp, scope_key, min_count = str(data_dir()), fingerprint(), scope().key, rules()["privacy"]["min_count"]
    frozen = tuple(tuple(a.items()) if isinstance(a, dict) else a for a in args)

    def build():
        return cohort_query.STATISTICS[part](_connection(path, fp), Scope(*scope_key), *args, min_count=min_count,
                                             memo=_count_memo(path, fp), **kwargs)
    return RESULTS.get(("cohort", path, fp, part, frozen, tuple(sorted(kwargs.items())), min_count, scope_key), build)


def cohort_rows(spec, years: tuple[int, int]):
    """A cohort's rows (every column) as this visitor may see them, for a file built on click: never cached."""
    from junheng.data import cohort as cohort_query
    return cohort_query.run(_connection(str(data_dir()), fingerprint()), spec, scope(), tuple(years),
                            rules()["privacy"]["min_count"], None, _count_memo(str(data_dir()), fingerprint()))

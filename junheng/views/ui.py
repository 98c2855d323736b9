"""The one Streamlit helper: cached data access, the shared sidebar, notices. Pages import this."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import polars as pl
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx
from streamlit_folium import st_folium

import logging

from junheng import escape, settings
from junheng.data import boundaries, db
from junheng.i18n import t
from junheng.access.scope import GUEST, Scope
from junheng.views import links

log = logging.getLogger("junheng")

FRAME_SCRIPT = "app.py"


@dataclass(frozen=True)
class Filters:
    lang: str
    year: int
    years: tuple[int, ...]
    region: str            # '' (all), 2-digit province, 4-digit prefecture or 6-digit county code
    region_name: str

    @property
    def county(self) -> str | None:
        return self.region if len(self.region) == 6 else None

    @property
    def region_md(self) -> str:
        """The region's name for markdown (headings): names are data, never formatting."""
        return escape.markdown(self.region_name)


def data_dir() -> Path:
    return settings.data_dir()


def fingerprint() -> str:
    """Changes with the data and with the counting rules the pre-aggregates use: part of every cache key."""
    return db.fingerprint(data_dir()) + ":" + str(sorted(db.materialized_params(rules()).items()))


@st.cache_resource(show_spinner=False, max_entries=2)
def _connection(path: str, fp: str):
    return db.connect(Path(path), rules())


@st.cache_data(show_spinner=False, max_entries=256)
def _query(path: str, fp: str, name: str, params: tuple, scope_key: tuple) -> pl.DataFrame:
    con = _connection(path, fp)
    return db.run(con, name, Scope(*scope_key), **{k: list(v) if isinstance(v, tuple) else v for k, v in params})


def query(name: str, **params) -> pl.DataFrame:
    """Run a named query inside the signed-in account's region scope, cached per scope, parameters and data."""
    frozen = tuple(sorted((k, tuple(v) if isinstance(v, (list, tuple)) else v) for k, v in params.items()))
    return _query(str(data_dir()), fingerprint(), name, frozen, scope().key)


def scope() -> Scope:
    """What the current visitor may read (the query layer applies it to every query); a guest's until a login."""
    return st.session_state.get("scope", GUEST)


@st.cache_resource(show_spinner=False)
def _county_geometry(path: str, fp: str, coarse: bool) -> gpd.GeoDataFrame:
    return boundaries.read(Path(path), "county_coarse" if coarse else "county")


def county_geometry(shown: int = 0) -> gpd.GeoDataFrame:
    """County polygons; coarser ones when a map shows more than COARSE_ABOVE counties (a province or more)."""
    return _county_geometry(str(data_dir()), fingerprint(), shown > boundaries.COARSE_ABOVE)


@st.cache_data(show_spinner=False, max_entries=8)
def _snapshot_health(path: str, fp: str):
    return db.snapshot_health(Path(path))


def snapshot_health():
    return _snapshot_health(str(data_dir()), fingerprint())


def _stop_with(message: str) -> None:
    st.error(message)
    st.stop()


def fail(lang: str, error: BaseException, key: str = "page_error") -> None:
    """Show a one-line message in the user's language and log the details (traceback, paths) on the server."""
    log.error("%s", t(key, "en"), exc_info=error)
    st.error(t(key, lang))


def language() -> str:
    """The language switch (中文/English), first in the sidebar; every setting is checked first."""
    try:
        settings.check()
        lang_default = settings.default_lang()
    except settings.SettingsError as e:
        _stop_with(t("settings_error", "zh", detail=escape.markdown(str(e))))
    link = links.parse(st.query_params, lang_default, names=("lang",))
    if "lang" in link.values:  # a shared link may name the language
        lang_default = link.values["lang"]
    for notice in link.notices:
        st.warning(notice)
    return st.sidebar.radio(t("language"), ["zh", "en"], index=["zh", "en"].index(lang_default),
                            format_func=lambda v: "中文" if v == "zh" else "English", horizontal=True, key="lang")


def sidebar(lang: str, required: bool = True) -> Filters | None:
    """The shared sidebar below the language switch: region cascade (province → prefecture → county), year.

    With no readable data: stops the page, or returns None when not required (the data management page).
    """
    good, problems = snapshot_health()
    for year, problem in sorted(problems.items()):
        st.error(t("year_unavailable", lang, year=year, detail=escape.markdown(problem)))
    if not good:
        if not required:
            st.warning(t("no_data", lang))
            return None
        _stop_with(t("no_data", lang))
    try:
        counties = query("counties_with_data")
        years = query("snapshot_years")["year"].to_list()
    except Exception as e:  # a broken or half-copied data directory: say so, log the details, do not crash
        fail(lang, e, "data_error")
        st.stop()

    if "link_applied" not in st.session_state:  # a shared link (?county=370724&year=2024) sets the start
        st.session_state["link_applied"] = True
        params = dict(st.query_params)
        outside = []
        if links.check("county", params.get("county")) is None and not scope().allows(params["county"]):
            outside.append(t("link_outside", lang, value=params.pop("county")))
        link = links.parse(params, lang, {"county": set(counties["county_code"]),
                                          "year": {str(y) for y in years}}, names=("county", "year"))
        st.session_state["link_notices"] = outside + link.notices
        st.session_state["pending_county"] = link.values.get("county")
        if "year" in link.values:
            st.session_state["year"] = int(link.values["year"])
    for notice in st.session_state.get("link_notices", []):
        st.warning(notice)
    own = scope().region
    if own and "region_defaulted" not in st.session_state:  # an account of one region starts on it
        st.session_state["region_defaulted"] = True
        if not st.session_state.get("pending_county"):
            st.session_state.update(province=own[:2], prefecture=own[:4] if len(own) >= 4 else "",
                                    county=own if len(own) == 6 else "")
    pending = st.session_state.pop("pending_county", None)
    if pending is not None and pending in set(counties["county_code"]):
        st.session_state.update(province=pending[:2], prefecture=pending[:4], county=pending)

    names = {}
    for level, code_col, name_col in (("province", "province_code", "province_name"),
                                      ("prefecture", "prefecture_code", "prefecture_name"),
                                      ("county", "county_code", "county_name")):
        names.update(dict(zip(counties[code_col], counties[name_col])))
    st.sidebar.subheader(t("region", lang))
    province = _pick("province", counties, "province_code", "", lang, names, t("all_provinces", lang))
    prefecture = _pick("prefecture", counties, "prefecture_code", province, lang, names, t("all", lang)) if province else ""
    county = _pick("county", counties, "county_code", prefecture, lang, names, t("all", lang)) if prefecture else ""
    region = county or prefecture or province
    region_name = " · ".join(names[c] for c in (province, prefecture, county) if c) or t("all_provinces", lang)

    year = st.sidebar.selectbox(t("year", lang), years[::-1], key="year")
    return Filters(lang, int(year), tuple(years), region, region_name)


def _pick(key: str, counties: pl.DataFrame, column: str, parent: str, lang: str, names: dict, all_label: str) -> str:
    options = [""] + sorted(set(counties.filter(pl.col(column).str.starts_with(parent))[column]))
    if st.session_state.get(key) not in options:
        st.session_state[key] = ""
    return st.sidebar.selectbox(t(key, lang), options, key=key,
                                format_func=lambda c: names.get(c, all_label) if c else all_label)


def rules() -> dict:
    """The evaluation rules (JUNHENG_THRESHOLDS); an invalid file stops the page with one clear message.

    Analysts and administrators see exact small counts when JUNHENG_ANALYST_EXACT_COUNTS=1 (no threshold).
    """
    try:
        out = settings.load_thresholds()
    except settings.SettingsError as e:
        _stop_with(t("settings_error", language_code(), detail=str(e)))
    account = st.session_state.get("account")
    if account is not None and account.can("analyst") and settings.flag("JUNHENG_ANALYST_EXACT_COUNTS"):
        out["privacy"]["min_count"] = 0
    return out


def language_code() -> str:
    return st.session_state.get("lang", "zh")


def county_map(fmap, key: str, current_county: str | None, height: int = 520) -> None:
    """Show a county map; a click on a county makes it the selected region (only the click reruns)."""
    event = st_folium(fmap, height=height, use_container_width=True, key=key,
                      returned_objects=["last_active_drawing"])
    clicked = ((event or {}).get("last_active_drawing") or {}).get("properties", {}).get("county_code")
    if clicked and clicked != st.session_state.get(f"{key}_handled"):
        st.session_state[f"{key}_handled"] = clicked
        if clicked != current_county:
            select_county(clicked)


def static_map(fmap, key: str, height: int = 520) -> None:
    """A display-only map: panning and zooming never rerun the app."""
    st_folium(fmap, height=height, use_container_width=True, key=key, returned_objects=[])


def downloads(frame: pl.DataFrame, name: str, lang: str, key: str, school_level: bool = True) -> None:
    """CSV and Excel download buttons for a table exactly as shown (through the one export module).

    School-level rows are for analysts and administrators. The file is built only when a button is clicked
    (Streamlit calls the builder then), and every download is audited.
    """
    from junheng.reports import exports
    account = st.session_state.get("account")
    if school_level and (account is None or not account.can("analyst")):
        st.caption(t("export_needs_analyst", lang))
        return
    left, right = st.columns(2)
    left.download_button(t("download_csv", lang), _export(frame, name, "csv", account, exports.csv_bytes),
                         exports.file_name(name, "csv"), "text/csv", key=f"{key}_csv", on_click="ignore")
    right.download_button(t("download_xlsx", lang),
                          _export(frame, name, "xlsx", account, lambda f: exports.xlsx_bytes({name: f})),
                          exports.file_name(name, "xlsx"), exports.XLSX_MIME, key=f"{key}_xlsx", on_click="ignore")


def _export(frame: pl.DataFrame, name: str, kind: str, account, build):
    """A builder Streamlit runs when the button is clicked: it records the export, then makes the file."""
    from junheng.access import audit
    from junheng.access.accounts import Account
    data_dir_now = data_dir()

    def make() -> bytes:
        audit.record(data_dir_now, account or Account("guest", "viewer", ""), "export",
                     {"file": name, "format": kind, "rows": frame.height})
        return build(frame)
    return make


def select_county(code: str) -> None:
    """Make code the selected region on the next run (used by map clicks); a county outside the scope is not."""
    if not scope().allows(code):
        return
    st.session_state["pending_county"] = code
    st.rerun()


@st.cache_data(show_spinner=False, max_entries=4)
def _synthetic_counties(path: str, fp: str) -> dict[int, set[str]] | None:
    from junheng.data import store
    try:
        return store.synthetic_counties(Path(path))
    except store.ManifestError:  # unknown: the notice says synthetic, the safe side
        return None


def notice(filters: Filters | None) -> None:
    """Say whether the data shown are synthetic (示例数据), per county and year: all, none or some of them."""
    if filters is None:
        return
    known = _synthetic_counties(str(data_dir()), fingerprint())
    shown = query("county_totals", years=[filters.year], region=filters.region)["county_code"].to_list()
    synthetic = set(shown) if known is None else known.get(filters.year, set())
    made_up = sum(c in synthetic for c in shown)
    if made_up and made_up == len(shown):
        st.warning(t("synthetic_notice", filters.lang), icon="⚠️")
    elif made_up:
        st.warning(t("synthetic_notice_some", filters.lang, n=made_up, total=len(shown)), icon="⚠️")
    elif shown:
        st.caption(t("imported_notice", filters.lang))


def page_filters(required: bool = True) -> Filters | None:
    """Filters from the frame's sidebar, or, when a page runs on its own, its own sidebar."""
    ctx = get_script_run_ctx()
    in_frame = ctx is not None and Path(ctx.main_script_path).name == FRAME_SCRIPT
    if in_frame and "frame_filters" in st.session_state:
        return st.session_state["frame_filters"]
    from junheng.views import login
    lang = language()
    login.box(lang, login.current(lang))
    filters = sidebar(lang, required)
    notice(filters)
    return filters


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


@st.cache_data(show_spinner=False, max_entries=16)
def _validate_upload(name: str, content: bytes, year: int, lang: str, path: str, fp: str, region: str,
                     replace_year: bool):
    from junheng.data import importer
    try:
        with importer.stored_upload(Path(path), name, content) as stored:
            _, report = importer.validate(stored, year, Path(path), lang, name=name, region=region,
                                          replace_year=replace_year)
    except importer.UnreadableFile as e:
        return None, str(e)
    return report, None


def validate_upload(uploaded, year: int, lang: str, replace_year: bool = False):
    """(report, unreadable-file message) for an uploaded file, computed once per file, year, language, region.

    Rows of counties outside the signed-in account's region are errors. The file is stored under a random
    name in the data directory's private upload folder while it is read, and deleted right after.
    """
    return _validate_upload(uploaded.name, uploaded.getvalue(), year, lang, str(data_dir()), fingerprint(),
                            scope().region, replace_year)


def import_upload(uploaded, year: int, lang: str, allow_removal=False, replace_year: bool = False):
    """Store the uploaded file as a new version of year (all or nothing); (report, version or None).

    The file replaces its counties' rows (replace_year: the whole year within the account's region); the
    import is audited. allow_removal: the Removal the user confirmed (see importer.import_file).
    """
    from junheng.access import audit
    from junheng.data import importer
    account = st.session_state.get("account")
    with importer.stored_upload(data_dir(), uploaded.name, uploaded.getvalue()) as stored:
        report, version = importer.import_file(stored, year, data_dir(), lang, allow_removal=allow_removal,
                                               source=uploaded.name, region=scope().region,
                                               replace_year=replace_year)
    if version is not None and account is not None:
        audit.record(data_dir(), account, "import", {"table": "school", "year": year, "version": version,
                                                     "file": uploaded.name, "replace_year": replace_year})
    return report, version


def undo_import(year: int, version: str, lang: str) -> dict:
    """Undo one import of year inside the account's region (see store.rollback); audited."""
    from junheng.access import audit
    from junheng.data import store
    entry = store.rollback(data_dir(), year, version, lang, region=scope().region)
    audit.record(data_dir(), st.session_state["account"], "rollback",
                 {"table": "school", "year": year, "undone": version, "version": entry["id"],
                  "counties": entry.get("counties", [])})
    return entry

"""The one Streamlit helper: cached data access, the shared sidebar, notices. Pages import this."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from junheng import escape, settings
from junheng.data import boundaries, db
from junheng.data.scope import GUEST, Scope
from junheng.i18n import t
from junheng.views import links, shared

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
    url_begin()
    raw = from_link("lang")
    if raw is not None:  # a shared link may name the language
        link = links.parse({"lang": raw[-1]} if raw else {}, lang_default, names=("lang",))
        for notice in link.notices:
            st.warning(notice)
        st.session_state["lang"] = link.values.get("lang", lang_default)
    st.session_state.setdefault("lang", lang_default)
    lang = st.sidebar.radio(t("language"), ["zh", "en"], format_func=lambda v: "中文" if v == "zh" else "English",
                            horizontal=True, key="lang")
    to_link({"lang": None if lang == lang_default else lang})
    return lang


# The view is in the link: every choice that changes what a page shows is a query parameter (?county=…&year=…
# &overview_metric=…), so a reload, back / forward and a pasted link show the same view. The link is applied to
# the widgets when it changed from outside (a new session, a pasted link, back / forward); after that the widgets
# write it, one history entry per change.
URL_LAST = "_url_last"


def _current_link() -> dict[str, tuple[str, ...]]:
    return {k: tuple(st.query_params.get_all(k)) for k in st.query_params}


def url_begin() -> None:
    """First thing in every run: whether the link changed from outside since this session last wrote it."""
    now, last = _current_link(), st.session_state.get(URL_LAST)
    ctx = get_script_run_ctx()
    page = ctx.page_script_hash if ctx is not None else None
    # A click on a sidebar page link clears the link's parameters (Streamlit does): not a change from outside,
    # so the region, year and language stay as they were (it used to reset a county view to the whole country).
    navigated = not now and st.session_state.get("_url_page") not in (None, page)
    st.session_state["_url_page"] = page
    st.session_state["_url_first"] = last is None
    st.session_state["_url_outside"] = last is None or (now != last and not navigated)
    st.session_state[URL_LAST] = now


def from_link(name: str) -> list[str] | None:
    """The link's values of parameter name when the link changed from outside in this run, [] when it lacks it
    (back to the default), None when the widgets' own state stands."""
    ctx = get_script_run_ctx()
    if not st.session_state.get("_url_outside") or (ctx is not None and ctx.fragment_ids_this_run):
        return None  # the widgets' own state stands (a fragment's rerun never rereads the link)
    values = st.query_params.get_all(name)
    if not values and st.session_state.get("_url_first"):
        return None  # a new session: the widgets' defaults (or a test's state) stand
    return list(values)


def to_link(values: dict) -> None:
    """Make the link show these parameters (None or [] removes one); one update, only when something changed."""
    current = _current_link()
    new = dict(current)
    for name, value in values.items():
        if value is None or (isinstance(value, (list, tuple)) and not value):
            new.pop(name, None)
        else:
            new[name] = tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else (str(value),)
    if new != current:
        st.query_params.from_dict({k: list(v) for k, v in new.items()})
    st.session_state[URL_LAST] = new


def linked(widget, label: str, options, *, key: str, default, **kwargs):
    """A widget (select box, radio, segmented control) whose value is also the link's ?key=value: taken from the
    link when it changed from outside (an invalid value is ignored with a one-line notice), written to it after."""
    options = list(options)
    raw = from_link(key)
    if raw is not None:
        value = default
        if raw:
            text = raw[-1]
            known = {str(o): o for o in options}
            problem = "too_long" if len(text) > links.MAX_LENGTH else None if text in known else "unknown"
            if problem:
                st.warning(t(f"link_{problem}", language_code(), name=key, value=escape.markdown(text, limit=24)))
            else:
                value = known[text]
        st.session_state[key] = value
    elif st.session_state.get(key) not in options:
        st.session_state[key] = default
    else:
        # Set again each run: a language switch changes the label, which makes it a new widget to Streamlit, and
        # a new widget shows its default unless its value was set in this run.
        st.session_state[key] = st.session_state[key]
    value = widget(label, options, key=key, **kwargs)
    value = default if value is None else value
    to_link({key: None if value == default else value})
    return value


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

    own = scope().region
    raw = {name: from_link(name) for name in ("county", "region", "year")}
    if any(v is not None for v in raw.values()):  # a link (?county=370724&year=2024, ?region=3707) sets the view
        params = {name: v[-1] for name, v in raw.items() if v}
        outside = []
        for name in ("county", "region"):
            # A region wider than the account's (?region=37 for a 370724 account) is outside it too: its figures
            # would be the account's own under the wider region's name.
            if name in params and links.check(name, params[name]) is None and not scope().allows(params[name]):
                key = "link_outside" if len(params[name]) == 6 else "link_outside_region"
                outside.append(t(key, lang, value=params.pop(name)))
        codes = set(counties["county_code"])
        link = links.parse(params, lang, {"county": codes, "region": {c[:n] for c in codes for n in (2, 4, 6)},
                                          "year": {str(y) for y in years}}, names=("county", "region", "year"))
        st.session_state["link_notices"] = outside + link.notices
        st.session_state["pending_county"] = link.values.get("county") or link.values.get("region") or (
            own if not st.session_state.get("_url_first") else None)
        if "year" in link.values:
            st.session_state["year"] = int(link.values["year"])
        elif raw["year"] is not None:
            st.session_state["year"] = years[-1]
    for notice in st.session_state.get("link_notices", []):
        st.warning(notice)
    if own and "region_defaulted" not in st.session_state:  # an account of one region starts on it
        st.session_state["region_defaulted"] = True
        if not st.session_state.get("pending_county"):
            st.session_state.update(province=own[:2], prefecture=own[:4] if len(own) >= 4 else "",
                                    county=own if len(own) == 6 else "")
    pending = st.session_state.pop("pending_county", None)
    if pending is not None and (pending == "" or any(c.startswith(pending) for c in counties["county_code"])):
        st.session_state.update(province=pending[:2], prefecture=pending[:4] if len(pending) >= 4 else "",
                                county=pending if len(pending) == 6 else "")

    names = {}
    for _level, code_col, name_col in (("province", "province_code", "province_name"),
                                       ("prefecture", "prefecture_code", "prefecture_name"),
                                       ("county", "county_code", "county_name")):
        names.update(dict(zip(counties[code_col], counties[name_col])))
    st.sidebar.subheader(t("region", lang))
    county_search(counties, lang)
    province = _pick("province", counties, "province_code", "", lang, names, t("all_provinces", lang), own)
    prefecture = _pick("prefecture", counties, "prefecture_code", province, lang, names, t("all", lang),
                       own) if province else ""
    county = _pick("county", counties, "county_code", prefecture, lang, names, t("all", lang),
                   own) if prefecture else ""
    region = county or prefecture or province
    region_name = " · ".join(names[c] for c in (province, prefecture, county) if c) or t("all_provinces", lang)

    year = st.sidebar.selectbox(t("year", lang), years[::-1], key="year")
    to_link({"county": county or None, "region": None if county else (prefecture or province or None),
             "year": None if year == years[-1] else year})
    return Filters(lang, int(year), tuple(years), region, region_name)


@st.cache_data(show_spinner=False, max_entries=8)
def _search_index(rows: tuple) -> list[dict]:
    from junheng.views import county_search as search
    return search.index(pl.DataFrame(list(rows), schema=["county_code", "county_name", "prefecture_name",
                                                          "province_name"], orient="row"))


def _choose_county(code: str) -> None:
    st.session_state.update(province=code[:2], prefecture=code[:4], county=code, county_search="")


def county_search(counties: pl.DataFrame, lang: str) -> None:
    """A search box above the region dropdowns: name, code or pinyin initials; a found county sets the same
    region the dropdowns set (only counties in the visitor's scope are searched)."""
    text = st.sidebar.text_input(t("county_search", lang), key="county_search", max_chars=32,
                                 placeholder=t("county_search_hint", lang))
    if not text:
        return
    from junheng.views import county_search as search  # pinyin's dictionaries load in 0.1-0.3 s: on a search only
    found = search.search(_search_index(tuple(counties.select(
        "county_code", "county_name", "prefecture_name", "province_name").iter_rows())), text)
    if not found:
        st.sidebar.caption(t("county_search_none", lang))
    for entry in found:
        st.sidebar.button(escape.markdown(f"{entry['name']} · {entry['where']} · {entry['code']}"),
                          key=f"county_found_{entry['code']}",
                          on_click=_choose_county, args=(entry["code"],), width="stretch")


def _pick(key: str, counties: pl.DataFrame, column: str, parent: str, lang: str, names: dict, all_label: str,
          own: str = "") -> str:
    """One level of the region cascade. Its "all" choice means the parent region: offered only when the parent lies
    inside the account's region (own), so the region shown, and its name, is never wider than what the account
    may read (a 370724 account is on 临朐县 at every level)."""
    codes = sorted(set(counties.filter(pl.col(column).str.starts_with(parent))[column]))
    options = ([""] if parent.startswith(own) or not codes else []) + codes
    if st.session_state.get(key) not in options:
        st.session_state[key] = options[0]
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
    from streamlit_folium import st_folium  # in the script's thread: it declares its component when imported
    register_folium()
    event = st_folium(fmap, height=height, use_container_width=True, key=key,
                      returned_objects=["last_active_drawing"])
    map_download(fmap, key)
    _county_clicked(event, key, current_county)


def _county_clicked(event, key: str, current_county: str | None) -> None:
    clicked = ((event or {}).get("last_active_drawing") or {}).get("properties", {}).get("county_code")
    if clicked and clicked != st.session_state.get(f"{key}_handled"):
        st.session_state[f"{key}_handled"] = clicked
        if clicked != current_county:
            select_county(clicked)


def static_map(fmap, key: str, height: int = 520) -> None:
    """A display-only map: panning and zooming never rerun the app."""
    from streamlit_folium import st_folium
    register_folium()
    st_folium(fmap, height=height, use_container_width=True, key=key, returned_objects=[])
    map_download(fmap, key)


# Maps built and rendered once per data version and view (issue 15: a national county map cost 0.35 s to build and
# 1 s to render in st_folium on every run). streamlit_folium changes the Folium object it renders, so what is kept
# is what it sends to the browser (the rendered script and page parts), never a live map.
MAP_RETURNS = {"last_active_drawing": None}


def folium_parts(fmap) -> dict:
    """What st_folium sends to the browser for fmap (streamlit-folium 0.27), rendered the way it renders it."""
    from folium.elements import JSCSSMixin
    from streamlit_folium import _get_header, _get_html, _get_map_string, get_full_id
    fmap.get_root().render()
    fmap.render()
    html, header = _get_html(fmap), _get_header(fmap)
    script = _get_map_string(fmap)

    def walk(element):  # the elements that bring their own scripts and style sheets (ours: vendored files)
        if isinstance(element, JSCSSMixin):
            yield element
        for child in getattr(element, "_children", {}).values():
            yield from walk(child)
    elements = list(walk(fmap))
    return {"script": script, "header": header, "html": html, "id": get_full_id(fmap),
            "css_links": list(dict.fromkeys(h for e in elements for _, h in getattr(e, "default_css", []))),
            "js_links": list(dict.fromkeys(s for e in elements for _, s in getattr(e, "default_js", [])))}


def _folium_parts(path: str, fp: str, cache_key: tuple, build) -> dict:
    # in the shared results, counted by their bytes (a national county map's parts are about 4.5 MB)
    return RESULTS.get(("map", path, fp, cache_key), lambda: folium_parts(build()))


def register_folium() -> None:
    """streamlit_folium declares its component when first imported but registers it only inside a script run;
    the server's warm-up imports it before any (to build the first page's map), so it is registered here, in a
    script run, once. Unregistered, the component's files are never served and no map draws."""
    from streamlit_folium import _component_func

    from junheng.views import folium_frame
    folium_frame.registered(_component_func)


def show_folium(parts: dict, key: str, height: int, returned: tuple[str, ...]):
    """st_folium(map, key, height, use_container_width=True, returned_objects=returned) from a map's parts."""
    from junheng.views import folium_frame
    _component_func = folium_frame.component()
    hash_key = folium_frame.js_hash(parts["script"], key, False)

    def on_change():
        st.session_state[key] = st.session_state.get(hash_key, {})
    # The map at its final height from the start: the component's frame opens 0 px high, so a map as high as
    # the frame was laid out empty, then resized and drawn a second time once the frame had its height.
    header = parts["header"] + f"<style>#{parts['id']}{{height:{int(height)}px}}</style>"
    return _component_func(
        script=parts["script"], header=header, html=parts["html"], id=parts["id"], key=hash_key,
        height=height, width=None, returned_objects=list(returned),
        default={k: v for k, v in MAP_RETURNS.items() if k in returned}, zoom=None, center=None,
        feature_group=None, return_on_hover=False, layer_control=None, pixelated=False,
        css_links=parts["css_links"], js_links=parts["js_links"], on_change=on_change, wrap_longitude=False)


def cached_county_map(cache_key: tuple, build, key: str, current_county: str | None, height: int = 520) -> None:
    """county_map for a map that build() makes, built and rendered once per data version and cache_key (which
    names everything the map shows besides the data: view, year, region, language, scope, threshold)."""
    parts = _folium_parts(str(data_dir()), fingerprint(), cache_key, build)
    event = show_folium(parts, key, height, ("last_active_drawing",))
    map_download(build, key)
    _county_clicked(event, key, current_county)


def warm_map(path: str, fp: str, cache_key: tuple, build) -> None:
    """Build a map's parts into the cache cached_county_map reads (the server's warm-up), or read them from the
    data directory where a server (this one before a restart, or another replica) stored them for this data
    version, view and code; stored after a build (best effort: a read-only data directory just builds them)."""
    RESULTS.get(("map", path, fp, cache_key), lambda: _stored_parts(Path(path), fp, cache_key, build))


STORED_MAPS_KEPT = 24


def _stored_parts(path: Path, fp: str, cache_key: tuple, build) -> dict:
    import hashlib
    import json
    from importlib.metadata import version
    from importlib.util import find_spec
    # the map builders' code, read without importing Folium (a stored map is shown without it)
    code = [Path(find_spec(m).origin).read_bytes() for m in ("junheng.figures.maps", "junheng.views.overview_views")]
    tag = hashlib.sha1(repr((fp, cache_key, version("folium"), version("streamlit-folium"), code)).encode())
    folder = path / "aggregates" / "maps"
    stored = folder / f"{tag.hexdigest()[:20]}.json"
    try:
        return json.loads(stored.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        pass
    parts = folium_parts(build())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = stored.with_name(f".{stored.name}.tmp")
        tmp.write_text(json.dumps(parts), encoding="utf-8")
        tmp.replace(stored)
        for old in sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)[:-STORED_MAPS_KEPT]:
            old.unlink(missing_ok=True)
    except OSError:
        log.info("the first page's map could not be stored; it is built at each start", exc_info=True)
    return parts


def cached_static_map(cache_key: tuple, build, key: str, height: int = 520) -> None:
    """static_map for a map that build() makes, built and rendered once per data version and cache_key."""
    show_folium(_folium_parts(str(data_dir()), fingerprint(), cache_key, build), key, height, ())
    map_download(build, key)


def map_download(fmap, key: str) -> None:
    """A PNG download under a map, drawn by the headless browser only when the button is clicked (fmap: a map,
    or a function that builds it then)."""
    from junheng.reports import pictures

    def png() -> bytes:
        try:
            return pictures.map_png(fmap() if callable(fmap) else fmap)
        except pictures.PictureError:  # logged; the user gets no file rather than a traceback
            log.exception("map picture failed")
            return b""
    st.download_button(t("map_png", language_code()), png, f"{key}.png", "image/png", key=f"{key}_png",
                       on_click="ignore", icon=":material/image:")


def downloads(frame: pl.DataFrame, name: str, lang: str, key: str, school_level: bool = True,
              formats: tuple[str, ...] = ("csv", "xlsx"), build=None, regions: tuple[str, ...] = ()) -> None:
    """Download buttons (CSV, Excel, Parquet) for a table exactly as shown (through the one export module);
    frame: the table, or a function that makes it when a button is clicked.

    Each file is released by the command layer (junheng/commands/exports.py `table`: school-level rows for
    analysts and administrators, inside the account's region, audited), built only when a button is clicked.
    build(frame, kind) -> bytes replaces the plain files (the cohort page's carry their data dictionary).
    """
    from junheng.reports import exports
    account = st.session_state.get("account")
    if school_level and (account is None or not account.can("analyst")):
        st.caption(t("export_needs_analyst", lang))
        return
    plain = {"csv": exports.csv_bytes, "xlsx": lambda f: exports.xlsx_bytes({name: f}),
             "parquet": exports.parquet_bytes}
    mime = {"csv": "text/csv", "xlsx": exports.XLSX_MIME, **exports.COHORT_FORMATS}  # the cohort's dta, sav too
    for column, kind in zip(st.columns(len(formats)), formats):
        maker = plain[kind] if build is None else (lambda f, kind=kind: build(f, kind))
        column.download_button(t(f"download_{kind}", lang),
                               _export(frame, name, kind, account, maker, school_level, regions),
                               exports.file_name(name, kind), mime[kind], key=f"{key}_{kind}", on_click="ignore")


def _export(frame, name: str, kind: str, account, build, school_level: bool = True, regions: tuple[str, ...] = ()):
    """What Streamlit runs when the button is clicked: the command that checks, builds and records the file."""
    from junheng.commands import exports as export_commands
    data_dir_now = data_dir()

    def make() -> bytes:
        return export_commands.table(data_dir_now, account, name, kind, frame, build, school_level, regions)
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
        st.warning(t("synthetic_notice", filters.lang), icon=":material/warning:")
    elif made_up:
        st.warning(t("synthetic_notice_some", filters.lang, n=made_up, total=len(shown)), icon=":material/warning:")
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
def _validate_upload(table: str, name: str, content: bytes, year: int, lang: str, path: str, fp: str,
                     account, replace_year: bool):
    from junheng.commands import data as data_commands
    return data_commands.validate_upload(Path(path), account, table, name, content, year, lang, replace_year)


def validate_upload(uploaded, year: int, lang: str, replace_year: bool = False, table: str = "school"):
    """(report, unreadable-file message) for an uploaded file of either table, checked by the command layer once
    per file, year, language and account (rows outside the account's region are errors)."""
    return _validate_upload(table, uploaded.name, uploaded.getvalue(), year, lang, str(data_dir()), fingerprint(),
                            st.session_state.get("account"), replace_year)


def import_upload(uploaded, year: int, lang: str, allow_removal=False, replace_year: bool = False,
                  table: str = "school"):
    """Store the uploaded file as a new version of year through the command layer (authorized, all or nothing,
    audited); (report, version or None)."""
    from junheng.commands import data as data_commands
    return data_commands.import_upload(data_dir(), st.session_state.get("account"), table, uploaded.name,
                                       uploaded.getvalue(), year, lang, allow_removal=allow_removal,
                                       replace_year=replace_year)


def undo_import(year: int, version: str, lang: str, table: str = "school") -> dict:
    """Undo one import of year inside the account's region, through the command layer (audited)."""
    from junheng.commands import data as data_commands
    return data_commands.rollback(data_dir(), st.session_state.get("account"), table, year, version, lang)


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


# The cohort page's link: ?from=2016&to=2025&where=…&where=…&compare=b&bwhere=…&measures=a,b&measure=a&view=trend&k=5
COHORT_KEYS = {"from": "cohort_years", "to": "cohort_years", "where": "cohort_where", "compare": "cohort_compare",
               "bwhere": "cohort_where_b", "measures": "cohort_measures", "measure": "cohort_measure",
               "view": "cohort_view", "k": "cohort_k"}


def cohort_link(lang: str, years: tuple[int, ...], defaults: dict) -> None:
    """Put the cohort page's link into its widgets when the link changed from outside; invalid parts are ignored
    with a one-line notice naming them (a condition's notice says what is wrong with it)."""
    raw = {name: from_link(name) for name in COHORT_KEYS}
    if all(v is None for v in raw.values()):
        for key, value in defaults.items():  # assigning a widget's key keeps it while its view is not shown
            st.session_state[key] = st.session_state.get(key, value)
        return
    values = links.cohort_params({k: v or [] for k, v in raw.items()}, lang, years)
    for notice in values.pop("notices"):
        st.warning(notice)
    state = {**defaults, **{COHORT_KEYS[k]: v for k, v in values.items() if k not in ("from", "to")}}
    first, last = values.get("from", defaults["cohort_years"][0]), values.get("to", defaults["cohort_years"][1])
    state["cohort_years"] = (min(first, last), max(first, last))
    for key in ("cohort_where", "cohort_where_b"):
        state[key] = "\n".join(c.text for c in state[key]) if not isinstance(state[key], str) else state[key]
    st.session_state.update(state)


def cohort_to_link(defaults: dict) -> None:
    """Write the cohort page's view into the link (defaults left out: a short link; only valid conditions)."""
    from junheng.rules import cohort as grammar
    chosen = st.session_state
    conditions, _ = grammar.parse_all(chosen.get("cohort_where", "").splitlines())
    conditions_b, _ = grammar.parse_all(chosen.get("cohort_where_b", "").splitlines())
    span = chosen.get("cohort_years", defaults["cohort_years"])
    to_link({"from": None if span[0] == defaults["cohort_years"][0] else span[0],
             "to": None if span[1] == defaults["cohort_years"][1] else span[1],
             "where": [c.text for c in conditions],
             "compare": None if chosen.get("cohort_compare") == defaults["cohort_compare"] else chosen.get(
                 "cohort_compare"),
             "bwhere": [c.text for c in conditions_b] if chosen.get("cohort_compare") == "b" else None,
             "measures": None if list(chosen.get("cohort_measures", [])) == list(defaults["cohort_measures"])
             else ",".join(chosen.get("cohort_measures", [])) or None,
             "measure": None if chosen.get("cohort_measure") in (None, defaults["cohort_measure"])
             else chosen.get("cohort_measure"),
             "view": None if chosen.get("cohort_view") in (None, defaults["cohort_view"])
             else chosen.get("cohort_view"),
             "k": None if chosen.get("cohort_k") in (None, defaults["cohort_k"]) else chosen.get("cohort_k")})


def facet_changed(column: str, where_key: str) -> None:
    """A click on a facet value: its condition in the conditions box becomes `column in (chosen values)`."""
    from junheng.rules import cohort as grammar
    lines = st.session_state.get(where_key, "").splitlines()
    chosen = st.session_state.get(f"{where_key}_facet_{column}") or []
    st.session_state[where_key] = "\n".join(grammar.replace_facet(lines, column, chosen))

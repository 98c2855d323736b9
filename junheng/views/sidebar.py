"""The shared sidebar: the language switch, the region cascade with its search, the year, and the notice saying whether
the data shown are synthetic."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from junheng import escape, settings
from junheng.i18n import t
from junheng.views import cache, link_state, links, messages

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


def language() -> str:
    """The language switch (中文/English), first in the sidebar; every setting is checked first."""
    try:
        settings.check()
        lang_default = settings.default_lang()
    except settings.SettingsError as e:
        messages.stop_with(t("settings_error", "zh", detail=escape.markdown(str(e))))
    link_state.url_begin()
    raw = link_state.from_link("lang")
    if raw is not None:  # a shared link may name the language
        link = links.parse({"lang": raw[-1]} if raw else {}, lang_default, names=("lang",))
        for notice in link.notices:
            st.warning(notice)
        st.session_state["lang"] = link.values.get("lang", lang_default)
    st.session_state.setdefault("lang", lang_default)
    lang = st.sidebar.radio(t("language"), ["zh", "en"], format_func=lambda v: "中文" if v == "zh" else "English",
                            horizontal=True, key="lang")
    link_state.to_link({"lang": None if lang == lang_default else lang})
    return lang


def sidebar(lang: str, required: bool = True) -> Filters | None:
    """The shared sidebar below the language switch: region cascade (province → prefecture → county), year.

    With no readable data: stops the page, or returns None when not required (the data management page).
    """
    good, problems = cache.snapshot_health()
    for year, problem in sorted(problems.items()):
        st.error(t("year_unavailable", lang, year=year, detail=escape.markdown(problem)))
    if not good:
        if not required:
            st.warning(t("no_data", lang))
            return None
        messages.stop_with(t("no_data", lang))
    try:
        counties = cache.query("counties_with_data")
        years = cache.query("snapshot_years")["year"].to_list()
    except Exception as e:  # a broken or half-copied data directory: say so, log the details, do not crash
        messages.fail(lang, e, "data_error")
        st.stop()

    own = cache.scope().region
    raw = {name: link_state.from_link(name) for name in ("county", "region", "year")}
    if any(v is not None for v in raw.values()):  # a link (?county=370724&year=2024, ?region=3707) sets the view
        params = {name: v[-1] for name, v in raw.items() if v}
        outside = []
        for name in ("county", "region"):
            # A region wider than the account's (?region=37 for a 370724 account) is outside it too: its figures
            # would be the account's own under the wider region's name.
            if name in params and links.check(name, params[name]) is None and not cache.scope().allows(params[name]):
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
    link_state.to_link({"county": county or None, "region": None if county else (prefecture or province or None),
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


def select_county(code: str) -> None:
    """Make code the selected region on the next run (used by map clicks); a county outside the scope is not."""
    if not cache.scope().allows(code):
        return
    st.session_state["pending_county"] = code
    st.rerun()


def notice(filters: Filters | None) -> None:
    """Say whether the data shown are synthetic (示例数据), per county and year: all, none or some of them."""
    if filters is None:
        return
    known = cache.synthetic_counties(str(cache.data_dir()), cache.fingerprint())
    shown = cache.query("county_totals", years=[filters.year], region=filters.region)["county_code"].to_list()
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

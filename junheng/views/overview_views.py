"""The overview page's county map, built once per data version and view and shared by every session; the
server builds the first page's map (the national view a guest sees first) while it starts."""
from __future__ import annotations

import logging

from junheng.i18n import t
from junheng.rules import overview

log = logging.getLogger("junheng")


def map_key(metric: str, year: int, map_region: str, county: str | None, lang: str, scope_key: tuple,
            min_count: int) -> tuple:
    """Everything the overview map shows besides the data (min_count: the privacy threshold it was published with)."""
    return ("overview_map", metric, int(year), map_region, county, lang, scope_key, int(min_count))


def build_map(geometry, this_year, metric: str, year: int, lang: str, county: str | None, min_count: int):
    """The choropleth of one measure over the counties of this_year (one row per county, county_published_totals):
    a hidden left-behind or migrant total has no colour and its mark as text."""
    from junheng.figures import maps  # Folium: only to build a map, not to show a stored one
    label = overview.metric_label(metric, lang)
    data = overview.county_map_data(geometry, this_year, metric, lang, min_count)
    return maps.county_choropleth_map(data, "value", "value_text", {
        "name": t("county_name", lang), "metric": label, "no_data": t("legend_no_data", lang),
        "format": overview.metric_format(metric)}, selected=county)


def map_values(this_year, metric: str, lang: str, min_count: int) -> dict:
    """The overview map's values for the map component (junheng/views/map_component.py): the measure's colour
    class and text per county of this_year, and the legend."""
    import pandas as pd

    from junheng.views import map_component
    codes = pd.DataFrame({"county_code": this_year["county_code"].to_list()})
    data = overview.county_map_data(codes, this_year, metric, lang, min_count)
    return map_component.choropleth_values(data, "value", "value_text", {
        "metric": overview.metric_label(metric, lang), "no_data": t("legend_no_data", lang),
        "format": overview.metric_format(metric)})


def warm() -> None:
    """Open the data's connection and build (or read) the first page's map before the first visitor asks (the
    launcher calls this in a thread as the server starts); any problem is left for the first page to show."""
    from junheng.views import cache
    try:
        warm_first_page(*cache.warm_connection())
    except Exception:  # noqa: BLE001 — the page reports it with its own message
        log.info("warming the data connection failed; the first page will say why", exc_info=True)


def warm_first_page(path: str, fp: str) -> None:
    """Build the map of the page a visitor sees first (the national overview, default language, a guest's view)
    into the shared caches, as that page would, so the first visit only sends it."""
    from pathlib import Path

    from junheng import settings
    from junheng.data.scope import GUEST
    from junheng.views import cache, map_component
    if not settings.flag("JUNHENG_GUEST_ACCESS"):
        return
    years = cache.cached_query(path, fp, GUEST.key, "snapshot_years", {})["year"].to_list()
    if not years:
        return
    year, lang, metric = max(years), settings.default_lang(), overview.metric_keys()[0]
    min_count = settings.load_thresholds()["privacy"]["min_count"]  # a guest's threshold, as cache.rules gives it
    totals = cache.cached_query(path, fp, GUEST.key, "county_published_totals",
                                {"years": [year - 1, year], "region": "", "min_count": min_count})
    this_year = totals.filter(totals["year"] == year)
    # the map component's values (the first page's script finds them) and its outlines (the browser's first fetch)
    cache.RESULTS.get(("map_values", path, fp, map_key(metric, year, "", None, lang, GUEST.key, min_count)),
                      lambda: map_values(this_year, metric, lang, min_count))
    map_component.warm(Path(path), this_year["county_code"].to_list())
    log.info("first page's map built for %s", year)

"""Folium map builders that draw with no internet access: Leaflet comes from the app's own static files."""
from __future__ import annotations

from typing import TYPE_CHECKING

import folium
import numpy as np
from branca.element import Element, MacroElement
from folium.plugins import MarkerCluster
from jinja2 import Template

from junheng import escape, settings

if TYPE_CHECKING:  # the frames come in from the callers: geopandas is not imported for a stored map
    import geopandas as gpd

ASSET_BASE = "/app/static/vendor"
LOCAL_JS = [("leaflet", f"{ASSET_BASE}/leaflet/leaflet.js")]
LOCAL_CSS = [("leaflet_css", f"{ASSET_BASE}/leaflet/leaflet.css")]
PALETTE = ("#eff3ff", "#bdd7e7", "#6baed6", "#3182bd", "#08519c")
NO_DATA_COLOUR = "#d9d9d9"


def base_map(bounds: tuple[float, float, float, float], tile_url: str | None = None) -> folium.Map:
    """An empty map fitted to bounds (minx, miny, maxx, maxy); tiles only when a URL is configured."""
    tile_url = settings.tile_url() if tile_url is None else tile_url
    if tile_url and settings.tile_url_problem(tile_url):
        raise settings.SettingsError(f"JUNHENG_TILE_URL {settings.tile_url_problem(tile_url)}")
    fmap = folium.Map(tiles=None, control_scale=False, prefer_canvas=True, zoom_snap=0.25)
    _MetricScale().add_to(fmap)
    fmap.options["max_zoom"] = 18  # with no tile layer Leaflet has none, and marker clustering needs one
    fmap.default_js = LOCAL_JS
    fmap.default_css = LOCAL_CSS
    if tile_url:
        folium.TileLayer(tile_url, attr="tiles: local configuration").add_to(fmap)
    minx, miny, maxx, maxy = bounds
    fit = folium.map.FitBounds([[miny, minx], [maxy, maxx]])
    # Leaflet opens the map at zoom 1 and then fits it; animated, that fit ended 250 ms later with a second
    # full draw of every outline before the map held still.
    fit.options["animate"] = False
    fit.add_to(fmap)
    return fmap


class _MetricScale(MacroElement):
    """Leaflet's scale bar in kilometres only: folium's control_scale adds a second bar in miles ("100 mi")."""

    _template = Template("{% macro script(this, kwargs) %}"
                         "L.control.scale({imperial: false}).addTo({{ this._parent.get_name() }});"
                         "{% endmacro %}")


def class_breaks(values: np.ndarray, n: int = len(PALETTE)) -> list[float]:
    """Quantile class limits (n - 1 inner breaks) of the finite values."""
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return []
    return list(np.unique(np.quantile(finite, np.linspace(0, 1, n + 1)[1:-1])))


def colour_for(value: float | None, breaks: list[float]) -> str:
    if value is None or not np.isfinite(value):
        return NO_DATA_COLOUR
    return PALETTE[int(np.searchsorted(breaks, value, side="right"))] if breaks else PALETTE[2]


def county_choropleth_map(counties: gpd.GeoDataFrame, value_column: str, text_column: str,
                          labels: dict[str, str], tile_url: str | None = None,
                          selected: str | None = None) -> folium.Map:
    """Counties coloured by value_column in quantile classes, with a tooltip and an inline legend.

    labels: 'name' (tooltip name header), 'metric' (metric title), 'no_data', optional 'format'.
    """
    values = counties[value_column].to_numpy(dtype=float, na_value=np.nan)
    breaks = class_breaks(values)
    fills = [colour_for(v, breaks) for v in values]
    fmt = labels.get("format", "{:,.2f}")
    edges = ["–"] + [fmt.format(b) for b in breaks]
    legend = []
    for i, colour in enumerate(PALETTE[: len(breaks) + 1]):
        high = fmt.format(breaks[i]) if i < len(breaks) else ""
        text = f"≥ {edges[i]}" if i == len(breaks) and i else (f"< {high}" if i == 0 else f"{edges[i]} – {high}")
        legend.append((colour, text))
    legend.append((NO_DATA_COLOUR, labels["no_data"]))
    return _county_map(counties, fills, text_column, labels, legend, tile_url, selected)


def county_category_map(counties: gpd.GeoDataFrame, category_column: str, text_column: str,
                        colours: dict[str, str], category_labels: dict[str, str], labels: dict[str, str],
                        tile_url: str | None = None, selected: str | None = None) -> folium.Map:
    """Counties coloured by a category (e.g. evaluation status), with a tooltip and a legend."""
    fills = [colours.get(c, NO_DATA_COLOUR) for c in counties[category_column]]
    legend = [(colours[c], category_labels[c]) for c in colours] + [(NO_DATA_COLOUR, labels["no_data"])]
    return _county_map(counties, fills, text_column, labels, legend, tile_url, selected)


def _county_map(counties, fills, text_column, labels, legend, tile_url, selected) -> folium.Map:
    shown = counties[["county_code", "county_name", text_column, "geometry"]].copy()
    # Folium's GeoJsonTooltip puts property values into the page as HTML: names are escaped for it here.
    shown["county_name"] = [escape.html(v) for v in shown["county_name"]]
    shown[text_column] = [escape.html(v) for v in shown[text_column]]
    shown["fill"] = fills
    shown["selected"] = shown["county_code"] == selected
    fmap = base_map(tuple(counties.total_bounds), tile_url)
    folium.GeoJson(
        shown.to_json(drop_id=True, ensure_ascii=False),
        name="counties",
        style_function=lambda f: {"fillColor": f["properties"]["fill"], "fillOpacity": 0.85,
                                  "color": "#d94801" if f["properties"]["selected"] else "#555",
                                  "weight": 3 if f["properties"]["selected"] else 0.8},
        highlight_function=lambda f: {"weight": 2.5, "color": "#d94801"},
        tooltip=folium.GeoJsonTooltip(fields=["county_name", text_column],
                                      aliases=[escape.html(labels["name"]), escape.html(labels["metric"])],
                                      sticky=True),
    ).add_to(fmap)
    fmap.get_root().html.add_child(Element(legend_html(labels["metric"], legend)))
    fmap.picture_title = labels.get("picture_title") or labels["metric"]  # a PNG of the map carries a title
    return fmap


def legend_html(title: str, entries: list[tuple[str, str]]) -> str:
    """A small fixed legend box: (colour, text) rows under a title."""
    rows = "".join(f'<div><span style="background:{escape.html(c)}"></span>{escape.html(text)}</div>'
                   for c, text in entries)
    return (
        '<div style="position:absolute;bottom:18px;right:10px;z-index:1000;background:rgba(255,255,255,.92);'
        'padding:6px 8px;font:12px sans-serif;border-radius:4px;box-shadow:0 0 4px #999">'
        f'<b>{escape.html(title)}</b>'
        '<style>.junheng-legend span{display:inline-block;width:14px;height:10px;margin-right:6px}</style>'
        f'<div class="junheng-legend">{rows}</div></div>'
    )


CLUSTER_JS = [("markerclusterjs", f"{ASSET_BASE}/markercluster/leaflet.markercluster.js")]
CLUSTER_CSS = [("markerclustercss", f"{ASSET_BASE}/markercluster/MarkerCluster.css"),
               ("markerclusterdefault", f"{ASSET_BASE}/markercluster/MarkerCluster.Default.css")]


def school_cluster_map(schools, outline, labels: dict[str, str], tile_url: str | None = None) -> folium.Map:
    """Schools as clustered circles sized by `size` (already suppressed for display), inside the county outline.

    schools: rows with lon, lat, size (float, 0 for suppressed), tooltip (plain text; escaped here).
    outline: a GeoDataFrame with the county polygon.
    """
    fmap = base_map(tuple(outline.total_bounds), tile_url)
    folium.GeoJson(outline[["county_name", "geometry"]].to_json(drop_id=True, ensure_ascii=False),
                   style_function=lambda f: {"fillOpacity": 0.05, "color": "#555", "weight": 1.5}).add_to(fmap)
    cluster = MarkerCluster(name=labels["layer"], options={"maxClusterRadius": 40})
    cluster.default_js = CLUSTER_JS
    cluster.default_css = CLUSTER_CSS
    cluster.add_to(fmap)
    biggest = max([r["size"] for r in schools] or [1]) or 1
    for row in schools:
        folium.CircleMarker(
            location=(row["lat"], row["lon"]), radius=4 + 16 * (row["size"] / biggest) ** 0.5,
            color="#b30000", weight=1, fill=True, fill_color="#e34a33", fill_opacity=0.6,
            tooltip=escape.js_template_html(row["tooltip"]),  # Folium writes it into a JS template string
        ).add_to(cluster)
    fmap.get_root().html.add_child(Element(legend_html(labels["title"], [("#e34a33", labels["legend"])])))
    fmap.picture_title = labels.get("picture_title") or labels["title"]
    return fmap


def school_status_map(schools, outline, colours: dict, labels: dict[str, str],
                      tile_url: str | None = None) -> folium.Map:
    """Schools as circles coloured by a pass (True) / fail (False) verdict, inside the county outline.

    schools: rows with lon, lat, passes, tooltip (plain text; escaped here). labels: 'title', 'pass', 'fail'.
    """
    fmap = base_map(tuple(outline.total_bounds), tile_url)
    folium.GeoJson(outline[["county_name", "geometry"]].to_json(drop_id=True, ensure_ascii=False),
                   style_function=lambda f: {"fillOpacity": 0.05, "color": "#555", "weight": 1.5}).add_to(fmap)
    for row in sorted(schools, key=lambda r: r["passes"], reverse=True):  # failing schools drawn on top
        colour = colours[bool(row["passes"])]
        folium.CircleMarker(
            location=(row["lat"], row["lon"]), radius=6 if row["passes"] else 8, color="#333", weight=1,
            fill=True, fill_color=colour, fill_opacity=0.85,
            tooltip=escape.js_template_html(row["tooltip"]),  # Folium writes it into a JS template string
        ).add_to(fmap)
    fmap.get_root().html.add_child(Element(legend_html(labels["title"], [
        (colours[True], labels["pass"]), (colours[False], labels["fail"])])))
    fmap.picture_title = labels.get("picture_title") or labels["title"]
    return fmap


def school_picture_map(schools, outline, colours: dict[str, str], labels: dict[str, str]) -> folium.Map:
    """The static picture of a county's schools: one circle per school (never clustered, so that nothing reads
    as a count of children), coloured by its verdict, sized by `size` (already suppressed for display).

    schools: rows with lon, lat, size, status (a key of colours). colours: status -> colour, in legend order.
    labels: 'picture_title', 'legend_title', 'size_note', and one per status (the legend's text, with its count).
    """
    fmap = base_map(tuple(outline.total_bounds), tile_url="")
    folium.GeoJson(outline[["county_name", "geometry"]].to_json(drop_id=True, ensure_ascii=False),
                   style_function=lambda f: {"fillOpacity": 0.05, "color": "#555", "weight": 1.5}).add_to(fmap)
    biggest = max([r["size"] for r in schools] or [1]) or 1
    order = {status: n for n, status in enumerate(colours)}
    for row in sorted(schools, key=lambda r: (-r["size"], -order.get(r["status"], 0))):  # small ones on top
        folium.CircleMarker(location=(row["lat"], row["lon"]), radius=4 + 14 * (row["size"] / biggest) ** 0.5,
                            color="#333", weight=0.8, fill=True, fill_color=colours.get(row["status"], NO_DATA_COLOUR),
                            fill_opacity=0.8).add_to(fmap)
    entries = [(colours[s], labels[s]) for s in colours if s in labels]
    legend = legend_html(labels["legend_title"], entries)
    note = f'<div style="margin-top:3px;color:#555">{escape.html(labels["size_note"])}</div></div>'
    fmap.get_root().html.add_child(Element(legend[: -len("</div>")] + note))
    fmap.picture_title = labels["picture_title"]
    return fmap

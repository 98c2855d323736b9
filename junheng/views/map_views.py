"""Maps on the pages: the county choropleths drawn by the map component from values (map_component.py), and the
school maps as Folium maps shown through streamlit-folium, built and rendered once per data version and view; a
PNG download under each (Folium, drawn when clicked)."""
from __future__ import annotations

import logging

import streamlit as st

from junheng.i18n import t
from junheng.views import cache, messages, sidebar

log = logging.getLogger("junheng")


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
    return cache.RESULTS.get(("map", path, fp, cache_key), lambda: folium_parts(build()))


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


def values_county_map(cache_key: tuple, values, build, key: str, current_county: str | None,
                      height: int = 520) -> None:
    """A county map drawn by the map component (junheng/views/map_component.py) from values() — worked out once
    per data version and cache_key (everything the map shows besides the data) — over outlines the browser
    fetches once; a click on a county selects it; the PNG download draws the Folium map build() makes."""
    from junheng.views import map_component
    shown = cache.RESULTS.get(("map_values", str(cache.data_dir()), cache.fingerprint(), cache_key), values)
    event = map_component.county_map(cache.data_dir(), shown, key, current_county, messages.language_code(),
                                     height=height)
    map_download(build, key)
    map_component.handle_click(event, key, current_county, sidebar.select_county)


def cached_static_map(cache_key: tuple, build, key: str, height: int = 520) -> None:
    """static_map for a map that build() makes, built and rendered once per data version and cache_key."""
    show_folium(_folium_parts(str(cache.data_dir()), cache.fingerprint(), cache_key, build), key, height, ())
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
    st.download_button(t("map_png", messages.language_code()), png, f"{key}.png", "image/png", key=f"{key}_png",
                       on_click="ignore", icon=":material/image:")

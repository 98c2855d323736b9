"""Pictures of charts and maps: real PNGs of the asked size with something drawn, and no internet used."""
from __future__ import annotations

import io

import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from junheng.data import boundaries
from junheng.figures import maps
from junheng.reports import pictures

pytestmark = pytest.mark.browser
PNG = b"\x89PNG\r\n\x1a\n"


def _drawn_share(png: bytes, background: tuple[int, int, int]) -> float:
    """Share of pixels that differ clearly from the background colour."""
    pixels = np.asarray(Image.open(io.BytesIO(png)).convert("RGB"), dtype=int)
    return float((np.abs(pixels - np.array(background)).max(axis=2) > 20).mean())


def test_chart_png_has_the_size_and_the_bars():
    fig = go.Figure(go.Bar(x=["城区", "乡村"], y=[3, 7], marker_color="#08519c"))
    png = pictures.chart_png(fig, width=400, height=300, scale=2)
    assert png.startswith(PNG)
    assert Image.open(io.BytesIO(png)).size == (800, 600)
    assert _drawn_share(png, (255, 255, 255)) > 0.05  # the dark bars take a good part of the picture
    empty = pictures.chart_png(go.Figure(), width=400, height=300, scale=1)
    assert _drawn_share(empty, (255, 255, 255)) < _drawn_share(png, (255, 255, 255))


def test_chart_svg_is_vector_text():
    svg = pictures.chart_svg(go.Figure(go.Bar(x=["城区"], y=[1])), width=300, height=200)
    assert svg.lstrip().startswith(b"<svg") and "城区".encode() in svg


def test_map_png_draws_the_county_from_vendored_leaflet(boundary_dir):
    counties = boundaries.read(boundary_dir.parent, "county").query("county_code == '370724'")
    counties = counties.assign(value=1.0, value_text="1")
    fmap = maps.county_choropleth_map(counties, "value", "value_text",
                                      {"name": "县", "metric": "值", "no_data": "无", "format": "{:,.0f}"}, tile_url="")
    html = pictures.map_html(fmap)
    assert "/app/static/vendor/leaflet/leaflet.js" in html and "cdn" not in html.lower()
    png = pictures.map_png(fmap, width=500, height=400)
    assert png.startswith(PNG)
    assert Image.open(io.BytesIO(png)).size == (500, 400)
    assert _drawn_share(png, (221, 221, 221)) > 0.05  # Leaflet's grey background, the county filled over it


def test_map_png_refuses_a_map_that_never_draws():
    import folium
    fmap = folium.Map(tiles=None)  # Leaflet from a CDN, which the picture browser refuses
    with pytest.raises(pictures.PictureError):
        pictures.map_png(fmap, width=300, height=200, timeout_ms=3000)

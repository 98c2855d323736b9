"""The county-map component's Python side: the outline encoding, the versioned outline URL, the values a run sends
(classes, texts, legend), their size at national scope, and a click's handling."""
import json
import math
import shutil
import zlib

import geopandas as gpd
import numpy as np
import pandas as pd
import polars as pl
import pytest
from shapely.geometry import MultiPolygon, Polygon

from junheng.data import boundaries
from junheng.rules import overview
from junheng.views import map_component


def decode(body: bytes) -> list:
    """What static/map_component/map.js does with the outlines (map_component.decode_outlines, its mirror): the
    points times the grid, as [lat, lon]."""
    payload = map_component.decode_outlines(body)
    return [[[[(round(y * payload["grid"], 6), round(x * payload["grid"], 6)) for x, y in ring] for ring in rings]
             for rings in shape] for shape in payload["shapes"]]


def _frame():
    square = Polygon([(116.0, 39.0), (116.01, 39.0), (116.01, 39.01), (116.0, 39.01)])
    islands = MultiPolygon([Polygon([(120.0, 30.0), (120.002, 30.0), (120.002, 30.003)]),
                            Polygon([(121.0, 31.0), (121.001, 31.0), (121.001, 31.001), (121.0, 31.001)])])
    return gpd.GeoDataFrame({"county_code": ["110101", "330102"], "county_name": ["东城区", "<b>上城区</b>"]},
                            geometry=[square, islands], crs="EPSG:4326")


def test_outlines_are_integer_steps_on_the_grid_that_decode_to_the_polygon():
    body = map_component.encode_outlines(_frame(), 0.001)
    payload = map_component.decode_outlines(body)
    assert payload["codes"] == ["110101", "330102"] and payload["names"] == ["东城区", "<b>上城区</b>"]
    # the square, worked by hand: first point 116000, 39000 on the grid, then 10 east, 10 north, 10 west, 10 south
    assert payload["shapes"][0] == [[[[116000, 39000], [116010, 39000], [116010, 39010], [116000, 39010],
                                      [116000, 39000]]]]
    assert decode(body)[0][0][0] == [(39.0, 116.0), (39.0, 116.01), (39.01, 116.01), (39.01, 116.0), (39.0, 116.0)]
    # the bytes, by hand: the header's length and the header, then the square's x steps 116000, 10, 0, -10, 0 and
    # its y steps as zigzag varints (116000 → 232000 = 0xC0 0x94 0x0E; 10 → 20; -10 → 19)
    size = int.from_bytes(body[:4], "big")
    assert body[4 + size:4 + size + 7] == bytes([0xC0, 0x94, 0x0E, 20, 0, 19, 0])
    # the island of 1 × 1 grid steps keeps its four corners; a ring the grid collapses would be dropped
    assert len(payload["shapes"][1]) == 2


def test_a_ring_the_grid_merges_into_fewer_than_three_points_is_dropped():
    payload = map_component.decode_outlines(map_component.encode_outlines(_frame(), 0.01))
    assert payload["codes"] == ["110101"]  # both islands are smaller than one 0.01° step


def test_varints_round_trip_the_largest_steps():
    import numpy as np
    values = np.array([0, 1, -1, 63, -64, 64, 2**31, -(2**31), 3_600_000, -3_600_000], dtype=np.int64)
    frame = _frame()
    body = map_component.encode_outlines(frame, 0.0001)
    assert map_component.decode_outlines(body)["shapes"][0][0][0][0] == [1160000, 390000]
    stream = map_component._varints(values)
    header = b'{"grid":1,"codes":["x"],"names":[""],"rings":[[[5]]]}'
    xs, ys = values[:5], values[5:]
    body = len(header).to_bytes(4, "big") + header + map_component._varints(xs) + map_component._varints(ys)
    assert map_component.decode_outlines(body)["shapes"][0][0][0] == [
        [int(a), int(b)] for a, b in zip(np.cumsum(xs), np.cumsum(ys))]
    assert len(stream) > len(values)


@pytest.mark.parametrize("codes, detail, expected", [
    (["370724", "370725"], "fine", "3707"),
    (["370724", "370102"], "fine", "37"),
    (["370724", "341202"], "fine", "34-37"),
    (["370724"], "coarse", "all"),
    ([], "fine", "all"),
])
def test_the_outline_url_names_the_prefecture_or_provinces_of_the_shown_counties(codes, detail, expected):
    assert map_component.regions_of(codes, detail) == expected


def test_the_outline_url_is_coarse_above_the_coarse_limit(tmp_path):
    few = map_component.geometry_url(tmp_path, ["370724", "370725"])
    many = map_component.geometry_url(tmp_path, [f"37{i:04d}" for i in range(boundaries.COARSE_ABOVE + 1)])
    assert few.endswith("/fine/3707.bin") and many.endswith("/coarse/all.bin")
    assert few.startswith("_junheng/map/")  # relative to the app's base: works under a proxy's path prefix


@pytest.fixture()
def outline_dir(tmp_path, boundary_dir):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    map_component._ENCODED.clear()
    yield tmp_path
    map_component._ENCODED.clear()


def test_the_outline_reply_is_encoded_once_then_kept_and_refused_for_another_version(outline_dir, monkeypatch):
    url = map_component.geometry_url(outline_dir, ["370724", "370725"])
    _, _, tag, detail, regions = url.removesuffix(".bin").split("/")
    encoded = []
    real = map_component.encode_outlines
    monkeypatch.setattr(map_component, "encode_outlines", lambda *a: encoded.append(1) or real(*a))
    body = map_component.geometry_bytes(outline_dir, tag, detail, regions)
    assert map_component.geometry_bytes(outline_dir, tag, detail, regions) is body and encoded == [1]
    codes = map_component.decode_outlines(body)["codes"]
    assert "370724" in codes and all(c.startswith("3707") for c in codes)
    assert map_component.geometry_bytes(outline_dir, "0" * 16, detail, regions) is None  # an old version
    assert map_component.geometry_bytes(outline_dir, tag, "medium", regions) is None
    assert map_component.geometry_bytes(outline_dir, tag, detail, "../x") is None
    assert map_component.geometry_bytes(outline_dir, tag, detail, "3") is None
    # new boundary files: a new version, so a new URL the browser has not kept
    (outline_dir / "boundaries" / "counties.parquet").touch()
    assert map_component.outline_tag(outline_dir) != tag


def test_values_classes_texts_and_legend_worked_by_hand():
    frame = pd.DataFrame({"county_code": [f"3707{i:02d}" for i in range(1, 8)],
                          "value": [1, 2, 3, 4, 5, 6, math.nan],
                          "value_text": ["1", "2", "3", "4", "5", "6", "*"]})
    values = map_component.choropleth_values(frame, "value", "value_text",
                                             {"metric": "学校数", "no_data": "无数据", "format": "{:,.0f}"})
    # quantiles of 1…6 at 20/40/60/80 %: 2, 3, 4, 5; a value equal to a break goes to the class above it
    assert values["classes"] == [0, 1, 2, 3, 4, 4, -1]
    assert values["legend"] == [["#eff3ff", "< 2"], ["#bdd7e7", "2 – 3"], ["#6baed6", "3 – 4"],
                                ["#3182bd", "4 – 5"], ["#08519c", "≥ 5"], ["#d9d9d9", "无数据"]]
    assert values["texts"][-1] == "*" and values["legend_title"] == "学校数"


def test_category_values_follow_the_colour_order():
    frame = pd.DataFrame({"county_code": ["370724", "370725", "370726"], "status": ["fail", "quality", None],
                          "status_text": ["未达到", "优质", "—"]})
    colours = {"quality": "#1a9850", "basic": "#fee08b", "fail": "#d73027"}
    values = map_component.category_values(frame, "status", "status_text", colours,
                                           {"quality": "优质", "basic": "基本", "fail": "未达到"},
                                           {"metric": "状态", "no_data": "无数据"})
    assert values["classes"] == [2, 0, -1] and values["palette"] == list(colours.values())
    assert values["legend"][-1] == ["#d9d9d9", "无数据"]


def _component_args(values: dict) -> str:
    """The JSON Streamlit sends for the component's arguments (custom_component.create_instance: json.dumps)."""
    return json.dumps(dict(values, geometry="_junheng/map/0123456789abcdef/coarse/all.bin", selected=None,
                           height=520, name_label="县（区）", problem="…", default=None, key="overview_map"))


def _national_totals(boundary_dir, year: int = 2025) -> pl.DataFrame:
    """Seeded random counts for every county of the boundaries (2,891), with every column a measure needs."""
    from junheng.rules import indicators
    codes = boundaries.read(boundary_dir.parent, "county_coarse")["county_code"].tolist()
    n = len(codes)
    rng = np.random.default_rng(7)
    columns = ({"students", "classes", "classes_56_65", "classes_66_plus"}
               | {c for _, num, den, _ in overview.METRICS.values() for c in (num, den) if c}
               | {i.numerator for i in indicators.registry()}) - {"large_classes"}
    return pl.DataFrame({"county_code": codes, "year": [year] * n,
                         **{c: rng.integers(1_000, 400_000, n) for c in sorted(columns)}})


def _deflated(sent: bytes) -> int:
    """The bytes as the websocket's permessage-deflate sends them (4 KB window)."""
    packer = zlib.compressobj(6, zlib.DEFLATED, -12)
    return len(packer.compress(sent) + packer.flush(zlib.Z_SYNC_FLUSH))


@pytest.mark.parametrize("metric", ["schools", "students", "left_behind_share"])
def test_a_year_change_at_national_scope_sends_under_100_kb_for_the_map(boundary_dir, metric):
    """Every county of the country with data (2,891 outlines): a run's map arguments, which are all a year or
    measure change sends for the map (the outlines stay in the browser)."""
    from junheng.views import overview_views
    totals = _national_totals(boundary_dir)
    values = overview_views.map_values(totals, metric, "zh", 5)
    sent = _component_args(values).encode()
    print(f"{metric}: {len(sent):,} B of arguments, {_deflated(sent):,} B deflated")
    assert len(values["codes"]) == totals.height > 2800
    assert len(sent) <= 100_000, len(sent)
    assert _deflated(sent) < 40_000  # and far less on the wire
    assert "shapes" not in sent.decode() and "grid" not in sent.decode()  # no outlines in a run's arguments


def test_the_component_moves_a_twentieth_of_what_the_folium_map_sent_per_change(boundary_dir):
    """Before: st_folium's arguments for the national overview map (outlines, styles and texts on every run)."""
    from junheng.views import map_views, overview_views
    totals = _national_totals(boundary_dir)
    geometry = boundaries.read(boundary_dir.parent, "county_coarse")
    folium = json.dumps(map_views.folium_parts(overview_views.build_map(geometry, totals, "schools", 2025, "zh",
                                                                         None, 5))).encode()
    component = _component_args(overview_views.map_values(totals, "schools", "zh", 5)).encode()
    print(f"Folium {len(folium):,} B ({_deflated(folium):,} B deflated); "
          f"component {len(component):,} B ({_deflated(component):,} B deflated)")
    assert len(component) * 20 < len(folium) and _deflated(component) * 20 < _deflated(folium)


class _State(dict):
    pass


@pytest.mark.parametrize("event", [None, "370724", {"code": "<script>"}, {"code": 370724}, {"click": "a-1"}])
def test_anything_but_a_county_code_from_the_component_selects_nothing(monkeypatch, event):
    monkeypatch.setattr(map_component.st, "session_state", _State())
    chosen = []
    map_component.handle_click(event, "m", None, chosen.append)
    assert chosen == []


def test_a_click_selects_its_county_once_and_a_new_click_on_it_again(monkeypatch):
    monkeypatch.setattr(map_component.st, "session_state", _State())
    chosen = []
    map_component.handle_click({"code": "370724", "click": "k1-1"}, "m", None, chosen.append)
    map_component.handle_click({"code": "370724", "click": "k1-1"}, "m", "370724", chosen.append)  # a rerun
    map_component.handle_click({"code": "370725", "click": "k1-2"}, "m", "370724", chosen.append)
    map_component.handle_click({"code": "370724", "click": "k1-3"}, "m", "370725", chosen.append)
    map_component.handle_click({"code": "370724", "click": "k1-4"}, "m", "370724", chosen.append)  # already it
    assert chosen == ["370724", "370725", "370724"]

"""County maps as data (issue 25 point 2): a small Streamlit component (static/map_component/) draws the county
choropleths from outlines it fetches once from a versioned URL of the app, and from the values each run sends as
its arguments (county codes, colour classes, texts). A year or measure change moves the values only, tens of KB,
where a Folium map resent 2.5-4.1 MB of outlines at national scope.

The outlines: county polygons on an integer grid (0.002° for the coarse national outlines, about 200 m, finer
than their 2 km simplification; 0.0001° for a province's or a prefecture's fine ones), each ring's first point
absolute and each next one as the step from the one before, in JSON with the counties' names: 655 KB for the
2,891 coarse outlines, 237 KB gzipped (as GeoJSON: 2.5 MB, 431 KB).
The URL names the outlines' version (a digest of the boundary files' stamps), so the browser keeps the reply
for a year and a new data directory's outlines get a new URL.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections import OrderedDict
from pathlib import Path

import streamlit as st

from junheng.data import boundaries
from junheng.i18n import t
from junheng.settings import PROJECT_DIR

log = logging.getLogger("junheng")
FOLDER = PROJECT_DIR / "static" / "map_component"
GEOMETRY_ROUTE = "/_junheng/map/{tag}/{detail}/{regions}.bin"
MEDIA_TYPE = "application/vnd.junheng.outlines"  # compressed by the launcher (tools/compression.py)
FORMAT = 3  # part of every outline URL: a change of the encoding below gives new URLs
GRID = {"coarse": 0.002, "fine": 0.0001}
FILES = {"coarse": "counties_coarse.parquet", "fine": "counties.parquet"}
NO_DATA_COLOUR = "#d9d9d9"  # as junheng.figures.maps (Folium's maps): the same map in the PNG download
_REGIONS = re.compile(r"all|\d{2}(\d{2})?(-\d{2}(\d{2})?)*")

_declared = None


def component():
    """The component function: declared at the first call, inside a script run, so Streamlit serves its files (and
    registered again with a runtime that does not have it: a new server in the same process)."""
    global _declared
    if _declared is None:
        import streamlit.components.v1 as components
        _declared = components.declare_component("county_map", path=str(FOLDER))
    from junheng.views import folium_frame
    return folium_frame.registered(_declared)


def outline_tag(data_dir: Path) -> str:
    """The outlines' version: changes when the boundary files are written again."""
    stamps = []
    for name in sorted(FILES.values()):
        path = Path(data_dir) / "boundaries" / name
        try:
            stat = path.stat()
            stamps.append((name, stat.st_size, stat.st_mtime_ns))
        except OSError:
            stamps.append((name, None, None))
    return hashlib.sha1(repr((FORMAT, GRID, stamps)).encode()).hexdigest()[:16]


def regions_of(codes: list[str], detail: str) -> str:
    """The part of the outline URL that says which counties it holds: all of them (coarse), else the one
    prefecture or the provinces the shown counties are in (fine outlines of a province: about 400 KB raw)."""
    if detail == "coarse" or not codes:
        return "all"
    provinces = sorted({c[:2] for c in codes})
    prefectures = {c[:4] for c in codes}
    return next(iter(prefectures)) if len(prefectures) == 1 else "-".join(provinces)


def geometry_url(data_dir: Path, codes: list[str]) -> str:
    """The outline URL (relative to the app's base) for a map of these counties: coarse above
    boundaries.COARSE_ABOVE counties, as the Folium maps."""
    detail = "coarse" if len(codes) > boundaries.COARSE_ABOVE else "fine"
    return (GEOMETRY_ROUTE.lstrip("/").replace("{tag}", outline_tag(data_dir)).replace("{detail}", detail)
            .replace("{regions}", regions_of(codes, detail)))


def encode_outlines(frame, grid: float) -> bytes:
    """County polygons (a GeoDataFrame with county_code, county_name) as the component reads them (map.js
    `decode`; `decode_outlines` here does the same): a 4-byte big-endian length, a JSON header of that length
    {"grid", "codes", "names", "rings": per county, per polygon, each ring's number of points}, then per ring its
    points as grid steps (the first from 0, 0; each next from the one before), first every x step then every y
    step, each a zigzag LEB128 varint. Binary varints, x and y apart, compress a fifth smaller than the steps as JSON
    numbers (national coarse outlines, Brotli: 211,370 → about 175,000 B)."""
    import numpy as np
    codes, names, counts = [], [], []
    stream = bytearray()
    for code, name, geom in zip(frame["county_code"], frame["county_name"], frame.geometry):
        if geom is None or geom.is_empty:
            continue
        polygons = [geom] if geom.geom_type == "Polygon" else [g for g in getattr(geom, "geoms", [])
                                                               if g.geom_type == "Polygon"]
        shape, steps_of = [], []
        for polygon in polygons:
            rings = []
            for ring in (polygon.exterior, *polygon.interiors):
                points = np.round(np.asarray(ring.coords)[:, :2] / grid).astype(np.int64)
                steps = np.diff(points, axis=0, prepend=np.zeros((1, 2), dtype=np.int64))
                keep = np.r_[True, (steps[1:] != 0).any(axis=1)]  # points the grid merged
                if keep.sum() >= 3:
                    rings.append(int(keep.sum()))
                    steps_of.append(steps[keep])
            if rings:
                shape.append(rings)
        if shape:
            codes.append(str(code))
            names.append("" if name is None else str(name))
            counts.append(shape)
            for steps in steps_of:
                stream += _varints(steps[:, 0]) + _varints(steps[:, 1])
    header = json.dumps({"grid": grid, "codes": codes, "names": names, "rings": counts},
                        ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return len(header).to_bytes(4, "big") + header + bytes(stream)


def _varints(values) -> bytes:
    """Integers as zigzag LEB128 varints (7 bits a byte, the high bit set on every byte but a number's last)."""
    out = bytearray()
    for value in values.tolist():
        n = (value << 1) ^ (value >> 63)
        while n >= 0x80:
            out.append((n & 0x7F) | 0x80)
            n >>= 7
        out.append(n)
    return bytes(out)


def decode_outlines(body: bytes) -> dict:
    """What static/map_component/map.js makes of the outlines (for tests): {"grid", "codes", "names", "shapes":
    per county, per polygon, per ring the points as integer grid [x, y] pairs}."""
    size = int.from_bytes(body[:4], "big")
    header = json.loads(body[4:4 + size].decode("utf-8"))
    position = 4 + size

    def number() -> int:
        nonlocal position
        n = shift = 0
        while True:
            byte = body[position]
            position += 1
            n |= (byte & 0x7F) << shift
            shift += 7
            if byte < 0x80:
                return (n >> 1) ^ -(n & 1)
    shapes = []
    for polygons in header["rings"]:
        shape = []
        for rings in polygons:
            decoded = []
            for count in rings:
                xs = [number() for _ in range(count)]
                ys = [number() for _ in range(count)]
                x = y = 0
                points = []
                for dx, dy in zip(xs, ys):
                    x, y = x + dx, y + dy
                    points.append([x, y])
                decoded.append(points)
            shape.append(decoded)
        shapes.append(shape)
    if position != len(body):
        raise ValueError("outline bytes left over")
    return {"grid": header["grid"], "codes": header["codes"], "names": header["names"], "shapes": shapes}


_ENCODED: OrderedDict[tuple, bytes] = OrderedDict()
_ENCODED_KEPT = 12
_LOCK = threading.Lock()


def geometry_bytes(data_dir: Path, tag: str, detail: str, regions: str) -> bytes | None:
    """The reply of the outline URL, or None when it names no outlines of this data directory (an old version,
    an unknown detail or region list). Encoded once per version and region list, kept in memory."""
    if detail not in GRID or not _REGIONS.fullmatch(regions) or tag != outline_tag(data_dir):
        return None
    key = (str(data_dir), tag, detail, regions)
    with _LOCK:
        if key in _ENCODED:
            _ENCODED.move_to_end(key)
            return _ENCODED[key]
        body = _stored_outlines(Path(data_dir), tag, detail, regions)
        _ENCODED[key] = body
        while len(_ENCODED) > _ENCODED_KEPT:
            _ENCODED.popitem(last=False)
        return body


def _stored_outlines(data_dir: Path, tag: str, detail: str, regions: str) -> bytes:
    # read from the data directory where a server (this one before a restart, or another replica) stored them:
    # encoding the national outlines takes about a second, with geopandas loaded
    stored = data_dir / "aggregates" / "outlines" / f"{tag}-{detail}-{regions}.bin"
    try:
        return stored.read_bytes()
    except OSError:
        pass
    frame = boundaries.read(data_dir, "county_coarse" if detail == "coarse" else "county")
    if regions != "all":
        frame = frame[frame["county_code"].str.startswith(tuple(regions.split("-")))]
    body = encode_outlines(frame, GRID[detail])
    try:
        stored.parent.mkdir(parents=True, exist_ok=True)
        tmp = stored.with_name(f".{stored.name}.tmp")
        tmp.write_bytes(body)
        tmp.replace(stored)
        for old in sorted(stored.parent.glob("*.*"), key=lambda p: p.stat().st_mtime)[:-STORED_KEPT]:
            old.unlink(missing_ok=True)
    except OSError:
        log.info("the map outlines could not be stored; they are encoded at each start", exc_info=True)
    return body


STORED_KEPT = 64


def warm(data_dir: Path, codes: list[str]) -> None:
    """Encode the outlines a map of these counties fetches (the server's warm-up, for the first page)."""
    _, _, tag, detail, regions = geometry_url(data_dir, codes).removesuffix(".bin").split("/")
    geometry_bytes(data_dir, tag, detail, regions)


def choropleth_values(frame, value_column: str, text_column: str, labels: dict[str, str]) -> dict:
    """The component's values for counties coloured by a measure in quantile classes (the classes, colours and
    legend of junheng.figures.maps.county_choropleth_map). frame: county_code, the value, its display text.
    labels: 'metric' (title), 'no_data', optional 'format'."""
    import numpy as np

    from junheng.figures import maps
    values = frame[value_column].to_numpy(dtype=float, na_value=np.nan)
    breaks = maps.class_breaks(values)
    classes = [-1 if not np.isfinite(v) else (int(np.searchsorted(breaks, v, side="right")) if breaks else 2)
               for v in values]
    fmt = labels.get("format", "{:,.2f}")
    edges = ["–"] + [fmt.format(b) for b in breaks]
    legend = []
    for i, colour in enumerate(maps.PALETTE[: len(breaks) + 1]):
        high = fmt.format(breaks[i]) if i < len(breaks) else ""
        text = f"≥ {edges[i]}" if i == len(breaks) and i else (f"< {high}" if i == 0 else f"{edges[i]} – {high}")
        legend.append((colour, text))
    if not breaks:
        legend = [(maps.PALETTE[2], "")] if np.isfinite(values).any() else []
    legend.append((NO_DATA_COLOUR, labels["no_data"]))
    return _values(frame, text_column, classes, list(maps.PALETTE), legend, labels["metric"])


def category_values(frame, category_column: str, text_column: str, colours: dict[str, str],
                    category_labels: dict[str, str], labels: dict[str, str]) -> dict:
    """The component's values for counties coloured by a category (the evaluation status)."""
    order = list(colours)
    classes = [order.index(c) if c in colours else -1 for c in frame[category_column]]
    legend = [(colours[c], category_labels[c]) for c in order] + [(NO_DATA_COLOUR, labels["no_data"])]
    return _values(frame, text_column, classes, [colours[c] for c in order], legend, labels["metric"])


def _values(frame, text_column, classes, palette, legend, title) -> dict:
    return {"codes": [str(c) for c in frame["county_code"]], "classes": classes,
            "texts": ["—" if v is None or v != v else str(v) for v in frame[text_column]],
            "palette": palette, "no_data": NO_DATA_COLOUR, "legend": [list(e) for e in legend],
            "legend_title": title, "metric_label": title}


def county_map(data_dir: Path, values: dict, key: str, selected: str | None, lang: str, height: int = 520):
    """Draw the map; returns what a click sent ({'code', 'click'}), or None."""
    return component()(geometry=geometry_url(data_dir, values["codes"]), **values, selected=selected,
                       height=int(height), name_label=t("county_name", lang), problem=t("map_unavailable", lang),
                       key=key, default=None)


def clicked_code(event) -> tuple[str, object] | None:
    """(county code, the click's stamp) from what the component sent, or None for anything else."""
    if not isinstance(event, dict):
        return None
    code = event.get("code")
    if not isinstance(code, str) or not re.fullmatch(r"\d{6}", code):
        return None
    return code, event.get("click")


def handle_click(event, key: str, current_county: str | None, select) -> None:
    """A click on a county makes it the selected region (select(code)), once per click."""
    clicked = clicked_code(event)
    if clicked is None or st.session_state.get(f"{key}_handled") == clicked:
        return
    st.session_state[f"{key}_handled"] = clicked
    if clicked[0] != current_county:
        select(clicked[0])

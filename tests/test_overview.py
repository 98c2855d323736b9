import json

import polars as pl
import pytest

from junheng.data import db
from junheng.data.scope import EVERYTHING
from junheng.figures import maps
from junheng.rules import overview


def totals(con, region=""):
    return db.run(con, "county_totals", EVERYTHING, years=[2023, 2024], region=region)


def test_headline_figures_and_change_by_hand(tiny_con):
    figures = {f.key: f for f in overview.headline(totals(tiny_con, "370724"), 2024)}
    assert figures["schools"].value == 2 and figures["schools"].change == 0
    assert figures["students"].value == 400 and figures["students"].previous == 400
    # 2023: 1 standardized of 2; 2024: 2 of 2 → +50 percentage points
    assert figures["standardized_share"].value == 1.0
    assert figures["standardized_share"].change == pytest.approx(0.5)
    # 2023: 1 large class of 8; 2024: none
    assert figures["large_class_share"].previous == pytest.approx(1 / 8)
    assert figures["left_behind_students"].value == 58 and figures["left_behind_students"].change == -12
    assert overview.format_change(figures["standardized_share"], "zh") == "+50.0 个百分点"
    assert overview.format_change(figures["left_behind_students"], "en") == "-12 (-17.1%)"
    # a change that rounds to nothing has no sign and no arrow (it showed "-0.0 个百分点" with a down arrow)
    tiny = overview.Figure("large_class_share", "share", 0.00601, 0.00604)
    assert overview.format_change(tiny, "zh") == "0.0 个百分点" and overview.delta_arrow(tiny) == "off"
    assert overview.format_change(overview.Figure("students", "count", 100_000, 100_020), "zh") == "-20 (0.0%)"


def test_region_totals_sum_before_dividing(tiny_con):
    region = overview.region_totals(totals(tiny_con)).filter(pl.col("year") == 2024).row(0, named=True)
    # 110 + 290 + 500 + 900 students; 10 + 10 + 30 + 60 teachers
    assert region["students"] == 1800
    assert region["teachers_per_student"] == pytest.approx(110 / 1800)
    assert region["huge_class_share"] == pytest.approx(2 / (4 + 4 + 4 + 18))


def test_a_missing_previous_year_has_no_change(tiny_con):
    figures = overview.headline(totals(tiny_con, "341202"), 2024)
    assert all(f.change is None for f in figures)
    assert overview.format_change(figures[0], "zh") is None


@pytest.mark.parametrize("value, lang, text", [
    (2_833_443, "zh", "283.3 万"), (2_833_443, "en", "2.83 M"), (3002, "zh", "3,002"), (None, "zh", "—"),
])
def test_format_value(value, lang, text):
    assert overview.format_value("count", value, lang) == text


def test_every_metric_has_a_label_in_both_languages():
    for key in overview.metric_keys():
        zh, en = overview.metric_label(key, "zh"), overview.metric_label(key, "en")
        assert zh and en and zh != en


def test_choropleth_draws_offline_with_tooltips(tiny_con, tiny_data):
    from junheng.data import boundaries
    geo = boundaries.read(tiny_data)
    data = overview.county_map_data(geo, totals(tiny_con).filter(pl.col("year") == 2024), "students", "zh")
    assert sorted(data["county_code"]) == ["341202", "370305", "370724"]
    fmap = maps.county_choropleth_map(data, "value", "value_text",
                                      {"name": "县（区）", "metric": "在校生数", "no_data": "无数据"})
    html = fmap.get_root().render()
    assert json.dumps("临朐县")[1:-1] in html and "bindTooltip" in html
    scripts = [line for line in html.splitlines() if "<script src=" in line or "stylesheet" in line]
    assert scripts and all("/app/static/vendor/" in line for line in scripts), scripts
    assert "tile.openstreetmap" not in html


@pytest.mark.parametrize("value, colour", [(1, maps.PALETTE[0]), (25, maps.PALETTE[1]), (50, maps.PALETTE[2]),
                                           (99, maps.PALETTE[4]), (None, maps.NO_DATA_COLOUR)])
def test_colour_classes(value, colour):
    breaks = maps.class_breaks(pl.Series(range(1, 101)).to_numpy().astype(float))
    assert len(breaks) == 4
    assert maps.colour_for(value, breaks) == colour


def test_the_server_builds_the_first_pages_map_before_the_first_visit(monkeypatch, demo_data):
    """overview_views.warm (run as the server starts) works out the national overview map's values a guest sees
    first and encodes the outlines its browser fetches; the first visit then only sends them (working the values
    out again during the page run would raise here)."""
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from junheng.views import cache, map_component, overview_views
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    cache.RESULTS.clear()  # other tests may have drawn this map already
    built = []
    real = overview_views.map_values
    monkeypatch.setattr(overview_views, "map_values", lambda *a: built.append(1) or real(*a))
    overview_views.warm()
    assert built == [1]

    def no_build(*_):
        raise AssertionError("the first page worked out its map again")
    monkeypatch.setattr(overview_views, "map_values", no_build)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "overview.py"), default_timeout=120)
    at.run()
    assert not at.exception and not at.error
    assert any("学校数" in m.value for m in at.markdown)
    assert len(map_component._ENCODED) >= 1  # the outlines the first page's browser asks for


def test_the_data_fingerprint_is_worked_out_once_per_script_run(monkeypatch, demo_data):
    from pathlib import Path

    from streamlit.testing.v1 import AppTest

    from junheng.data import db as data_db
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    calls = []
    real = data_db.fingerprint
    monkeypatch.setattr(data_db, "fingerprint", lambda path: calls.append(1) or real(path))
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "pages" / "left_behind.py"), default_timeout=120)
    at.run()
    first = len(calls)
    at.run()
    assert not at.exception and first == 1 and len(calls) == 2


def test_a_restarted_server_reads_the_first_pages_map_outlines_stored_by_the_one_before(monkeypatch, demo_data):
    from junheng.views import cache, map_component, overview_views
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(demo_data))
    for old in (demo_data / "aggregates" / "outlines").glob("*.bin"):
        old.unlink()
    cache.RESULTS.clear()
    map_component._ENCODED.clear()
    encoded = []
    real = map_component.encode_outlines
    monkeypatch.setattr(map_component, "encode_outlines", lambda *a: encoded.append(1) or real(*a))
    overview_views.warm()
    stored = list((demo_data / "aggregates" / "outlines").glob("*.bin"))
    assert encoded == [1] and len(stored) == 1
    cache.RESULTS.clear()  # a new server process: nothing in memory
    map_component._ENCODED.clear()
    overview_views.warm()
    assert encoded == [1]  # read, not encoded
    assert map_component.decode_outlines(next(iter(map_component._ENCODED.values())))["codes"]

"""Region totals on the overview reveal no hidden county total (issue 23): a prefecture, province or national total
minus its shown counties used to give a county total the protection marks "<5" or withholds back.

The attack is the one of tests/test_privacy_audit.py (scipy's HiGHS, written from what is published alone), on the
overview's numbers: every county total as the county_published_totals query gives it and every region total the
overview makes of them (overview.region_totals, as the headline shows it for a nation, province, prefecture or
county). privacy_audit.region_audit, the project's own audit, must agree.
"""
import shutil

import numpy as np
import polars as pl
import pytest

from junheng.data import db, demo
from junheng.data.scope import EVERYTHING
from junheng.rules import overview, privacy, privacy_audit
from tests.conftest import frame, school
from tests.test_privacy_audit import MIN, attack

MEASURES = tuple(overview.PROTECTED)
MARK = {privacy.SHOWN: "shown", privacy.PRIMARY: "small", privacy.COMPLEMENTARY: "withheld"}


def regions_of(codes: list[str]) -> list[str]:
    """Every region the overview's headline can show: the nation, each province, prefecture and county."""
    return sorted({""} | {c[:n] for c in codes for n in (2, 4, 6)})


def overview_numbers(published: pl.DataFrame, truth: pl.DataFrame, measure: str, year: int, min_count: int,
                     plain_sums: bool = False, totals: dict | None = None) -> dict:
    """One year and measure of the overview as a reader sees it, in the JSON contract's shape (cells and sums), and
    the true values for the project's audit. plain_sums: the region totals as the overview made them before this
    change (exact sums of the county totals, whatever their status). totals: overview.region_totals by (year,
    region) of these published rows, filled as they are made (the other measure reads them)."""
    totals = {} if totals is None else totals
    status_column = overview.PROTECTED[measure]
    rows = published.filter(pl.col("year") == year).sort("county_code")
    exact = truth.filter(pl.col("year") == year).sort("county_code")
    assert rows["county_code"].to_list() == exact["county_code"].to_list()
    codes = rows["county_code"].to_list()
    cells = [{"id": c, "kind": "county", "status": MARK[s], "value": None if s != privacy.SHOWN else int(v)}
             for c, s, v in zip(codes, rows[status_column], rows[measure])]
    members: dict[str, list[int]] = {}  # region -> its counties' rows
    for j, code in enumerate(codes):
        for region in {code[:n] for n in (0, 2, 4, 6)}:
            members.setdefault(region, []).append(j)
    true_values = exact[measure].to_numpy()
    sums, regions = [], []
    for region in regions_of(codes):
        true_value = int(true_values[members[region]].sum())
        if plain_sums:
            value, status = true_value, privacy.SHOWN
        else:
            if (year, region) not in totals:  # both measures of a region from one call
                # a region of one county shows that county's published total and mark (privacy.region_counts, tested
                # by hand above): read from its row, the national data's 2,852 calls of region_totals spared
                one = rows[members[region]] if len(members[region]) == 1 else None
                totals[year, region] = (one.row(0, named=True) if one is not None else
                                        overview.region_totals(rows[members[region]], min_count).row(0, named=True))
            total = totals[year, region]
            value, status = total[measure], total[status_column]
        regions.append((region, true_value, status))
        if status == privacy.ESTIMATED:
            continue  # a number made of published ones: no sum, and nothing the attack can use
        cell = {"id": f"region:{region}", "kind": "group", "status": MARK[status],
                "value": None if status != privacy.SHOWN else int(value)}
        cells.append(cell)
        if status == privacy.SHOWN:
            assert plain_sums or value == true_value  # a shown region total is exact
            sums.append({"total": cell["id"], "parts": [codes[j] for j in members[region]]})
    item = {"county_code": "", "year": year, "measure": measure, "cells": cells, "sums": sums}
    return {"item": item, "codes": codes, "values": exact[measure].to_numpy(),
            "statuses": rows[status_column].to_list(), "regions": regions}


def learned_from(published: pl.DataFrame, truth: pl.DataFrame, years, min_count: int = MIN,
                 plain_sums: bool = False) -> tuple[list, list, int]:
    """(what the independent attack learns, what privacy_audit.region_audit finds, hidden county totals)."""
    learned, audited, hidden = [], [], 0
    totals: dict = {}
    for year in years:
        for measure in MEASURES:
            seen = overview_numbers(published, truth, measure, year, min_count, plain_sums, totals)
            hidden += sum(s != privacy.SHOWN for s in seen["statuses"])
            learned += [x for x in attack(seen["item"], min_count) if not x["id"].startswith("region:")]
            audited += privacy_audit.region_audit(
                seen["codes"], seen["values"], seen["statuses"],
                [(r, v, s if not plain_sums else privacy.SHOWN) for r, v, s in seen["regions"]], min_count)
    return learned, audited, hidden


# 临朐县 370724: left-behind 3 + 0 = 3 (a "<5" county total) and migrant 3 + 0 = 3; 沂水县 370725 and 临淄区 370305
# shown. Province 37 less 370725 and 370305, or prefecture 3707 less 370725, gave 370724's 3 back.
ROWS = [
    school(school_id="3707240001", left_behind_students=3, migrant_students=3),
    school(school_id="3707240002", urban_rural_code="220", left_behind_students=0, migrant_students=0),
    school(school_id="3707250001", county_code="370725", left_behind_students=30, migrant_students=40),
    school(school_id="3707250002", county_code="370725", urban_rural_code="220", left_behind_students=12,
           migrant_students=9),
    school(school_id="3703050001", county_code="370305", left_behind_students=44, migrant_students=70),
]


@pytest.fixture(scope="module")
def small_county(tmp_path_factory, boundary_dir):
    out = tmp_path_factory.mktemp("small_county")
    shutil.copytree(boundary_dir, out / "boundaries")
    demo.write_snapshot(out, 2024, frame(ROWS), source="tests", synthetic=True)
    return db.connect(out)


def county_rows(con, years, min_count=MIN) -> tuple[pl.DataFrame, pl.DataFrame]:
    published = db.run(con, "county_published_totals", EVERYTHING, years=list(years), region="", min_count=min_count)
    truth = db.run(con, "county_totals", EVERYTHING, years=list(years), region="")
    return published, truth


def test_region_counts_by_hand():
    rows = pl.DataFrame({"year": [1, 1, 1, 2, 3], "n": [10, None, None, 7, None],
                         "n_status": ["shown", "primary", "complementary", "shown", "primary"]})
    out = {r["year"]: r for r in privacy.region_counts(rows, "year", {"n": "n_status"}, 5).iter_rows(named=True)}
    # year 1: 10 shown + 2 hidden × 2.5 = 15 → 20 (rounded to 10), estimated; year 2: exact; year 3: one county keeps
    # its mark
    assert (out[1]["n"], out[1]["n_status"]) == (20, privacy.ESTIMATED)
    assert (out[2]["n"], out[2]["n_status"]) == (7, privacy.SHOWN)
    assert (out[3]["n"], out[3]["n_status"]) == (None, privacy.PRIMARY)


def test_the_published_county_totals_hide_a_small_county(small_county):
    published, truth = county_rows(small_county, [2024])
    row = published.filter(pl.col("county_code") == "370724").row(0, named=True)
    assert row["left_behind_status"] == row["migrant_status"] == privacy.PRIMARY
    assert row["left_behind_students"] is None and row["migrant_students"] is None
    assert truth.filter(pl.col("county_code") == "370724")["left_behind_students"].item() == 3
    exact, _ = county_rows(small_county, [2024], min_count=0)  # analysts allowed exact counts
    assert exact.filter(pl.col("county_code") == "370724")["left_behind_students"].item() == 3


def test_the_overview_shows_a_hidden_county_total_as_its_mark(small_county):
    published, _ = county_rows(small_county, [2024])
    county = {f.key: f for f in overview.headline(published.filter(pl.col("county_code") == "370724"), 2024, MIN)}
    figure = county["left_behind_students"]
    assert figure.value is None and overview.format_value("count", None, "zh", figure.status, MIN) == "<5"
    province = {f.key: f for f in overview.headline(published, 2024, MIN)}["left_behind_students"]
    # 42 + 44 shown, one hidden county: 86 + 2.5 → 90, marked as an estimate; the true 89 is nowhere
    assert (province.value, province.status) == (90, privacy.ESTIMATED)
    assert overview.format_value("count", province.value, "en", province.status, MIN) == "≈ 90"
    prefecture = {f.key: f for f in overview.headline(
        published.filter(pl.col("county_code").str.starts_with("3707")), 2024, MIN)}["left_behind_students"]
    assert (prefecture.value, prefecture.status) == (40, privacy.ESTIMATED)  # 42 + 2.5 → 40
    table = overview.county_table(pl.DataFrame({"county_code": ["370305", "370724", "370725"],
                                                "county_name": ["临淄区", "临朐县", "沂水县"],
                                                "prefecture_name": ["淄博市", "潍坊市", "临沂市"]}),
                                  published, "left_behind_share", "zh", MIN)
    # shown rows by share (44/100 > 12/100 … 42/200), the hidden county last whatever its share, as "*"
    assert table["县（区）"].to_list() == ["临淄区", "沂水县", "临朐县"]
    assert table[overview.metric_label("left_behind_share", "zh")].to_list()[-1] == "*"
    counts = overview.county_table(pl.DataFrame({"county_code": ["370724"], "county_name": ["临朐县"],
                                                 "prefecture_name": ["潍坊市"]}),
                                   published.filter(pl.col("county_code") == "370724"), "left_behind_students", "zh",
                                   MIN)
    assert counts[overview.metric_label("left_behind_students", "zh")].to_list() == ["<5"]


def test_the_map_gives_a_hidden_county_no_colour_and_its_mark(small_county, boundary_dir):
    from junheng.data import boundaries
    published, _ = county_rows(small_county, [2024])
    geo = boundaries.read(boundary_dir.parent)
    for metric, text in (("left_behind_students", "<5"), ("left_behind_share", "*"), ("migrant_share", "*")):
        data = overview.county_map_data(geo, published, metric, "zh", MIN).set_index("county_code")
        assert data.loc["370724", "value_text"] == text and np.isnan(data.loc["370724", "value"])
        assert data.loc["370725", "value_text"] != text and data.loc["370725", "value"] > 0


def test_no_region_total_gives_the_small_county_back_and_the_plain_sums_did(small_county):
    published, truth = county_rows(small_county, [2024])
    learned, audited, hidden = learned_from(published, truth, [2024])
    assert hidden == 2 and learned == [] and audited == []
    # the overview before: region totals summed every county's exact total; with the county marked "<5" on the map,
    # prefecture 3707 less 370725 still gives 3, for both measures, and the project's audit sees it too
    learned, audited, _ = learned_from(published, truth, [2024], plain_sums=True)
    assert sorted((x["id"], x["measure"], x["range"]) for x in learned) == [
        ("370724", "left_behind_students", (3, 3)), ("370724", "migrant_students", (3, 3))]
    assert sorted(audited) == [("370724", 3, 3), ("370724", 3, 3)]


def test_nothing_is_learned_from_the_overview_of_any_year_of_the_demo_data(demo_data):
    con = db.connect(demo_data)
    years = sorted(int(p.name.removeprefix("year=")) for p in (demo_data / "snapshots").glob("year=*"))
    published, truth = county_rows(con, years)
    learned, audited, hidden = learned_from(published, truth, years)
    assert learned == [] and audited == []
    # every county total of the demo data is shown (all 455 county-years): the demo cannot show the old leak, the
    # small_county fixture above does
    assert hidden == (published.select(pl.col("left_behind_status", "migrant_status") != privacy.SHOWN)
                      .sum().sum_horizontal().item())


def test_the_left_behind_pages_county_figures_follow_the_published_statuses(small_county):
    # the 留守儿童 page's county map, county table and trend, given the published totals: the same marks and
    # region totals as the overview (the page itself still reads county_totals: see docs/security.md)
    from junheng import settings
    from junheng.rules import left_behind
    published, truth = county_rows(small_county, [2024])
    withheld = published.with_columns(  # a withheld county total (not a small one) is masked too
        pl.when(pl.col("county_code") == "370725").then(pl.lit(privacy.COMPLEMENTARY))
        .otherwise(pl.col("left_behind_status")).alias("left_behind_status"))
    masked = left_behind.mask_small_counties(withheld, MIN)
    assert masked.filter(pl.col("left_behind_students").is_null())["county_code"].to_list() == ["370724", "370725"]
    trend = left_behind.region_years(published, MIN).row(0, named=True)
    assert trend["left_behind_students"] == 90 and trend["left_behind_status"] == privacy.ESTIMATED
    assert trend["left_behind_share"] == pytest.approx(90 / truth["students"].sum())
    table = left_behind.county_care_table(withheld, published.select("county_code", pl.col("county_code").alias(
        "county_name")), settings.load_thresholds(), "zh")
    assert table["留守儿童数"].to_list() == ["44", "<5", "*"]


def test_an_estimated_change_keeps_its_sign_first():
    # Streamlit draws the card's arrow from the delta text's leading sign: the "≈" mark goes after the number
    figure = overview.Figure("left_behind_students", "count", 90, 94, privacy.ESTIMATED, privacy.SHOWN)
    assert overview.format_change(figure, "zh") == "-4 (-4.3%) ≈"
    assert overview.format_change(overview.Figure("left_behind_students", "count", 94, 90), "en") == "+4 (+4.4%)"

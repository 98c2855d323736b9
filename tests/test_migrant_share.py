"""The evaluation's migrant public-school share gives no small count back (issue 23).

The share is the sum of the 城乡 groups' public parts over the county's migrant total. Where a public part is
hidden (a "<5" private part next to it forces a complementary suppression), the exact share times the shown total
gives the sum of the public parts back — one more published sum for the reader's integer program, which then pins
hidden cells. The evaluation now shows, there, only the range a reader can work out from the published cells.

The attack is tests/test_privacy_audit.py's (scipy's HiGHS over everything published for the county and measure).
"""
import polars as pl

from junheng import settings
from junheng.figures import evaluation_tables
from junheng.i18n import t
from junheng.rules import indicators, left_behind, plan, published_counts, verdicts
from tests.conftest import frame, school
from tests.test_privacy_audit import MIN, attack

RULES = settings.load_thresholds()


def county(rural_private: int = 2) -> pl.DataFrame:
    """One county: six urban public schools, three urban private, four rural public and one rural private school
    with `rural_private` migrant children (a "<5" cell)."""
    rows = [school(school_id=f"37072400{i:02d}", urban_rural_code="111", is_public=True, migrant_students=40 + i)
            for i in range(6)]
    rows += [school(school_id=f"37072401{i:02d}", urban_rural_code="111", is_public=False, migrant_students=20 + i)
             for i in range(3)]
    rows += [school(school_id=f"37072402{i:02d}", urban_rural_code="220", is_public=True, migrant_students=10 + i)
             for i in range(4)]
    rows.append(school(school_id="3707240300", urban_rural_code="220", is_public=False,
                       migrant_students=rural_private))
    return frame(rows)


def published_item(rows: pl.DataFrame) -> dict:
    """The county's migrant cells and sums as `junheng published` prints them."""
    rows = rows.with_columns(indicators.urban_rural_group(pl.col("urban_rural_code")).alias("urban_rural_group"))
    shield = left_behind.protection(rows, RULES)
    migrant = left_behind.migrant_protection(rows, MIN)
    cells = published_counts.cells(rows, shield, migrant)
    return next(i for i in published_counts.view(cells, 2024) if i["measure"] == "migrant_students")


def share_entry(parts: dict) -> dict:
    return next(p["items"]["migrant_public_share"] for e in parts.values() for p in e.values()
                if "migrant_public_share" in p["items"])


def test_the_exact_share_gave_a_hidden_cell_back_and_the_published_range_does_not():
    rows = county()
    item = published_item(rows)
    cells = {c["id"]: c for c in item["cells"]}
    public = [i for i in cells if i.startswith(f"{left_behind.PUBLIC_GROUP}:") and i.endswith("|true")]
    private = [i for i in cells if i.startswith(f"{left_behind.PUBLIC_GROUP}:") and i.endswith("|false")]
    assert any(cells[i]["status"] != "shown" for i in public), "the fixture must hide a public part"
    assert attack(item) == []  # what the pages publish is safe on its own

    # Before: the evaluation showed the exact share. Share × total is the public parts' sum, one more relation.
    total = cells["county:370724"]["value"]
    true_public = int(rows.filter(pl.col("is_public"))["migrant_students"].sum())
    assert total == int(rows["migrant_students"].sum())
    with_share = {**item, "cells": item["cells"] + [{"id": "public_sum", "kind": "group", "status": "shown",
                                                     "value": true_public}],
                  "sums": item["sums"] + [{"total": "public_sum", "parts": public}]}
    learned = attack(with_share)
    assert learned, "the exact share must have let the reader narrow a hidden cell (else this test proves nothing)"

    # Now: the evaluation withholds it and shows the bounds the published cells give, worked out here by hand
    # from the published item alone: public sum ≥ shown public parts + 1 per "<5" public part; ≤ the total less
    # the shown private parts and 1 per "<5" private part.
    least = {"shown": None, "small": 1, "withheld": 0}
    low = sum(cells[i]["value"] if cells[i]["status"] == "shown" else least[cells[i]["status"]] for i in public)
    high = total - sum(cells[i]["value"] if cells[i]["status"] == "shown" else least[cells[i]["status"]]
                       for i in private)
    _, parts = verdicts.evaluate(rows, RULES)
    entry = share_entry(parts)
    assert entry["value"] is None and entry["hidden"]
    assert entry["bounds"] == [low / total, high / total]
    assert low < true_public < high
    # The verdict stays (the official judgement: the true share against the threshold; the computed share is a
    # lower bound, so only a pass is proven by it).
    it = verdicts.item("migrant_public_share")
    met = verdicts.is_met(it, true_public / total, RULES)
    assert entry["met"] is (met if verdicts.proves(it, met) else None)
    # As the page shows it: the range, never the exact share.
    for lang in ("zh", "en"):
        table = pl.concat([evaluation_tables.parts_table(k, parts[k], RULES, lang) for k in verdicts.EVALUATIONS])
        text = " ".join(str(v) for v in table.rows() for v in v)
        exact = verdicts.format_value(verdicts.item("migrant_public_share"), true_public / total, lang)
        assert exact not in text
        bounds = [verdicts.format_value(verdicts.item("migrant_public_share"), b, lang) for b in entry["bounds"]]
        assert f"{bounds[0]}–{bounds[1]}" in text


def test_the_range_is_made_of_published_numbers_only():
    """Two counties whose published cells are the same (the "<5" private part 1 or 3, the total shown differs by
    two, so compare the public sum's bounds): the lower bound in children is the same, the upper bound moves with
    the shown total only."""
    a, b = county(1), county(3)
    ta, tb = int(a["migrant_students"].sum()), int(b["migrant_students"].sum())
    ba, bb = verdicts.migrant_share_bounds(a, MIN), verdicts.migrant_share_bounds(b, MIN)
    assert round(ba[0] * ta) == round(bb[0] * tb)
    assert round(tb * bb[1]) - round(ta * ba[1]) == tb - ta


def test_a_share_of_shown_parts_is_shown_exactly():
    rows = county().with_columns(pl.when(pl.col("is_public").not_()).then(50).otherwise(pl.col("migrant_students"))
                                 .alias("migrant_students"))
    assert verdicts.migrant_share_bounds(rows, MIN) is None
    _, parts = verdicts.evaluate(rows, RULES)
    entry = share_entry(parts)
    public = int(rows.filter(pl.col("is_public"))["migrant_students"].sum())
    assert not entry.get("hidden") and abs(entry["value"] - public / int(rows["migrant_students"].sum())) < 1e-9


def test_the_plan_counts_its_migrant_places_from_the_published_cells():
    """Where the public parts' sum is hidden, the places are worked out from its least published bound (so they are
    a function of published numbers), at one public school; no row names a private school's count."""
    import math
    rows = county()
    low, high, total = verdicts.migrant_public_known(rows, MIN)
    actions, _ = plan.moves(rows, RULES)
    places = actions.filter(pl.col("column") == "migrant_places")
    expected = math.ceil(0.85 * total - low)  # 0.85 × 366 − 255 = 56.1 → 57
    assert expected == 57 and places["delta"].to_list() == [float(expected)]
    public_ids = set(rows.filter(pl.col("is_public"))["school_id"])
    assert set(places["school_id"]) <= public_ids
    # the exact counts would have asked for ceil(0.85 × 366 − 301) = 11: the published bound asks for more, never
    # for fewer
    assert math.ceil(0.85 * total - int(rows.filter(pl.col("is_public"))["migrant_students"].sum())) == 11
    # and the plan says so
    got = plan.schedule(rows, RULES, 2024, 2026, 1e9)
    assert {"item": "migrant_public_share", "why": t("plan_caveat_migrant_published", "zh")} in got.caveats

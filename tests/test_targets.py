"""The seeds' own figures (issue 24 point 6): per-student public funding and nine-year retention as county items
with the national threshold and 鞍山's (thresholds [targets] item_profile), judged beside the two evaluations and
never changing a verdict."""
from __future__ import annotations

import copy

import pytest

from junheng import settings
from junheng.rules import verdicts

YEAR = 2025


@pytest.fixture(scope="module")
def rules():
    return settings.load_thresholds()


@pytest.fixture(scope="module")
def anshan(rules):
    out = copy.deepcopy(rules)
    out["targets"]["item_profile"] = "anshan"
    return out


ASSESSED = {"public_funding_primary_cny": 800, "public_funding_junior_cny": 1050, "boarder_funding_extra_cny": 200,
            "nine_year_retention_rate": 0.96}


def _targets(rules: dict, assessed: dict) -> dict:
    _, parts = verdicts.county_verdicts({}, assessed, rules, year=YEAR)
    return {k: e["met"] for part in parts[verdicts.TARGETS].values() for k, e in part["items"].items()}


def test_the_national_and_anshan_thresholds(rules, anshan):
    """800 yuan a primary pupil meets the national 650 but not 鞍山's 850; 1050 a junior pupil meets both (850,
    1050); 96% retention meets the national 95% but not 鞍山's 97.2%."""
    assert _targets(rules, ASSESSED) == dict.fromkeys(ASSESSED, True)
    assert _targets(anshan, ASSESSED) == {"public_funding_primary_cny": False, "public_funding_junior_cny": True,
                                          "boarder_funding_extra_cny": True, "nine_year_retention_rate": False}
    assert [verdicts.threshold(verdicts.item(k), anshan) for k in ASSESSED] == [850, 1050, 200, 0.972]
    assert [verdicts.threshold(verdicts.item(k), rules) for k in ASSESSED] == [650, 850, 200, 0.95]


def test_a_province_entry_overrides_both(anshan):
    own = {**anshan, "items": {"public_funding_primary_cny": 700}}
    assert _targets(own, ASSESSED)["public_funding_primary_cny"] is True


def test_missing_funding_is_open_and_no_target_changes_a_verdict(anshan):
    with_targets, parts = verdicts.county_verdicts({}, ASSESSED, anshan, year=YEAR)
    without, _ = verdicts.county_verdicts({}, {}, anshan, year=YEAR)
    assert with_targets == without
    assert set(with_targets) == set(verdicts.EVALUATIONS)
    assert parts[verdicts.TARGETS]["funding"]["status"] == "fail"
    _, empty = verdicts.county_verdicts({}, {}, anshan, year=YEAR)
    assert empty[verdicts.TARGETS]["retention"]["items"]["nine_year_retention_rate"]["met"] is None


def test_the_targets_are_in_the_county_template_a_bureau_fills_in():
    keys = {i.key for i in verdicts.items() if i.self_assessable}
    assert set(ASSESSED) <= keys
    assert all(verdicts.item(k).cites for k in ASSESSED)  # each names where its figures are written

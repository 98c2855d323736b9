"""The seeds' own figures (issue 24, point 6): standardization counted only from its year on; per-student public
funding and retention as county items against the national and 鞍山 thresholds."""
import shutil

import pytest

from junheng.data import db, demo
from junheng.data.scope import Scope
from tests.conftest import frame, school


@pytest.fixture()
def two_years(tmp_path, boundary_dir):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    rows = [school(school_id="3707240001", standardized_year=2015),
            school(school_id="3707240002", standardized_year=2021),   # standardized in 2021
            school(school_id="3707240003", standardized_year=None)]
    for year in (2019, 2024):
        demo.write_snapshot(tmp_path, year, frame(rows).with_columns(year=year), source="tests", synthetic=True)
    return db.connect(tmp_path)


def test_a_school_counts_as_standardized_only_from_its_standardized_year(two_years):
    totals = db.run(two_years, "county_totals", Scope("370724"), years=[2019, 2024], region="")
    got = {r["year"]: (r["schools"], r["standardized_schools"], r["public_standardized_schools"])
           for r in totals.iter_rows(named=True)}
    assert got == {2019: (3, 1, 1), 2024: (3, 2, 2)}

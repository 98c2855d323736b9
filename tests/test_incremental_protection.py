"""Incremental protection (issue 23): a write of a year protects only the counties whose protection inputs changed
(junheng/data/db.py `protected_aggregates`); every other county's protected rows come from the previous version's
files. Each test checks the stored aggregates against a full protection of the new year, row for row."""
from __future__ import annotations

import shutil
from pathlib import Path

import polars as pl
import pytest

from junheng import settings
from junheng.data import db, store

YEAR = 2025


@pytest.fixture(scope="module")
def year_rows(demo_frame) -> pl.DataFrame:
    """One demo year (35 counties), in the snapshot's column order."""
    return demo_frame.filter(pl.col("year") == YEAR)


@pytest.fixture()
def written(tmp_path, year_rows, boundary_dir, monkeypatch) -> tuple[Path, list]:
    """A data directory holding the demo year as one version (protected in full), and the list every later
    write's protection report (what write_aggregates returned) is appended to."""
    data_dir = tmp_path / "data"
    shutil.copytree(boundary_dir, data_dir / "boundaries")
    reports = []
    real = db.write_aggregates

    def recording(*args, **kwargs):
        reports.append(real(*args, **kwargs))
        return reports[-1]
    monkeypatch.setattr(db, "write_aggregates", recording)
    store.write_version(data_dir, YEAR, year_rows, "test", synthetic=True)
    assert reports[-1]["computed"] == reports[-1]["counties"] == 35
    return data_dir, reports


@pytest.fixture()
def calls(monkeypatch) -> list[list[str]]:
    """The counties of every protection `evaluated` is asked for (its PROTECTED aggregates)."""
    seen = []
    real = db.evaluated

    def counting(schools, year, rules, names=db.EVALUATED):
        if set(names) & set(db.PROTECTED):
            seen.append(sorted(schools["county_code"].unique().to_list()))
        return real(schools, year, rules, names)
    monkeypatch.setattr(db, "evaluated", counting)
    return seen


def stored(data_dir: Path, rules: dict) -> dict[str, pl.DataFrame]:
    return {name: pl.read_parquet(db.aggregate_path(data_dir, YEAR, name, db.evaluated_params(name, rules)))
            for name in db.PROTECTED}


def in_order(frames: dict[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    return {name: frame.sort(list(db.PROTECTED_KEYS[name])) for name, frame in frames.items()}


def assert_as_full(data_dir: Path, rules: dict) -> None:
    """The stored protected aggregates equal a full protection of the current snapshot, every row."""
    rows = pl.read_parquet(store.current_path(data_dir, YEAR))
    full = in_order(db.evaluated(rows, YEAR, rules, db.PROTECTED))
    kept = in_order(stored(data_dir, rules))
    for name in db.PROTECTED:
        assert kept[name].height == full[name].height, name
        assert kept[name].equals(full[name]), name


def smallest_other(rows: pl.DataFrame, changed: set[str]) -> str:
    """The canary write_aggregates protects again: the unchanged county with the fewest rows (then by code)."""
    sizes = rows.filter(~pl.col("county_code").is_in(sorted(changed))).group_by("county_code").len()
    return sizes.sort("len", "county_code").row(0, named=True)["county_code"]


def biggest_left_behind(rows: pl.DataFrame, county: str) -> str:
    return rows.filter(pl.col("county_code") == county).sort("left_behind_students", "school_id",
                                                                 descending=[True, False])["school_id"][0]


def test_protection_reads_only_its_columns(year_rows):
    """PROTECTION_COLUMNS is every column the protection reads: rows of those columns only protect the same."""
    rules = settings.load_thresholds()
    full = in_order(db.evaluated(year_rows, YEAR, rules, db.PROTECTED))
    narrow = in_order(db.evaluated(year_rows.select(db.PROTECTION_COLUMNS), YEAR, rules, db.PROTECTED))
    for name in db.PROTECTED:
        assert narrow[name].equals(full[name]), name


def test_digest_changes_with_a_protection_column_only(year_rows):
    county = year_rows["county_code"].min()
    before = db.protection_digests(year_rows)
    one = pl.col("school_id") == biggest_left_behind(year_rows, county)
    for column, change in (("left_behind_students", pl.col("left_behind_students") + 1),
                           ("township", pl.lit("别的镇")), ("is_boarding", ~pl.col("is_boarding")),
                           ("books", pl.col("books") + 1)):
        after = db.protection_digests(year_rows.with_columns(pl.when(one).then(change).otherwise(pl.col(column))
                                                             .alias(column)))
        moved = set(before.join(after, on=["county_code", "digest"], how="anti")["county_code"].to_list())
        assert moved == (set() if column == "books" else {county}), column
    # row order inside a county does not matter; a null is not the text "n" nor an empty text
    assert db.protection_digests(year_rows.reverse()).sort("county_code").equals(before.sort("county_code"))
    nulls = db.protection_digests(year_rows.with_columns(pl.when(one).then(None).otherwise(pl.col("township"))
                                                         .alias("township")))
    texts = db.protection_digests(year_rows.with_columns(pl.when(one).then(pl.lit("")).otherwise(pl.col("township"))
                                                         .alias("township")))
    assert nulls.filter(pl.col("county_code") == county)["digest"][0] != \
        texts.filter(pl.col("county_code") == county)["digest"][0]


def test_county_import_protects_that_county_only(written, calls, year_rows):
    data_dir, reports = written
    rules = settings.load_thresholds()
    before = in_order(stored(data_dir, rules))
    county = sorted(year_rows["county_code"].unique().to_list())[3]
    school = biggest_left_behind(year_rows, county)
    # the school's left-behind count becomes small: its cell is now "<5", so the county's protection changes
    bureau = year_rows.filter(pl.col("county_code") == county).with_columns(
        pl.when(pl.col("school_id") == school).then(3).otherwise(pl.col("left_behind_students"))
        .cast(pl.Int32).alias("left_behind_students"))
    store.write_version(data_dir, YEAR, bureau, "bureau", synthetic=True, counties=True)
    canary = smallest_other(year_rows, {county})
    assert calls == [sorted({county, canary})]
    assert reports[-1]["computed"] == 2 and reports[-1]["reused"] == 33, reports[-1]
    assert_as_full(data_dir, rules)
    after = in_order(stored(data_dir, rules))
    cell = pl.col("cell_id") == f"school:{school}"
    assert before["published_cells"].filter(cell & (pl.col("measure") == "left_behind_students"))["status"][0] \
        != "small"
    assert after["published_cells"].filter(cell & (pl.col("measure") == "left_behind_students"))["status"][0] \
        == "small"
    # every other county's rows are the previous version's
    others = pl.col("county_code") != county
    for name in db.PROTECTED:
        assert after[name].filter(others).equals(before[name].filter(others)), name


def test_column_the_protection_reads_and_one_it_does_not(written, calls, year_rows):
    data_dir, reports = written
    rules = settings.load_thresholds()
    codes = sorted(year_rows["county_code"].unique().to_list())
    moved, untouched = codes[5], codes[6]
    frame = year_rows.with_columns(
        pl.when(pl.col("school_id") == biggest_left_behind(year_rows, moved)).then(pl.lit("新设镇"))
        .otherwise(pl.col("township")).alias("township"),
        pl.when(pl.col("county_code") == untouched).then(pl.col("books") + 11).otherwise(pl.col("books"))
        .alias("books"))
    store.write_version(data_dir, YEAR, frame, "year", synthetic=True)
    assert calls == [sorted({moved, smallest_other(year_rows, {moved})})]
    assert reports[-1]["computed"] == 2
    assert_as_full(data_dir, rules)
    assert stored(data_dir, rules)["left_behind_groups"].filter(
        (pl.col("county_code") == moved) & (pl.col("group") == "新设镇")).height == 1


def test_added_and_removed_counties(written, calls, year_rows):
    data_dir, reports = written
    rules = settings.load_thresholds()
    codes = sorted(year_rows["county_code"].unique().to_list())
    gone, copied = codes[0], codes[1]
    new_code = "659999"
    assert new_code not in codes
    added = year_rows.filter(pl.col("county_code") == copied).with_columns(
        pl.lit(new_code).alias("county_code"), ("x" + pl.col("school_id")).alias("school_id"))
    frame = pl.concat([year_rows.filter(pl.col("county_code") != gone), added])
    store.write_version(data_dir, YEAR, frame, "year", synthetic=True)
    # the new county is computed (its rows equal another county's, but it has no stored digest); the gone one is
    # not carried over
    assert calls == [sorted({new_code, smallest_other(frame, {new_code})})]
    assert reports[-1]["counties"] == 35 and reports[-1]["computed"] == 2
    assert_as_full(data_dir, rules)
    for frame_ in stored(data_dir, rules).values():
        assert gone not in frame_["county_code"].to_list()
        assert new_code in frame_["county_code"].to_list()


def test_min_count_change_protects_the_whole_year(written, calls):
    data_dir, _ = written
    rules = settings.load_thresholds()
    other = {**rules, "privacy": {**rules["privacy"], "min_count": int(rules["privacy"]["min_count"]) + 2}}
    done = db.write_aggregates(data_dir, YEAR, store.current_path(data_dir, YEAR), other)
    assert done["computed"] == done["counties"] == 35 and done["reused"] == 0
    assert len(calls) == 1 and len(calls[0]) == 35
    assert_as_full(data_dir, other)
    # back at the first min_count: the earlier files of this version (same tag) serve again
    calls.clear()
    done = db.write_aggregates(data_dir, YEAR, store.current_path(data_dir, YEAR), rules)
    assert done["computed"] == 1 and done["reused"] == 34
    assert_as_full(data_dir, rules)


def test_format_change_protects_the_whole_year(written, calls, monkeypatch):
    data_dir, _ = written
    rules = settings.load_thresholds()
    monkeypatch.setattr(db, "PROTECTION_FORMAT", db.PROTECTION_FORMAT + 1)
    done = db.write_aggregates(data_dir, YEAR, store.current_path(data_dir, YEAR), rules)
    assert done["computed"] == 35, done


def test_canary_catches_a_stored_county_that_differs(written, calls, year_rows):
    """A stored county whose rows are not what the protection now gives (as after a code change without a format
    bump): the canary county is protected again, differs, and the whole year is protected afresh."""
    data_dir, _ = written
    rules = settings.load_thresholds()
    canary = smallest_other(year_rows, set())
    path = db.aggregate_path(data_dir, YEAR, "migrant_groups", db.evaluated_params("migrant_groups", rules))
    frame = pl.read_parquet(path)
    frame.with_columns(pl.when(pl.col("county_code") == canary).then(pl.lit("withheld")).otherwise(pl.col("status"))
                       .alias("status")).write_parquet(path)
    done = db.write_aggregates(data_dir, YEAR, store.current_path(data_dir, YEAR), rules)
    assert done["computed"] == 35 and "otherwise than stored" in done["reason"], done
    assert_as_full(data_dir, rules)


def test_corrupt_previous_file_protects_the_whole_year(written, calls, year_rows):
    data_dir, reports = written
    rules = settings.load_thresholds()
    path = db.aggregate_path(data_dir, YEAR, "published_cells", db.evaluated_params("published_cells", rules))
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a torn file
    county = sorted(year_rows["county_code"].unique().to_list())[2]
    bureau = year_rows.filter(pl.col("county_code") == county).with_columns(
        (pl.col("migrant_students") + 9).alias("migrant_students"))
    store.write_version(data_dir, YEAR, bureau, "bureau", synthetic=True, counties=True)
    assert reports[-1]["computed"] == 35 and "unreadable" in reports[-1]["reason"], reports[-1]
    assert len(calls) == 1 and len(calls[0]) == 35
    assert_as_full(data_dir, rules)


def test_full_protection_when_asked(written, calls, monkeypatch):
    data_dir, _ = written
    monkeypatch.setattr(db, "INCREMENTAL", False)
    done = db.write_aggregates(data_dir, YEAR, store.current_path(data_dir, YEAR), settings.load_thresholds())
    assert done["computed"] == 35 and done["reused"] == 0


def test_crash_while_writing_leaves_the_previous_version_usable(written, calls, year_rows, monkeypatch):
    """A write that stops after two of the protected files (disk full): the new version has no digest file, so the
    rerun (store.recover's `_aggregates`) protects from the previous version, with the same result as in full."""
    data_dir, reports = written
    rules = settings.load_thresholds()
    first = store.read_manifest(data_dir)["years"][str(YEAR)]["current"]
    real, written_files = db._write_frame, []

    def failing(frame, target):
        if target.parent.parent.name in db.PROTECTED + (db.DIGEST,):
            if len(written_files) == 2:
                raise OSError("no space left on device")
            written_files.append(target)
        real(frame, target)
    monkeypatch.setattr(db, "_write_frame", failing)
    county = sorted(year_rows["county_code"].unique().to_list())[7]
    bureau = year_rows.filter(pl.col("county_code") == county).with_columns(
        (pl.col("left_behind_students") + 4).alias("left_behind_students"))
    count_before = len(reports)
    store.write_version(data_dir, YEAR, bureau, "bureau", synthetic=True, counties=True)  # OSError: swallowed
    assert len(reports) == count_before  # write_aggregates did not return
    version = store.read_manifest(data_dir)["years"][str(YEAR)]["current"]
    assert version != first
    files = db.protection_files(data_dir, YEAR, version, rules)
    assert not files[db.DIGEST].exists()
    assert db.protection_files(data_dir, YEAR, first, rules)[db.DIGEST].exists()
    monkeypatch.setattr(db, "_write_frame", real)
    calls.clear()
    done = db.write_aggregates(data_dir, YEAR, store.current_path(data_dir, YEAR), rules)
    assert done["source"] == first and done["computed"] == 2, done
    assert calls == [sorted({county, smallest_other(year_rows, {county})})]
    assert_as_full(data_dir, rules)

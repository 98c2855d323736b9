"""The by-county layout (one file per province, sorted by county and year) that `school_history` reads: the same
rows as the yearly snapshots, rewritten after every write, and never needed for a correct answer."""
import shutil

import duckdb
import polars as pl

from junheng.data import db, store
from junheng.data.scope import EVERYTHING, GUEST, Scope

ORDER = ["county_code", "school_id", "year"]


def by_hand(data_dir, county: str) -> pl.DataFrame:
    """Every year's current rows of one county, straight from the snapshot files."""
    files = [str(p) for p in db.snapshot_files(data_dir)]
    return duckdb.sql("select * from read_parquet($files, union_by_name = true, hive_partitioning = false) "
                      "where county_code = $county", params={"files": files, "county": county}).pl().sort(ORDER)


def same_rows(got: pl.DataFrame, expected: pl.DataFrame) -> bool:
    got = got.select(expected.columns).sort(ORDER)
    return got.cast(expected.schema).equals(expected)


def test_the_layout_is_written_per_province_and_gives_the_rows_of_the_snapshots(tiny_data):
    folder = db.history_path(tiny_data, db._manifest(tiny_data))
    assert folder.is_dir()
    assert sorted(p.name for p in folder.iterdir()) == ["province=34", "province=37"]
    con = db.connect(tiny_data)
    for county in ("370724", "370305", "341202"):
        got = db.run(con, "school_history", EVERYTHING, region=county)
        assert got.height and same_rows(got, by_hand(tiny_data, county))
    macro = con.sql("select macro_definition from duckdb_functions() where function_name = '_schools_by_county'")
    assert "by_county" in str(macro.fetchall())  # read from the layout, not the yearly files


def test_an_import_rewrites_the_layout_and_history_shows_the_new_rows(tiny_data):
    before = db.history_path(tiny_data, db._manifest(tiny_data))
    rows = pl.read_parquet(store.current_path(tiny_data, 2024)).filter(pl.col("county_code") == "370724")
    changed = rows.with_columns(pl.col("teachers") + 7)
    store.write_version(tiny_data, 2024, changed, source="bureau.xlsx", synthetic=False, counties=True)
    after = db.history_path(tiny_data, db._manifest(tiny_data))
    assert after != before and after.is_dir()
    got = db.run(db.connect(tiny_data), "school_history", EVERYTHING, region="370724")
    assert same_rows(got, by_hand(tiny_data, "370724"))
    assert got.filter(pl.col("year") == 2024)["teachers"].sum() == rows["teachers"].sum() + 7 * rows.height


def test_without_the_layout_the_yearly_files_give_the_same_rows(tiny_data):
    with_layout = db.run(db.connect(tiny_data), "school_history", EVERYTHING, region="37")
    shutil.rmtree(tiny_data / "aggregates" / "by_county")
    without = db.run(db.connect(tiny_data), "school_history", EVERYTHING, region="37")
    assert with_layout.height and with_layout.equals(without)


def test_the_layout_keeps_the_scope_and_odd_regions_find_nothing(tiny_data):
    con = db.connect(tiny_data)
    assert db.run(con, "school_history", Scope("34"), region="37").is_empty()
    assert set(db.run(con, "school_history", Scope("37"), region="")["county_code"]) == {"370724", "370305"}
    store.write_version(tiny_data, 2024, pl.read_parquet(store.current_path(tiny_data, 2024)).filter(
        pl.col("county_code") == "370724"), source="bureau.xlsx", synthetic=False, counties=True)
    guest = db.run(db.connect(tiny_data), "school_history", GUEST, region="370724")
    assert guest["year"].unique().to_list() == [2023]  # the imported 2024 rows are not a guest's
    for odd in ("../", "'; select 1; --", "*"):
        assert db.run(con, "school_history", EVERYTHING, region=odd).is_empty()
    # a one-digit prefix is no province: every province is read, and the prefix still decides
    assert set(db.run(con, "school_history", EVERYTHING, region="3")["county_code"]) == {"370724", "370305", "341202"}

"""The county self-assessment on the school snapshots' crash-safe store (issue 22 point 3): a crash at any step,
imports and rollbacks limited to a region, reads through the scoped query layer."""
import hashlib
import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from junheng.data import county_table, db, store
from junheng.data.scope import EVERYTHING, GUEST, Scope

FIRST = ("county_code,item,value\n"
         "370724,social_recognition_rate,0.85\n"
         "370724,veto_key_classes,否\n"
         "370305,social_recognition_rate,0.90\n")
SECOND = ("county_code,item,value\n"
          "370724,social_recognition_rate,0.70\n"
          "341202,social_recognition_rate,0.60\n")


def write(folder: Path, text: str, name: str) -> Path:
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest(data: Path) -> dict:
    return json.loads((data / "county_items" / "manifest.json").read_text(encoding="utf-8"))


def consistent(data: Path) -> list[str]:
    """Every year whose current file is not the version its manifest names (empty: consistent)."""
    return [year for year, entry in manifest(data)["years"].items()
            if not county_table.current_path(data, int(year)).exists()
            or sha(county_table.current_path(data, int(year)))
            != sha(county_table.TABLE.version_path(data, int(year), entry["current"]))]


def rows(data: Path, year: int = 2024, scope=EVERYTHING) -> list[tuple]:
    return county_table.read(db.connect(data), scope, year).rows()


@pytest.fixture()
def imported(tiny_data, tmp_path_factory):
    """tiny_data with one self-assessment version of 2024 (370724 and 370305)."""
    files = tmp_path_factory.mktemp("files")
    report, version = county_table.import_file(write(files, FIRST, "first.csv"), 2024, tiny_data, "en")
    assert not report.errors and version
    return tiny_data


class PowerCut(BaseException):
    """A crash no handler sees (the process dies): not an Exception."""


def _import_with_failure(data: Path, second: Path, monkeypatch, fail_at: int, error: type[BaseException]) -> int:
    """Import `second` with the fail_at-th os.replace raising error; returns how many os.replace calls it made."""
    real, calls = os.replace, []

    def replace(src, dst, *args, **kwargs):
        calls.append(dst)
        if len(calls) == fail_at:
            raise error(f"injected at call {fail_at}")
        return real(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    try:
        county_table.import_file(second, 2024, data, "en")
    except (store.StoreError, PowerCut):
        pass
    finally:
        monkeypatch.setattr(os, "replace", real)
    return len(calls)


def test_a_crash_at_every_step_of_a_write_leaves_a_version_current_and_recover_tidies(
        imported, tmp_path_factory, monkeypatch):
    copies = tmp_path_factory.mktemp("crashes")
    second = write(tmp_path_factory.mktemp("in"), SECOND, "second.csv")
    steps = _import_with_failure(shutil.copytree(imported, copies / "count"), second, monkeypatch, 0, OSError)
    assert steps == 5  # version file, pending note, manifest backup, manifest (the commit), current file
    old = manifest(imported)["years"]["2024"]["current"]
    old_rows = rows(imported)
    for step in range(1, steps + 1):
        for error in (OSError, PowerCut):
            data = shutil.copytree(imported, copies / f"{error.__name__}{step}")
            _import_with_failure(data, second, monkeypatch, step, error)
            if error is OSError:  # the write saw its failure and settled the table itself
                assert consistent(data) == [], step
            store.recover(data)  # the next start or write
            assert consistent(data) == [], (error.__name__, step)
            current = manifest(data)["years"]["2024"]["current"]
            if step < 4:  # before the commit point nothing of the write is current
                assert current == old and rows(data) == old_rows, (error.__name__, step)
            elif step > 4:  # the manifest names the new version: recover finished it
                assert current != old and ("370724", "social_recognition_rate", 0.70) in rows(data)
            assert not list(data.glob("county_items/**/.*.tmp")) and not list(data.glob("county_items/**/.staging-*"))
            assert not (data / "county_items" / ".pending.json").exists()


def test_a_hard_crash_after_the_commit_is_finished_by_recover(imported, tmp_path, monkeypatch):
    second = write(tmp_path, SECOND, "second.csv")
    _import_with_failure(imported, second, monkeypatch, 5, PowerCut)  # manifest written, current file not yet
    assert consistent(imported) == ["2024"] and (imported / "county_items" / ".pending.json").exists()
    assert ("341202", "social_recognition_rate", 0.60) not in rows(imported)  # readers still see the old file
    store.recover(imported)
    assert consistent(imported) == []
    assert ("341202", "social_recognition_rate", 0.60) in rows(imported)


def test_a_damaged_county_manifest_stops_writes_in_both_languages_and_the_backup_restores_it(imported, tmp_path):
    second = write(tmp_path, SECOND, "second.csv")
    county_table.import_file(second, 2024, imported, "en")
    folder = imported / "county_items"
    assert (folder / "manifest.json.bak").exists()
    before = (folder / "manifest.json").read_bytes()
    (folder / "manifest.json").write_text('{"years": {"2024": {"current": "gone", "versions": []}}}')
    with pytest.raises(store.ManifestError) as caught:
        county_table.import_file(second, 2024, imported, "en")
    message = str(caught.value)
    assert "county_items/manifest.json.bak" in message and "已损坏" in message and "damaged" in message
    assert str(imported) not in message
    with pytest.raises(store.ManifestError):
        county_table.rollback(imported, 2024, "gone")
    assert (folder / "manifest.json").read_bytes() != before  # nothing was written over the damage
    shutil.copyfile(folder / "manifest.json.bak", folder / "manifest.json")  # README's recovery
    report, version = county_table.import_file(second, 2024, imported, "en")
    assert version and consistent(imported) == []


def test_a_county_admin_importing_another_countys_rows_writes_nothing_and_is_told_which_row(imported, tmp_path):
    text = ("county_code,item,value\n"
            "370724,social_recognition_rate,0.5\n"
            "370725,social_recognition_rate,0.9\n")  # row 3: 昌乐县, outside 临朐县
    before = manifest(imported)
    report, version = county_table.import_file(write(tmp_path, text, "two.csv"), 2024, imported, "en",
                                               region="370724")
    assert version is None
    assert [(p["row"], p["column"], p["value"]) for p in report.errors] == [(3, "county_code", "370725")]
    assert "outside your region (370724)" in report.errors[0]["reason"]
    assert manifest(imported) == before
    report, _ = county_table.validate_upload("two.csv", text.encode(), 2024, imported, "zh", region="370724")
    assert "不在您的权限范围（370724）" in report.errors[0]["reason"]
    report, version = county_table.import_file(write(tmp_path, text, "two.csv"), 2024, imported, "en", region="37")
    assert not report.errors and version  # inside a province's region both are its own
    assert county_table.touched_counties(imported, 2024, version) == ["370724", "370725"]


def test_a_guest_sees_no_imported_item_a_county_account_its_own_and_an_admin_all(imported):
    con = db.connect(imported)
    assert county_table.read(con, GUEST, 2024).is_empty()
    assert county_table.read(con, Scope("", synthetic_only=True), 2024).is_empty()
    assert county_table.read(con, Scope("370724"), 2024).rows() == [
        ("370724", "social_recognition_rate", 0.85), ("370724", "veto_key_classes", 0.0)]
    assert county_table.read(con, EVERYTHING, 2024)["county_code"].to_list() == ["370305", "370724", "370724"]
    assert county_table.read(con, EVERYTHING, 2023).is_empty()
    cursor = con.cursor()  # no scope set on a cursor: nothing at all
    assert cursor.execute("select count(*) from county_items").fetchall() == [(0,)]


def test_the_fingerprint_changes_when_the_county_table_changes(imported, tmp_path):
    before = db.fingerprint(imported)
    county_table.import_file(write(tmp_path, SECOND, "second.csv"), 2024, imported, "en")
    after = db.fingerprint(imported)
    assert after != before
    first = county_table.versions(imported).filter(pl.col("source") == "first.csv")["id"].item()
    county_table.rollback(imported, 2024, first)
    assert db.fingerprint(imported) != after


def test_a_national_rollback_makes_the_version_current_and_names_the_counties_it_changed(imported, tmp_path):
    first = manifest(imported)["years"]["2024"]["current"]
    report, second = county_table.import_file(write(tmp_path, SECOND, "second.csv"), 2024, imported, "en")
    assert county_table.touched_counties(imported, 2024, second) == ["341202", "370724"]
    entry = county_table.rollback(imported, 2024, first)
    assert entry["id"] == first and entry["counties"] == ["341202", "370724"]  # 370305 is as it was
    assert rows(imported) == [("370305", "social_recognition_rate", 0.90), ("370724", "social_recognition_rate", 0.85),
                              ("370724", "veto_key_classes", 0.0)]
    listed = county_table.versions(imported)
    assert listed.filter(pl.col("is_current"))["id"].item() == first
    assert listed.filter(pl.col("id") == second).select("counties", "county_count").row(0) == ("341202,370724", 3)


def test_a_region_rollback_restores_only_the_regions_counties(imported, tmp_path):
    first = manifest(imported)["years"]["2024"]["current"]
    county_table.import_file(write(tmp_path, SECOND, "second.csv"), 2024, imported, "en")
    entry = county_table.rollback(imported, 2024, first, region="370724", lang="en")
    # 临朐县 gets its rows of the first version back; 颍州区 (341202) keeps what the second import wrote
    assert entry["counties"] == ["370724"] and entry["kind"] == "rollback" and entry["rolls_back_to"] == first
    assert rows(imported) == [("341202", "social_recognition_rate", 0.60), ("370305", "social_recognition_rate", 0.90),
                              ("370724", "social_recognition_rate", 0.85), ("370724", "veto_key_classes", 0.0)]
    assert county_table.touched_counties(imported, 2024, entry["id"]) == ["370724"]
    assert manifest(imported)["years"]["2024"]["current"] == entry["id"] and consistent(imported) == []
    again = county_table.rollback(imported, 2024, first, region="370724")
    assert again["counties"] == [] and again["id"] == entry["id"]  # nothing left to change: nothing written
    with pytest.raises(store.StoreError, match="has no version nope"):
        county_table.rollback(imported, 2024, "nope", region="370724", lang="en")


def test_recover_removes_what_an_interrupted_county_write_left(imported):
    folder = imported / "county_items"
    strays = [folder / "versions" / "year=2024" / ".staging-1.parquet", folder / "year=2024" / ".part-0.parquet.tmp",
              folder / ".manifest.json.tmp"]
    for stray in strays:
        stray.write_bytes(b"half")
    store.recover(imported)
    assert not any(stray.exists() for stray in strays) and consistent(imported) == []


def test_through_the_command_layer_a_county_admin_imports_and_rolls_back_its_own_county_only(imported, tmp_path):
    from junheng.access import audit, database
    from junheng.access.accounts import SYSTEM
    from junheng.commands import accounts as account_commands
    from junheng.commands import data as data_commands
    try:
        linqu = account_commands.add(imported, SYSTEM, "linqu", "admin", "370724", "correct horse battery")
        before = manifest(imported)
        report, version = data_commands.import_file(imported, linqu, "county", write(tmp_path, SECOND, "s.csv"),
                                                    2024, "en")
        assert version is None and [p["value"] for p in report.errors] == ["341202"] and manifest(imported) == before
        own = write(tmp_path, "county_code,item,value\n370724,social_recognition_rate,0.5\n", "own.csv")
        report, version = data_commands.import_file(imported, linqu, "county", own, 2024, "en")
        assert version and json.loads(audit.entries(imported, limit=1)["details"][0])["counties"] == ["370724"]
        first = before["years"]["2024"]["current"]
        entry = data_commands.rollback(imported, linqu, "county", 2024, first, "en")
        assert entry["counties"] == ["370724"]
        assert ("370724", "social_recognition_rate", 0.85) in rows(imported)
        assert audit.entries(imported, limit=1)["action"][0] == "rollback"
    finally:
        database.dispose()

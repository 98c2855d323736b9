"""Hostile and careless imports (issue 10): files that empty a year, values that overflow, damaged manifests,
crashes halfway through a write, zip bombs, uploads left lying about. Each test attacks through the public way in
(the CLI, importer.validate / import_file, the page's upload helpers) and checks what a user would see."""
import hashlib
import json
import os
import shutil
import struct
import time
import zipfile
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from junheng.data import dictionary, importer, store
from junheng.tools import cli
from tests.test_import import as_text, rows_2025, tree_digest, write_csv

ZH = {c.name: c.zh for c in dictionary.columns()}


@pytest.fixture()
def data(tmp_path, demo_data) -> Path:
    out = tmp_path / "data"
    shutil.copytree(demo_data, out)
    return out


def consistent(data: Path) -> list[str]:
    """Problems of the store, computed here from the files (not by the code under test): every year the manifest
    lists has a current snapshot that is the version it names (a version id ends with the file's sha256[:8]),
    and every current snapshot is listed."""
    manifest = json.loads((data / "manifest.json").read_text(encoding="utf-8"))
    problems = []
    for year, entry in manifest["years"].items():
        current = store.current_path(data, int(year))
        digest = hashlib.sha256(current.read_bytes()).hexdigest()[:8] if current.exists() else None
        if digest != entry["current"].rsplit("-", 1)[-1]:
            problems.append(f"{year}: current snapshot is not {entry['current']}")
    for path in data.glob("snapshots/year=*/*.parquet"):
        if path.parent.name.removeprefix("year=") not in manifest["years"]:
            problems.append(f"{path.parent.name} not in the manifest")
    return problems


# Point 3: an empty file is an error; removing counties or most schools needs confirmation.

@pytest.mark.parametrize("kind", ["csv", "csv_blank_rows", "xlsx"])
def test_a_header_only_file_is_an_error_and_writes_nothing(data, tmp_path, kind, capsys):
    header = as_text(rows_2025(data).head(0))
    if kind == "xlsx":
        book = openpyxl.Workbook()
        book.active.append(header.columns)
        book.save(path := tmp_path / "empty.xlsx")
    else:
        path = tmp_path / "empty.csv"
        path.write_text(",".join(header.columns) + ("\n,,,\n \n" if kind == "csv_blank_rows" else "\n"),
                        encoding="utf-8")
    clean, report = importer.validate(path, 2025, data)
    assert clean is None and report.error_count == 1
    assert report.errors[0]["row"] == 2 and "没有数据行" in report.errors[0]["reason"]
    before = tree_digest(data)
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data), "--allow-removal"]) == 1
    assert tree_digest(data) == before
    assert "没有数据行" in capsys.readouterr().out


def test_one_county_into_a_35_county_year_needs_allow_removal(data, tmp_path, capsys):
    year_rows = pl.read_parquet(store.current_path(data, 2025))
    assert year_rows["county_code"].n_unique() == 35
    linqu = rows_2025(data, "370724")
    path = write_csv(as_text(linqu), tmp_path / "临朐县.csv", "gbk")
    before = tree_digest(data)
    replace = ["--replace-year"]  # since issue 11 a county's file replaces that county only (below)
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data), *replace]) == 1
    out, err = capsys.readouterr()
    assert tree_digest(data) == before  # nothing written
    assert "--allow-removal" in err
    assert f"从 35 个县（区）{year_rows.height} 所学校变为 1 个县（区）{linqu.height} 所学校" in out
    gone = year_rows.filter(pl.col("county_code") == "370305")
    assert f"临淄区（370305）的 {gone.height} 所学校将全部删除" in out
    assert out.count("将全部删除") == 34

    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data), "--lang", "en", *replace]) == 1
    out, err = capsys.readouterr()
    assert "would remove" in err and f"all {gone.height} schools would be removed" in out

    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data)]) == 0  # its county only
    assert pl.read_parquet(store.current_path(data, 2025))["county_code"].n_unique() == 35
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data), "--allow-removal", *replace]) == 0
    assert pl.read_parquet(store.current_path(data, 2025))["county_code"].unique().to_list() == ["370724"]


def _counties(**schools: int) -> pl.DataFrame:
    return pl.DataFrame({"county_code": [code for code, n in schools.items() for _ in range(n)]})


@pytest.mark.parametrize("incoming, whole_year, confirm, changes", [
    # now: A 4 schools, B 2, C 2 (8 in 3 counties)
    ({"A": 4}, True, True, [("B", 2, 0), ("C", 2, 0)]),          # two counties gone
    ({"A": 1, "B": 2, "C": 2}, True, True, [("A", 4, 1)]),        # A loses 3 of 4 (75% ≥ 50%)
    ({"A": 2, "B": 2, "C": 2}, True, True, [("A", 4, 2)]),        # A loses exactly half
    ({"A": 3, "B": 2, "C": 2}, True, False, []),                  # 1 of 8 gone, A loses 25%: no question
    ({"A": 5, "B": 2, "C": 2, "D": 9}, True, False, []),          # growth never asks
    ({"A": 4}, False, False, []),                                 # per-county replacement (issue 11): B, C stay
    ({"A": 1}, False, True, [("A", 4, 1)]),                       # ... but A itself shrinking still asks
])
def test_removal_check_by_hand(incoming, whole_year, confirm, changes):
    removal = importer.removal_check(2025, _counties(A=4, B=2, C=2), _counties(**incoming), {"B": "乙县"},
                                     whole_year=whole_year)
    assert removal.needs_confirmation is confirm
    assert [(c.county_code, c.before, c.after) for c in removal.changes] == changes
    assert removal.schools_before == 8
    if changes and changes[0][0] == "B":
        assert removal.changes[0].county_name == "乙县" and "乙县（B）的 2 所学校将全部删除" in removal.lines("zh")


def test_removing_most_schools_without_removing_a_county_needs_confirmation(data, tmp_path):
    year_rows = pl.read_parquet(store.current_path(data, 2025))
    # every county keeps a third of its schools: no county disappears, two thirds of the year do
    kept = year_rows.filter(pl.int_range(pl.len()).over("county_code") % 3 == 0)
    path = write_csv(as_text(kept), tmp_path / "third.csv", "utf-8")
    report, version = importer.import_file(path, 2025, data)
    assert version is None and report.needs_removal_confirmation
    assert not report.removal.removed_counties and len(report.removal.changes) == 35
    report, version = importer.import_file(path, 2025, data, allow_removal=report.removal)  # the confirmed one
    assert version is not None
    assert pl.read_parquet(store.current_path(data, 2025)).height == kept.height


# Point 4: overflowing, non-finite and out-of-range values are errors naming row, column and value.

@pytest.mark.parametrize("column, value, reason", [
    ("primary_students", "99999999999", "超出合理上限 20,000"),
    ("primary_students", "20001", "超出合理上限 20,000"),
    ("teachers", "NaN", "不是有限数值"),
    ("teachers", "nan", "不是有限数值"),
    ("building_area_m2", "inf", "不是有限数值"),
    ("building_area_m2", "-inf", "不是有限数值"),
    ("equipment_value_cny", "1e300", "超出合理上限 10,000,000,000"),
    ("books", "1e300", "超出合理上限 10,000,000"),
    ("lat", "91", "超出合理上限 54"),
    ("lon", "-118.5", "小于下限 73"),
    ("standardized_year", "1900", "小于下限 1986"),
])
def test_overflowing_and_non_finite_values_are_errors(data, tmp_path, column, value, reason):
    table = as_text(rows_2025(data).head(4))
    table = table.with_columns(pl.when(pl.int_range(pl.len()) == 2).then(pl.lit(value)).otherwise(pl.col(ZH[column]))
                               .alias(ZH[column]))
    clean, report = importer.validate(write_csv(table, tmp_path / "v.csv", "utf-8"), 2025, data)
    assert clean is None
    assert [(p["row"], p["column"], p["value"]) for p in report.errors if reason in p["reason"]] == \
        [(4, ZH[column], value)]  # header is row 1: the third data row is row 4


def test_numbers_in_an_xlsx_are_checked_the_same_way(data, tmp_path):
    table = as_text(rows_2025(data).head(3))
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(table.columns)
    for row in table.iter_rows():
        sheet.append([float(v) if v and v.replace(".", "").isdigit() else v for v in row])
    students, area = table.columns.index(ZH["primary_students"]) + 1, table.columns.index(ZH["sports_area_m2"]) + 1
    sheet.cell(row=2, column=students, value=99999999999)   # a number cell, not text
    sheet.cell(row=3, column=area, value=1e300)
    sheet.cell(row=4, column=area, value="inf")
    book.save(path := tmp_path / "numbers.xlsx")
    clean, report = importer.validate(path, 2025, data)
    assert clean is None
    found = {(p["row"], p["column"]): p["reason"] for p in report.errors}
    assert "超出合理上限" in found[(2, ZH["primary_students"])]
    assert "超出合理上限" in found[(3, ZH["sports_area_m2"])]
    assert "不是有限数值" in found[(4, ZH["sports_area_m2"])]
    assert report.error_count == 3


def test_every_number_column_has_a_documented_range():
    for c in dictionary.columns():
        if c.type in ("int", "float"):
            assert c.min is not None and c.max is not None, c.name
            assert c.type == "float" or c.max <= importer.INT32_MAX, c.name  # stored as a 32-bit integer
            assert c.range_text in dictionary.markdown()


# Point 5: a damaged manifest stops everything before a byte is written; crashes leave a consistent store.

@pytest.mark.parametrize("damage", [b"{\"years\": {\"2025\": ", b"\x00\xff garbage", b"[]",
                                    b"{\"years\": {\"2025\": {\"current\": \"x\", \"versions\": []}}}"])
def test_a_damaged_manifest_stops_the_import_before_anything_is_written(data, tmp_path, capsys, damage):
    path = write_csv(as_text(rows_2025(data)), tmp_path / "ok.csv", "utf-8")
    (data / "manifest.json").write_bytes(damage)
    (data / "manifest.json.bak").unlink(missing_ok=True)
    before = tree_digest(data)
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data), "--allow-removal"]) == 1
    err = capsys.readouterr().err
    assert tree_digest(data) == before
    assert "manifest.json" in err and "已损坏" in err and "README" in err
    assert str(data) not in err and str(tmp_path) not in err  # no server path
    assert cli.main(["rollback", "--data-dir", str(data), "--year", "2025", "--version", "x", "--lang", "en"]) == 1
    err = capsys.readouterr().err
    assert "manifest.json is damaged" in err and str(data) not in err
    assert tree_digest(data) == before


def test_the_last_good_manifest_is_kept_and_restores_the_store(data, tmp_path, capsys):
    good = (data / "manifest.json").read_bytes()
    path = write_csv(as_text(pl.read_parquet(store.current_path(data, 2025))), tmp_path / "ok.csv", "utf-8")
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data)]) == 0
    assert (data / "manifest.json.bak").read_bytes() == good  # the manifest before the last write
    (data / "manifest.json").write_text("{ torn", encoding="utf-8")
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data)]) == 1
    assert "manifest.json.bak" in capsys.readouterr().err
    shutil.copyfile(data / "manifest.json.bak", data / "manifest.json")  # the recovery README describes
    assert cli.main(["import", str(path), "--year", "2025", "--data-dir", str(data)]) == 0
    assert consistent(data) == []


class PowerCut(BaseException):
    """A crash that no handler sees (the process dies): not an Exception."""


def _write_with_failure(data: Path, monkeypatch, fail_at: int, error: type[BaseException]) -> int:
    """Write a new 2024 version with the fail_at-th os.replace into data raising error; returns those calls. (Only
    the write's own: a background thread of an earlier test in the same process, replacing a file elsewhere, must
    not shift the count; it did once in the full suite.)"""
    real, calls = os.replace, []
    inside = Path(data).resolve()

    def replace(src, dst, *args, **kwargs):
        if not Path(dst).resolve().is_relative_to(inside):
            return real(src, dst, *args, **kwargs)
        calls.append(dst)
        if len(calls) == fail_at:
            raise error(f"injected at call {fail_at}")
        return real(src, dst, *args, **kwargs)

    frame = pl.read_parquet(store.current_path(data, 2024)).with_columns(pl.col("teachers") + 1)
    monkeypatch.setattr(os, "replace", replace)
    try:
        store.write_version(data, 2024, frame, source="test", synthetic=False)
    except (store.StoreError, PowerCut):
        pass
    finally:
        monkeypatch.setattr(os, "replace", real)
    return len(calls)


def test_every_step_of_a_write_can_fail_and_the_store_stays_consistent(tiny_data, tmp_path_factory, monkeypatch):
    copies = tmp_path_factory.mktemp("writes")  # not under tiny_data, which is the test's tmp_path
    steps = _write_with_failure(shutil.copytree(tiny_data, copies / "count"), monkeypatch, 0, OSError)
    assert steps >= 5  # version file, pending note, manifest backup, manifest, current snapshot (+ aggregates)
    for step in range(1, steps + 1):
        for error in (OSError, PowerCut):
            data = shutil.copytree(tiny_data, copies / f"{error.__name__}{step}")
            old = json.loads((data / "manifest.json").read_text())["years"]["2024"]["current"]
            _write_with_failure(data, monkeypatch, step, error)
            if error is OSError:  # the write saw its failure and settled the store itself
                assert consistent(data) == [], (error.__name__, step)
            store.recover(data)   # the next start or write: finishes a committed write, removes temporary files
            assert consistent(data) == [], (error.__name__, step)
            manifest = json.loads((data / "manifest.json").read_text())
            assert manifest["years"]["2023"]["current"] == json.loads(
                (tiny_data / "manifest.json").read_text())["years"]["2023"]["current"]
            assert manifest["years"]["2024"]["current"] in {old, manifest["years"]["2024"]["versions"][-1]["id"]}
            assert not list(data.glob("**/.*.tmp")) and not (data / ".pending.json").exists()


def test_a_hard_crash_after_the_commit_is_finished_by_recover(tiny_data, tmp_path_factory, monkeypatch):
    data = shutil.copytree(tiny_data, tmp_path_factory.mktemp("crash") / "data")
    _write_with_failure(data, monkeypatch, 5, PowerCut)  # the manifest is written, the current snapshot not yet
    assert consistent(data) != []                      # the window the pending note exists for
    assert store.recover(data) == [2024]
    assert consistent(data) == [] and store.consistency_problems(data) == []


def test_store_messages_name_no_server_path(data):
    with store.lock(data):
        message = store.busy_message(data)
    assert str(data) not in message and "另一个导入正在进行" in message
    store.current_path(data, 2020).write_bytes(b"PAR1 garbage")
    from junheng.data import db
    _, problems = db.snapshot_health(data)
    assert "snapshots/year=2020/part-0.parquet" in problems[2020] and str(data) not in problems[2020]


# Point 7: zip bombs refused before reading; validation column-wise with a capped report; uploads cleaned up.

def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, content in members.items():
            z.writestr(name, content)
    return path


def _declare_size(path: Path, member: str, size: int) -> None:
    """Rewrite the uncompressed size a zip declares for member (local header and central directory)."""
    raw = bytearray(path.read_bytes())
    name = member.encode()
    for signature, name_offset, size_offset in ((b"PK\x03\x04", 30, 22), (b"PK\x01\x02", 46, 24)):
        at = 0
        while (at := raw.find(signature, at)) != -1:
            if raw[at + name_offset:at + name_offset + len(name)] == name:
                struct.pack_into("<I", raw, at + size_offset, size)
            at += 4
    path.write_bytes(bytes(raw))


@pytest.mark.parametrize("attack, reason", [
    ("ratio", "压缩比"), ("declared", "解压后约"), ("members", "内部文件"), ("lying", "无法读取 Excel"),
])
def test_a_zip_bomb_is_refused_before_any_reader_opens_it(data, tmp_path, monkeypatch, attack, reason):
    def no_reader(*_, **__):
        raise AssertionError("the reader was called")
    import fastexcel
    monkeypatch.setattr(fastexcel, "read_excel", no_reader)
    monkeypatch.setattr(openpyxl, "load_workbook", no_reader)
    sheet = "xl/worksheets/sheet1.xml"
    path = tmp_path / "bomb.xlsx"
    if attack == "ratio":      # 50 MB of blanks packed into about 50 KB
        _zip(path, {"xl/workbook.xml": b"<workbook/>", sheet: b" " * 50_000_000})
    elif attack == "declared":  # says it unpacks to 4 GB
        _zip(path, {"xl/workbook.xml": b"<workbook/>", sheet: b"<worksheet/>"})
        _declare_size(path, sheet, 4_000_000_000)
    elif attack == "members":
        _zip(path, {f"xl/part{i}.xml": b"<x/>" for i in range(importer.XLSX_MAX_MEMBERS + 1)})
    else:                       # says 1 KB, inflates to 20 MB: zipfile stops at the declared size, the CRC fails
        _zip(path, {"xl/workbook.xml": b"<workbook/>", sheet: b"<row/>" * 3_500_000})
        _declare_size(path, sheet, 1_000)
    with pytest.raises(importer.UnreadableFile, match=reason) as refused:
        importer.validate(path, 2025, data, name="学校.xlsx")
    assert "学校.xlsx" in str(refused.value) and str(tmp_path) not in str(refused.value)


def test_a_national_size_xlsx_passes_the_zip_check(tmp_path):
    """The limits leave room for a real table: a sheet of 300,000 plausible rows packs about 8 : 1."""
    rows = b"".join(b'<row r="%d"><c r="A%d" t="s"><v>%d</v></c><c r="B%d"><v>%d.5</v></c></row>'
                    % (i, i, i % 977, i, i * 37 % 100_003) for i in range(1, 300_001))
    path = _zip(tmp_path / "big.xlsx", {"xl/worksheets/sheet1.xml": b"<worksheet><sheetData>" + rows + b"</sheetData>"})
    importer.check_xlsx(path, "big.xlsx")


def test_the_report_lists_the_first_problems_and_counts_them_all(data, tmp_path):
    many = pl.concat([rows_2025(data)] * 18).with_columns(
        (pl.lit("37") + pl.int_range(pl.len()).cast(pl.String).str.zfill(8)).alias("school_id"))
    table = as_text(many).with_columns(pl.lit("-1").alias(ZH["teachers"]))
    clean, report = importer.validate(write_csv(table, tmp_path / "many.csv", "utf-8"), 2025, data)
    assert clean is None and table.height > importer.MAX_LISTED
    assert report.error_count >= table.height and len(report.errors) == importer.MAX_LISTED
    counts = {(column, reason): n for (level, column, reason), n in report.counts.items()}
    assert counts[(ZH["teachers"], "不能为负数")] == table.height
    assert "每类最多列出 1000 条" in report.summary("zh")
    assert report.counts_frame("en").columns == ["Kind", "Column", "Reason", "Count"]


def test_validation_does_not_visit_the_data_row_by_row_in_python(data, tmp_path, monkeypatch):
    """The per-cell Python normaliser runs for the header and trailing rows only, not for every cell."""
    calls = []
    real = importer.normalise
    monkeypatch.setattr(importer, "normalise", lambda v: calls.append(v) or real(v))
    table = as_text(pl.read_parquet(store.current_path(data, 2025)))
    clean, report = importer.validate(write_csv(table, tmp_path / "all.csv", "utf-8"), 2025, data)
    assert clean is not None and clean.height == table.height > 3000
    assert len(calls) < 500  # headers and the dictionary; the old reader called it once per cell (rows × columns)


class Uploaded:
    """What Streamlit's file_uploader returns, as far as the upload helpers use it."""
    def __init__(self, name: str, content: bytes):
        self.name, self._content = name, content

    def getvalue(self) -> bytes:
        return self._content


def test_uploads_are_private_randomly_named_and_deleted(data):
    with importer.stored_upload(data, "../../etc/临朐县 2025.csv", b"a,b\n1,2\n") as path:
        assert path.parent == data / "uploads" and path.read_bytes() == b"a,b\n1,2\n"
        assert "临朐县" not in path.name and ".." not in path.name and path.suffix == ".csv"
        assert path.stat().st_mode & 0o777 == 0o600 and path.parent.stat().st_mode & 0o777 == 0o700
    assert not path.exists()
    old, new = data / "uploads" / "left-by-a-crash.csv", data / "uploads" / "in-use.csv"
    old.write_text("x")
    new.write_text("y")
    two_days_ago = time.time() - 2 * 24 * 3600
    os.utime(old, (two_days_ago, two_days_ago))
    with importer.stored_upload(data, "next.csv", b"z"):  # the next upload sweeps day-old ones
        assert not old.exists() and new.exists()


def test_the_page_helpers_leave_no_uploaded_file_behind(data, tmp_path, monkeypatch):
    import tempfile

    from junheng.access import accounts
    from junheng.views import uploads
    from tests.conftest import add_account
    monkeypatch.setenv("JUNHENG_DATA_DIR", str(data))
    add_account(data, "chief", "admin")  # the page's helpers act for the signed-in administrator (the gate)
    monkeypatch.setattr(uploads.st, "session_state", {"account": accounts.get(data, "chief")})
    content = write_csv(as_text(rows_2025(data)), tmp_path / "x.csv", "gbk").read_bytes()
    upload = Uploaded("临朐县.csv", content)
    leftovers = Path(tempfile.gettempdir()) / "junheng-uploads"  # where the old helpers kept every upload
    before = set(leftovers.rglob("*"))
    report, unreadable = uploads.validate_upload(upload, 2025, "zh", replace_year=True)
    assert unreadable is None and report.needs_removal_confirmation
    _, version = uploads.import_upload(upload, 2025, "zh", replace_year=True)
    assert version is None  # not confirmed: nothing written
    _, version = uploads.import_upload(upload, 2025, "zh", allow_removal=report.removal, replace_year=True)
    assert version and store.read_manifest(data)["years"]["2025"]["source"] == "临朐县.csv"
    assert list((data / "uploads").iterdir()) == []
    assert set(leftovers.rglob("*")) == before


def test_the_upload_limit_fits_a_national_file():
    import tomllib
    root = Path(__file__).resolve().parents[1]
    config = tomllib.loads((root / ".streamlit" / "config.toml").read_text(encoding="utf-8"))
    limit_mb = config["server"]["maxUploadSize"]
    # a national CSV of 260,000 schools is about 46 MB (docs/benchmarks.md); leave room, refuse absurd sizes
    assert 60 <= limit_mb <= 150
    assert f"maxUploadSize = {limit_mb}" in (root / "README.md").read_text(encoding="utf-8")

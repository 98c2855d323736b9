"""The one gate (issue 22): every account change, import, rollback, audit read and export goes through
junheng/commands, which checks the role and that the actor's region holds every region touched, then audits."""
import json
import shutil

import polars as pl
import pytest

from junheng.access import accounts, audit, database
from junheng.access.accounts import SYSTEM, Account, AccountError
from junheng.commands import accounts as account_commands
from junheng.commands import audit_log, gate
from junheng.commands import data as data_commands
from junheng.commands import exports as export_commands
from junheng.commands.gate import Denied
from junheng.data import store
from tests.test_import import as_text, rows_2025, tree_digest

PASSWORD = "correct horse battery"


@pytest.fixture()
def data_dir(tmp_path, boundary_dir):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    yield tmp_path
    database.dispose()


def make(data_dir, name, role, region) -> Account:
    return account_commands.add(data_dir, SYSTEM, name, role, region, PASSWORD)


@pytest.fixture()
def people(data_dir):
    """A national admin, a 潍坊 (3707) admin, a 临朐 (370724) admin and viewer, a 昌乐 (370725) viewer."""
    return {"nation": make(data_dir, "nation", "admin", ""), "weifang": make(data_dir, "weifang", "admin", "3707"),
            "linqu": make(data_dir, "linqu", "admin", "370724"),
            "linqu_viewer": make(data_dir, "lq_v", "viewer", "370724"),
            "changle": make(data_dir, "changle", "viewer", "370725")}


def test_a_county_admin_lists_only_the_accounts_of_its_county(data_dir, people):
    names = {a.name for a in account_commands.listing(data_dir, people["linqu"])}
    assert names == {"linqu", "lq_v"}
    assert {a.name for a in account_commands.listing(data_dir, people["weifang"])} == {"weifang", "linqu", "lq_v",
                                                                                      "changle"}
    assert len(account_commands.listing(data_dir, people["nation"])) == 5


@pytest.mark.parametrize("role, region", [("admin", ""), ("viewer", ""), ("admin", "37"), ("admin", "3707"),
                                          ("viewer", "370725")])
def test_a_county_admin_cannot_create_an_account_wider_than_its_county(data_dir, people, role, region):
    before = len(accounts.listing(data_dir))
    with pytest.raises(Denied) as e:
        account_commands.add(data_dir, people["linqu"], "grab", role, region, PASSWORD)
    assert e.value.key == "gate_grant_refused"
    assert len(accounts.listing(data_dir)) == before


def test_an_analyst_cannot_grant_admin_and_a_viewer_cannot_add_anyone(data_dir, people):
    with pytest.raises(Denied) as e:
        account_commands.add(data_dir, people["linqu_viewer"], "x1", "viewer", "370724", PASSWORD)
    assert e.value.key == "role_required"


def test_a_county_admin_adds_an_account_inside_its_county_and_the_audit_names_that_county(data_dir, people):
    made = account_commands.add(data_dir, people["linqu"], "clerk", "analyst", "370724", PASSWORD)
    assert (made.role, made.region) == ("analyst", "370724")
    entry = audit.entries(data_dir, limit=1).row(0, named=True)
    assert (entry["account"], entry["action"], entry["region"]) == ("linqu", "account_add", "370724")


@pytest.mark.parametrize("target", ["nation", "weifang", "changle"])
def test_a_county_admin_cannot_disable_or_reset_accounts_outside_its_county(data_dir, people, target):
    name = people[target].name
    for action in (lambda: account_commands.set_disabled(data_dir, people["linqu"], name),
                   lambda: account_commands.set_password(data_dir, people["linqu"], name, "taken over now")):
        with pytest.raises(AccountError) as e:
            action()
        assert e.value.key == "account_unknown"  # outside the region, an account is not the admin's to know of
    assert not accounts.get(data_dir, name).disabled
    accounts.verify(data_dir, name, PASSWORD)  # the password is unchanged


def test_a_prefecture_admin_manages_its_counties_accounts(data_dir, people):
    account_commands.set_password(data_dir, people["weifang"], "changle", "a new passphrase")
    assert accounts.verify(data_dir, "changle", "a new passphrase").name == "changle"
    account_commands.set_disabled(data_dir, people["weifang"], "linqu")
    assert accounts.get(data_dir, "linqu").disabled


def test_a_disabled_or_changed_admin_loses_its_rights_whatever_object_the_caller_holds(data_dir, people):
    held = people["linqu"]
    account_commands.set_disabled(data_dir, people["nation"], "linqu")
    with pytest.raises(Denied) as e:
        account_commands.add(data_dir, held, "late", "viewer", "370724", PASSWORD)
    assert e.value.key == "session_ended"
    with pytest.raises(Denied):
        audit_log.entries(data_dir, held)
    forged = Account("linqu", "admin", "")  # a widened copy of a real account is refused too
    account_commands.set_disabled(data_dir, people["nation"], "linqu", disabled=False)
    with pytest.raises(Denied):
        account_commands.listing(data_dir, forged)


def test_an_admin_cannot_disable_itself(data_dir, people):
    with pytest.raises(Denied) as e:
        account_commands.set_disabled(data_dir, people["linqu"], "linqu")
    assert e.value.key == "gate_not_yourself"


def test_a_county_admin_reads_only_its_regions_audit_entries_and_no_addresses(data_dir, people):
    audit.record(data_dir, people["changle"], "login", {"ip": "10.1.2.3"})
    audit.record(data_dir, people["linqu_viewer"], "login", {"ip": "10.9.9.9"})
    county = audit_log.entries(data_dir, people["linqu"])
    assert set(county["region"]) == {"370724"}
    assert "10.9.9.9" not in "".join(county["details"]) and "10.1.2.3" not in "".join(county["details"])
    national = audit_log.entries(data_dir, people["nation"])
    assert "10.1.2.3" in "".join(national["details"]) and {"370725", "370724", ""} <= set(national["region"])
    prefecture = audit_log.entries(data_dir, people["weifang"])
    assert "" not in set(prefecture["region"]) and "370725" in set(prefecture["region"])
    with pytest.raises(Denied):
        audit_log.entries(data_dir, people["linqu_viewer"])


@pytest.mark.parametrize("regions, expected", [(["370724"], "370724"), (["370724", "370725"], "3707"),
                                               (["370724", "341202"], ""), (["370724", ""], ""),
                                               (["370724", "370305"], "37"), ([], "")])
def test_the_audit_region_is_the_narrowest_region_holding_every_region_touched(regions, expected):
    assert gate.audit_region(regions) == expected


@pytest.mark.parametrize("outer, inner, inside", [("", "370724", True), ("37", "370724", True),
                                                  ("370724", "370724", True), ("370724", "37", False),
                                                  ("370724", "", False), ("3707", "370825", False),
                                                  ("37", "37'; --", False)])
def test_region_containment(outer, inner, inside):
    assert gate.contains(outer, inner) is inside


@pytest.fixture()
def demo_copy(tmp_path, demo_data):
    out = tmp_path / "data"
    shutil.copytree(demo_data, out)
    yield out
    database.dispose()


def test_a_county_admin_cannot_import_another_countys_schools_and_nothing_is_written(demo_copy, tmp_path):
    admin = make(demo_copy, "linqu", "admin", "370724")
    other = as_text(rows_2025(demo_copy, "370725"))
    path = tmp_path / "changle.csv"
    path.write_bytes(other.write_csv().encode("utf-8"))
    before = tree_digest(demo_copy / "snapshots")
    report, version = data_commands.import_file(demo_copy, admin, "school", path, 2025, "zh")
    assert version is None and report.error_count
    assert tree_digest(demo_copy / "snapshots") == before
    assert not audit.entries(demo_copy).filter(pl.col("action") == "import").height


def test_every_school_import_and_rollback_is_audited_with_the_counties_it_touched(demo_copy, tmp_path):
    admin = make(demo_copy, "linqu", "admin", "370724")
    own = as_text(rows_2025(demo_copy, "370724"))
    path = tmp_path / "linqu.csv"
    path.write_bytes(own.write_csv().encode("utf-8"))
    report, version = data_commands.import_file(demo_copy, admin, "school", path, 2025, "zh")
    assert version and not report.error_count
    data_commands.rollback(demo_copy, admin, "school", 2025, version, "zh")
    log = audit.entries(demo_copy).filter(pl.col("action").is_in(["import", "rollback"]))
    assert log["action"].to_list() == ["rollback", "import"]
    assert set(log["region"]) == {"370724"}
    assert all(json.loads(d)["counties"] == ["370724"] for d in log["details"])


def test_a_county_admin_cannot_roll_back_a_write_that_touched_other_counties(demo_copy):
    admin = make(demo_copy, "linqu", "admin", "370724")
    demo_version = store.versions(demo_copy).filter(pl.col("year") == 2025)["id"][0]
    with pytest.raises(store.StoreError):
        data_commands.rollback(demo_copy, admin, "school", 2025, demo_version, "zh")
    assert not audit.entries(demo_copy).filter(pl.col("action") == "rollback").height


def test_a_county_admin_sees_only_versions_that_touched_its_county_and_no_other_regions_file_names(demo_copy, tmp_path):
    make(demo_copy, "changle_admin", "admin", "370725")
    path = tmp_path / "secret-changle-file.csv"
    path.write_bytes(as_text(rows_2025(demo_copy, "370725")).write_csv().encode("utf-8"))
    data_commands.import_file(demo_copy, accounts.get(demo_copy, "changle_admin"), "school", path, 2025, "zh")
    linqu = make(demo_copy, "linqu", "admin", "370724")
    shown = data_commands.versions(demo_copy, linqu, "school", "zh")
    assert "secret-changle-file.csv" not in set(shown["source"])
    assert shown.height < store.versions(demo_copy).height


def test_school_level_exports_need_an_analyst_and_rows_outside_the_region_are_refused(data_dir, people):
    rows = pl.DataFrame({"county_code": ["370724"], "school_id": ["1"]})
    with pytest.raises(Denied):
        export_commands.table(data_dir, None, "t", "csv", rows, lambda f: b"x")
    with pytest.raises(Denied):
        export_commands.table(data_dir, people["linqu_viewer"], "t", "csv", rows, lambda f: b"x")
    analyst = make(data_dir, "lq_a", "analyst", "370724")
    assert export_commands.table(data_dir, analyst, "t", "csv", rows, lambda f: b"ok") == b"ok"
    with pytest.raises(Denied) as e:
        export_commands.table(data_dir, analyst, "t", "csv", pl.DataFrame({"county_code": ["370725"]}),
                              lambda f: b"x")
    assert e.value.key == "gate_outside_region"
    with pytest.raises(Denied):
        export_commands.table(data_dir, analyst, "t", "csv", rows, lambda f: b"x", regions=("3707",))
    log = audit.entries(data_dir).filter(pl.col("action") == "export")
    assert log.height == 1 and log["region"][0] == "370724"


def test_a_guest_may_download_a_table_that_is_not_school_level_and_it_is_audited(data_dir):
    assert export_commands.table(data_dir, None, "roadmap", "csv", pl.DataFrame({"a": [1]}), lambda f: b"ok",
                                 school_level=False) == b"ok"
    assert audit.entries(data_dir, limit=1)["account"][0] == "guest"


def test_cohorts_and_reports_are_released_only_inside_the_actors_region(demo_copy):
    from junheng.rules import cohort as grammar
    analyst = make(demo_copy, "lq_a", "analyst", "370724")
    viewer = make(demo_copy, "lq_v", "viewer", "370724")
    for region in ("3707", "370725", ""):
        with pytest.raises(Denied):
            export_commands.cohort(demo_copy, analyst, grammar.Cohort(region, 2024, 2025, ()), "csv", "zh")
    for where in ({"county": "370725"}, {"region": "3707"}, {"county": "341202"}):
        with pytest.raises(Denied):
            export_commands.report(demo_copy, analyst, 2025, "xlsx", "zh", **where)
    with pytest.raises(Denied):
        export_commands.cohort(demo_copy, viewer, grammar.Cohort("370724", 2024, 2025, ()), "csv", "zh")
    own = grammar.Cohort("370724", 2024, 2025, ())
    data, frame, _, _ = export_commands.cohort(demo_copy, analyst, own, "csv", "zh")
    assert data and frame.height and set(frame["county_code"]) == {"370724"}
    mine = audit.entries(demo_copy).filter((pl.col("account") == "lq_a") & (pl.col("action") == "export"))
    assert mine.height == 1 and mine["region"].to_list() == ["370724"]  # only the allowed export, audited there


def test_the_audit_list_shows_beijing_time_chinese_action_names_and_readable_details():
    from junheng.views import admin_tables
    entries = pl.DataFrame({"at": ["2026-12-06T23:30:05+00:00"], "account": ["linqu"], "region": ["370724"],
                            "action": ["import"],
                            "details": ['{"counties": ["370724"], "replace_year": false, "table": "county", '
                                        '"year": 2025}']})
    shown = admin_tables.audit_table(entries, "zh").row(0)
    assert shown[0] == "2026-12-07 07:30:05"  # UTC+8, the next day
    assert shown[3] == "导入数据"
    assert shown[4] == "涉及县（区）：370724；替换全年：否；数据表：county；年度：2025"
    unknown = admin_tables.audit_table(entries.with_columns(pl.lit("something_new").alias("action")), "en").row(0)
    assert unknown[3] == "something_new"


def test_a_pending_table_is_built_by_its_builder_and_audited_with_its_height(data_dir, people):
    class Pending:  # as the cohort page's rows: fetched by the builder when the button is clicked
        height = 7
    analyst = make(data_dir, "lq_a", "analyst", "370724")
    assert export_commands.table(data_dir, analyst, "cohort", "csv", Pending(), lambda p: b"%d" % p.height) == b"7"
    entry = audit.entries(data_dir, limit=1).row(0, named=True)
    assert entry["action"] == "export" and json.loads(entry["details"])["rows"] == 7


def _linqu_list(demo_frame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """临朐 2025's 整改清单 as the page shows it (school rows and school totals), from the rule code."""
    from junheng import settings
    from junheng.rules import rectification
    from junheng.views import rectification_views as views
    rows = demo_frame.filter((pl.col("county_code") == "370724") & (pl.col("year") == 2025))
    items, _ = rectification.rectification(rows, settings.load_thresholds())
    return views.school_list(items, "zh"), views.school_totals_list(rectification.school_totals(items), "zh")


def _audited(data_dir, account: str) -> list[dict]:
    log = audit.entries(data_dir).filter(pl.col("account") == account)
    return [{**r, "details": json.loads(r["details"])} for r in log.iter_rows(named=True)]


def test_every_reader_takes_the_rectification_list_away_but_left_behind_school_counts_stay_with_analysts(
        data_dir, people, demo_frame):
    from polars.testing import assert_frame_equal

    from junheng.reports import exports as files
    shown, totals = _linqu_list(demo_frame)
    assert shown.height > 20 and totals.height > 20  # the demo county has a list: the test can fail

    def xlsx(frame):
        return files.xlsx_bytes({"整改清单": frame})
    # a guest: the list and its school totals, rows exactly as shown, each audited as guest in the county
    got = export_commands.table(data_dir, None, "整改清单_370724_2025", "xlsx", shown, xlsx,
                                protected_counts=False, regions=("370724",))
    assert_frame_equal(pl.read_excel(got), shown, check_dtypes=False, rel_tol=1e-12)  # Excel keeps 15 digits
    export_commands.table(data_dir, None, "整改学校汇总_370724_2025", "csv", totals, files.csv_bytes,
                          protected_counts=False, regions=("370724",))
    # a table carrying schools' left-behind counts: refused to a guest and a viewer, whatever the caller says
    counts = pl.DataFrame({"学校名称": ["甲小学"], "留守儿童数": [12]})
    for actor, flag in ((None, None), (None, False), (people["linqu_viewer"], False)):
        with pytest.raises(Denied) as refused:
            export_commands.table(data_dir, actor, "care_gap_370724", "csv", counts, files.csv_bytes,
                                  protected_counts=flag, regions=("370724",))
        assert refused.value.key == "role_required"
    # a viewer outside the county: refused the list; the county's own viewer gets it
    with pytest.raises(Denied) as outside:
        export_commands.table(data_dir, people["changle"], "整改清单_370724_2025", "xlsx", shown, xlsx,
                              protected_counts=False, regions=("370724",))
    assert outside.value.key == "gate_outside_region"
    assert_frame_equal(pl.read_excel(export_commands.table(data_dir, people["linqu_viewer"], "整改清单_370724_2025",
                                                           "xlsx", shown, xlsx, protected_counts=False,
                                                           regions=("370724",))), shown, check_dtypes=False,
                       rel_tol=1e-12)
    guest = _audited(data_dir, "guest")
    assert [(e["action"], e["details"]["file"], e["details"].get("reason")) for e in guest] == [
        ("export_refused", "care_gap_370724", "role_required"), ("export_refused", "care_gap_370724", "role_required"),
        ("export", "整改学校汇总_370724_2025", None), ("export", "整改清单_370724_2025", None)]
    assert guest[-1]["details"]["rows"] == shown.height and guest[-1]["region"] == "370724"
    changle = _audited(data_dir, "changle")
    assert [(e["action"], e["details"]["reason"], e["region"]) for e in changle] == [
        ("export_refused", "gate_outside_region", "3707")]
    viewer = _audited(data_dir, "lq_v")
    assert [e["action"] for e in viewer] == ["export", "export_refused"]


def test_school_rows_without_a_flag_stay_with_analysts_as_before(data_dir, people):
    rows = pl.DataFrame({"county_code": ["370724"], "school_id": ["1"]})
    for actor in (None, people["linqu_viewer"]):
        with pytest.raises(Denied):
            export_commands.table(data_dir, actor, "t", "csv", rows, lambda f: b"x")
    assert export_commands.table(data_dir, None, "t", "csv", rows, lambda f: b"ok", protected_counts=False) == b"ok"

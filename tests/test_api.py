"""The HTTP API (issue 26): called over HTTP as a client would, against the launcher (junheng.tools.serve) on a copy
of the demo data. A token's file is the CLI's file for the same arguments; no token is 401, another region 403;
every call is in the audit log."""
import io
import json
import shutil
import urllib.error
import urllib.parse
import urllib.request

import polars as pl
import pytest

from junheng.access import audit, database
from junheng.access.accounts import SYSTEM, Account
from junheng.commands import gate
from junheng.commands import tokens as token_commands
from junheng.commands.gate import Denied
from junheng.tools import cli
from junheng.tools.api import RateLimiter

EPOCH = "1767225600"  # 2026-01-01: the generation time of both files, so that their bytes can be compared
WHERE = ["urban_rural = 乡村", "left_behind_share > 10%"]


@pytest.fixture(scope="module")
def api(tmp_path_factory, demo_data):
    """The launcher on a copy of the demo data, with a 临朐 (370724) analyst token and a 临朐 viewer token."""
    from junheng.tools.browser import streamlit_server
    data = tmp_path_factory.mktemp("api") / "data"
    shutil.copytree(demo_data, data)
    _, analyst = token_commands.add(data, SYSTEM, "lq_analyst", "analyst", "370724")
    _, viewer = token_commands.add(data, SYSTEM, "lq_viewer", "viewer", "370724")
    mp = pytest.MonkeyPatch()
    mp.setenv("SOURCE_DATE_EPOCH", EPOCH)
    try:
        with streamlit_server(data) as url:
            yield {"url": url, "data": data, "analyst": analyst, "viewer": viewer}
    finally:
        mp.undo()
        database.dispose()


def call(api, path: str, params=(), token: str | None = None):
    """(status, headers, body bytes) of a GET."""
    query = urllib.parse.urlencode(list(params))
    request = urllib.request.Request(f"{api['url']}{path}?{query}")
    if token:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=120) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def cli_file(api, tmp_path, kind: str, lang: str = "zh") -> bytes:
    out = tmp_path / f"cohort.{kind}"
    args = ["cohort", "--data-dir", str(api["data"]), "--region", "370724", "--year-from", "2020", "--year-to", "2025",
            "--format", kind, "--out", str(out), "--lang", lang]
    for w in WHERE:
        args += ["--where", w]
    assert cli.main(args) == 0
    return out.read_bytes()


def cohort_params(kind: str):
    return [("region", "370724"), ("year_from", "2020"), ("year_to", "2025"), *[("where", w) for w in WHERE],
            ("format", kind)]


@pytest.mark.parametrize("kind", ["csv", "parquet"])
def test_a_tokens_cohort_file_is_the_same_bytes_the_cli_writes(api, tmp_path, monkeypatch, kind):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    status, headers, body = call(api, "/api/v1/cohort", cohort_params(kind), api["analyst"])
    assert status == 200, body[:300]
    expected = cli_file(api, tmp_path, kind)
    assert body == expected
    rows = pl.read_csv(io.BytesIO(body)) if kind == "csv" else pl.read_parquet(io.BytesIO(body))
    assert rows.height == int(headers["X-Junheng-Rows"]) > 0
    assert set(rows["county_code"].cast(pl.String)) == {"370724"}


def test_the_api_answers_with_the_data_version_time_query_and_citation_as_headers(api):
    status, headers, body = call(api, "/api/v1/cohort", cohort_params("parquet"), api["analyst"])
    assert status == 200
    assert json.loads(headers["X-Junheng-Query"]) == {"region": "370724", "year_from": 2020, "year_to": 2025,
                                                      "where": ["urban_rural = rural", "left_behind_share > 0.1"],
                                                      "format": "parquet", "lang": "zh"}
    assert headers["X-Junheng-Generated-At"] == "2026-01-01T00:00:00+00:00"
    versions = json.loads(headers["X-Junheng-Data-Version"])
    assert sorted(versions) == [str(y) for y in range(2020, 2026)]
    manifest = json.loads((api["data"] / "manifest.json").read_text(encoding="utf-8"))
    assert all(manifest["years"][y]["current"] == v for y, v in versions.items())
    assert len(headers["X-Junheng-Data-Checksum"]) == 64
    assert headers["X-Junheng-Data-Checksum"][:12] in json.loads(headers["X-Junheng-Citation"])
    import pyarrow.parquet as pq
    meta = pq.read_schema(io.BytesIO(body)).metadata
    assert json.loads(meta[b"junheng.params"])["c0"] == "rural"  # JSON, not a Python repr
    assert json.loads(meta[b"junheng.data_checksum"]) == headers["X-Junheng-Data-Checksum"]


def test_the_json_format_holds_the_rows_the_dictionary_and_the_about(api):
    status, _, body = call(api, "/api/v1/cohort", cohort_params("json"), api["analyst"])
    out = json.loads(body)
    csv_status, csv_headers, _ = call(api, "/api/v1/cohort", cohort_params("csv"), api["analyst"])
    assert status == 200 and len(out["rows"]) == int(csv_headers["X-Junheng-Rows"])
    assert out["about"]["query"]["where"] == ["urban_rural = rural", "left_behind_share > 0.1"]
    assert {d["column"] for d in out["dictionary"]} >= {"school_id", "left_behind_share"}


@pytest.mark.parametrize("header", [None, "Bearer not-a-token", "Basic abc"])
def test_without_a_valid_token_the_answer_is_401_with_a_json_error_in_both_languages(api, header):
    request = urllib.request.Request(f"{api['url']}/api/v1/counties")
    if header:
        request.add_header("Authorization", header)
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(request, timeout=60)
    assert e.value.code == 401
    error = json.loads(e.value.read())["error"]
    assert error["code"] in ("api_no_token", "api_bad_token") and error["zh"] and error["en"]


@pytest.mark.parametrize("region", ["370725", "3707", "", "37"])
def test_a_region_outside_the_tokens_scope_is_403(api, region):
    status, _, body = call(api, "/api/v1/cohort", [("region", region), ("year_from", "2025")], api["analyst"])
    assert status == 403
    assert json.loads(body)["error"]["code"] == "gate_outside_region"
    status, _, _ = call(api, "/api/v1/evaluate", [("county", "370725"), ("year", "2025")], api["analyst"])
    assert status == 403


def test_a_viewer_token_reads_counties_and_evaluations_but_no_school_rows(api):
    status, _, body = call(api, "/api/v1/counties", (), api["viewer"])
    assert status == 200 and [c["county_code"] for c in json.loads(body)["counties"]] == ["370724"]
    status, _, body = call(api, "/api/v1/evaluate", [("county", "370724"), ("year", "2025")], api["viewer"])
    assert status == 200 and json.loads(body)["county_code"] == "370724"
    status, _, body = call(api, "/api/v1/cohort", [("region", "370724")], api["viewer"])
    assert status == 403 and json.loads(body)["error"]["code"] == "role_required"


@pytest.mark.parametrize("params, code", [
    ([("region", "37x")], "cohort_err_region"),
    ([("region", "370724"), ("where", "no_such_column > 1")], None),
    ([("region", "370724"), ("format", "exe")], "api_bad_parameter"),
    ([("region", "370724"), ("year_from", "1990")], "cohort_err_year"),
])
def test_a_bad_parameter_is_400_with_a_message_and_no_traceback_or_path(api, params, code):
    status, _, body = call(api, "/api/v1/cohort", [*params, ("lang", "en")], api["analyst"])
    assert status == 400
    error = json.loads(body)["error"]
    assert code is None or error["code"] == code
    assert "Traceback" not in body.decode() and str(api["data"]) not in body.decode()


def test_every_call_is_in_the_audit_log(api):
    before = audit.entries(api["data"]).height
    call(api, "/api/v1/counties", (), api["viewer"])
    call(api, "/api/v1/cohort", cohort_params("csv"), api["analyst"])
    call(api, "/api/v1/cohort", [("region", "370725")], api["analyst"])
    call(api, "/api/v1/counties")
    call(api, "/api/v1/cohort", [("region", "370724"), ("format", "exe")], api["analyst"])
    log = audit.entries(api["data"]).head(audit.entries(api["data"]).height - before)
    assert log.height == 5
    got = sorted(zip(log["account"], log["action"], log["region"]))
    assert got == sorted([("token:lq_viewer", "api_read", "370724"), ("token:lq_analyst", "export", "370724"),
                          ("token:lq_analyst", "api_refused", "370725"), ("api:anonymous", "api_refused", ""),
                          ("token:lq_analyst", "api_refused", "370724")])


def test_a_revoked_token_is_refused_at_its_next_call(api):
    _, token = token_commands.add(api["data"], SYSTEM, "short_lived", "viewer", "370724")
    assert call(api, "/api/v1/counties", (), token)[0] == 200
    token_commands.revoke(api["data"], SYSTEM, "short_lived")
    assert call(api, "/api/v1/counties", (), token)[0] == 401


def test_the_gate_rechecks_a_token_actor_against_the_tokens_table(tmp_path, boundary_dir):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    try:
        actor, _ = token_commands.add(tmp_path, SYSTEM, "t1", "analyst", "370724")
        assert gate.authorize(tmp_path, actor, "analyst", ("370724",)) == actor
        with pytest.raises(Denied):  # a caller cannot widen a token by building its own Account
            gate.authorize(tmp_path, Account("token:t1", "analyst", ""), "analyst", ("",))
        with pytest.raises(Denied):
            gate.authorize(tmp_path, Account("token:nobody", "admin", ""), "viewer")
        token_commands.revoke(tmp_path, SYSTEM, "t1")
        with pytest.raises(Denied):
            gate.authorize(tmp_path, actor, "viewer")
    finally:
        database.dispose()


def test_a_county_admin_gives_tokens_only_inside_its_county_and_never_a_higher_role(tmp_path, boundary_dir):
    from junheng.commands import accounts as account_commands
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    try:
        admin = account_commands.add(tmp_path, SYSTEM, "lq_admin", "admin", "370724", "correct horse battery")
        analyst = account_commands.add(tmp_path, SYSTEM, "lq_an", "analyst", "370724", "correct horse battery")
        with pytest.raises(Denied):
            token_commands.add(tmp_path, admin, "wide", "analyst", "3707")
        with pytest.raises(Denied):
            token_commands.add(tmp_path, analyst, "mine", "viewer", "370724")
        made, token = token_commands.add(tmp_path, admin, "ok", "analyst", "370724")
        assert made.name == "token:ok" and len(token) >= 40
        assert token not in (tmp_path / "access.sqlite3").read_bytes().decode("latin-1")  # only its hash is kept
        assert [r["name"] for r in token_commands.listing(tmp_path, admin)] == ["ok"]
        assert audit.entries(tmp_path, limit=1)["action"][0] == "token_add"
    finally:
        database.dispose()


def test_the_cli_prints_the_token_as_the_last_line_and_lists_and_revokes_it(tmp_path, boundary_dir, capsys):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    try:
        assert cli.main(["tokens", "add", "paper", "--role", "analyst", "--region", "370724",
                         "--data-dir", str(tmp_path)]) == 0
        token = capsys.readouterr().out.strip().splitlines()[-1]
        assert token_commands.authenticate(tmp_path, token).name == "token:paper"
        assert cli.main(["tokens", "list", "--data-dir", str(tmp_path)]) == 0
        assert capsys.readouterr().out.split("\t")[:3] == ["paper", "analyst", "370724"]
        assert cli.main(["tokens", "revoke", "paper", "--data-dir", str(tmp_path)]) == 0
        with pytest.raises(Denied):
            token_commands.authenticate(tmp_path, token)
    finally:
        database.dispose()


def test_the_rate_limit_is_a_sliding_window_per_key():
    limiter = RateLimiter(limit=3, window_s=10)
    assert [limiter.allow("a", now=t) for t in (0, 1, 2)] == [0, 0, 0]
    assert limiter.allow("a", now=3) == pytest.approx(7)  # the first call leaves the window at 10
    assert limiter.allow("b", now=3) == 0                 # another token counts on its own
    assert limiter.allow("a", now=10.5) == 0


@pytest.mark.parametrize("extra, cli_extra", [([("follow_year", "2020")], ["--follow-year", "2020"]),
                                              ([("panel", "county")], ["--panel", "county"])])
def test_fixed_membership_and_panels_are_the_clis_files_too(api, tmp_path, monkeypatch, extra, cli_extra):
    monkeypatch.setenv("SOURCE_DATE_EPOCH", EPOCH)
    status, headers, body = call(api, "/api/v1/cohort", [*cohort_params("csv"), *extra], api["analyst"])
    assert status == 200, body[:300]
    out = tmp_path / "c.csv"
    args = ["cohort", "--data-dir", str(api["data"]), "--region", "370724", "--year-from", "2020", "--year-to", "2025",
            "--format", "csv", "--out", str(out), *cli_extra]
    for w in WHERE:
        args += ["--where", w]
    assert cli.main(args) == 0
    assert body == out.read_bytes()
    assert {k: v for k, v in json.loads(headers["X-Junheng-Query"]).items() if k in ("follow_year", "panel")} == {
        k: (int(v) if k == "follow_year" else v) for k, v in extra}


def test_a_followed_year_outside_the_range_is_400(api):
    status, _, body = call(api, "/api/v1/cohort", [("region", "370724"), ("year_from", "2020"),
                                                   ("follow_year", "2016")], api["analyst"])
    assert status == 400 and json.loads(body)["error"]["code"] == "cohort_err_follow"

"""Accounts, sessions, the audit log and the command line that manages them (issue 11)."""
import io
import os
import shutil
import stat
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from junheng.access import accounts, audit, database, sessions
from junheng.access.accounts import SYSTEM, AccountError
from junheng.commands import accounts as commands_accounts


@pytest.fixture()
def data_dir(tmp_path, boundary_dir):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    yield tmp_path
    database.dispose()


def test_passwords_are_stored_as_argon2_hashes(data_dir):
    commands_accounts.add(data_dir, SYSTEM, "chief", "admin", "", "correct horse")
    with database.engine(data_dir).connect() as con:
        stored = con.execute(sa.select(database.accounts.c.password_hash)).scalar_one()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert stat.S_IMODE(os.stat(data_dir / "access.sqlite3").st_mode) == 0o600


@pytest.mark.parametrize("name, password", [("chief", "wrong password"), ("nobody", "correct horse")])
def test_a_wrong_password_and_an_unknown_user_get_the_same_message(data_dir, name, password):
    commands_accounts.add(data_dir, SYSTEM, "chief", "admin", "", "correct horse")
    with pytest.raises(AccountError) as e:
        accounts.verify(data_dir, name, password)
    assert e.value.key == "login_wrong"


def test_a_disabled_account_cannot_log_in_and_its_sessions_end(data_dir):
    account = commands_accounts.add(data_dir, SYSTEM, "county", "viewer", "370724", "correct horse")
    sid, ticket = sessions.start(data_dir, account)
    cookie = sessions.exchange(data_dir, ticket)
    assert sessions.account_for(data_dir, cookie)[0] == account
    commands_accounts.set_disabled(data_dir, SYSTEM, "county")
    with pytest.raises(AccountError) as e:
        accounts.verify(data_dir, "county", "correct horse")
    assert e.value.key == "login_disabled"
    assert sessions.account_for(data_dir, cookie) == (None, None, "session_ended")


def test_failed_logins_are_rate_limited_even_with_the_right_password(data_dir):
    commands_accounts.add(data_dir, SYSTEM, "chief", "admin", "", "correct horse")
    for _ in range(accounts.MAX_FAILURES["user"]):
        with pytest.raises(AccountError):
            accounts.verify(data_dir, "chief", "guess", ip="10.0.0.9")
    with pytest.raises(AccountError) as e:
        accounts.verify(data_dir, "chief", "correct horse", ip="10.0.0.7")
    assert e.value.key == "login_too_many"


def test_failed_logins_from_one_address_are_rate_limited_across_names(data_dir):
    commands_accounts.add(data_dir, SYSTEM, "chief", "admin", "", "correct horse")
    for n in range(accounts.MAX_FAILURES["ip"]):
        with pytest.raises(AccountError):
            accounts.verify(data_dir, f"user{n}", "guess", ip="10.0.0.9")
    with pytest.raises(AccountError) as e:
        accounts.verify(data_dir, "chief", "correct horse", ip="10.0.0.9")
    assert e.value.key == "login_too_many"
    assert accounts.verify(data_dir, "chief", "correct horse", ip="10.0.0.10").name == "chief"


@pytest.mark.parametrize("region, key", [("379999", "account_unknown_region"), ("99", "account_unknown_region"),
                                         ("37072", "account_bad_region"), ("abc", "account_bad_region")])
def test_a_region_that_does_not_exist_is_refused(data_dir, region, key):
    with pytest.raises(AccountError) as e:
        commands_accounts.add(data_dir, SYSTEM, "x", "viewer", region, "correct horse")
    assert e.value.key == key
    assert accounts.listing(data_dir) == []


@pytest.mark.parametrize("region", ["", "37", "3707", "370724"])
def test_real_regions_are_accepted(data_dir, region):
    assert commands_accounts.add(data_dir, SYSTEM, "x", "viewer", region, "correct horse").scope.region == region


def test_a_tampered_cookie_is_refused(data_dir):
    account = commands_accounts.add(data_dir, SYSTEM, "x", "viewer", "370724", "correct horse")
    cookie = sessions.exchange(data_dir, sessions.start(data_dir, account)[1])
    body, signature = cookie.rsplit(".", 1)
    forged = sessions.URLSafeTimedSerializer(b"another secret", salt="junheng-session").dumps({"sid": "x"})
    for bad in (body + "." + signature[::-1], forged, "garbage", cookie[:-2]):
        assert sessions.account_for(data_dir, bad) == (None, None, "session_invalid")


def test_an_expired_cookie_is_refused(data_dir, monkeypatch):
    account = commands_accounts.add(data_dir, SYSTEM, "x", "viewer", "", "correct horse")
    cookie = sessions.exchange(data_dir, sessions.start(data_dir, account)[1])
    later = datetime.now(UTC).timestamp() + sessions.hours() * 3600 + 60
    monkeypatch.setattr("itsdangerous.timed.time.time", lambda: later)
    assert sessions.account_for(data_dir, cookie) == (None, None, "session_expired")


def test_a_ticket_is_exchanged_once_and_log_out_ends_the_session(data_dir):
    account = commands_accounts.add(data_dir, SYSTEM, "x", "viewer", "", "correct horse")
    sid, ticket = sessions.start(data_dir, account)
    cookie = sessions.exchange(data_dir, ticket)
    assert cookie and sessions.exchange(data_dir, ticket) is None
    assert sessions.exchange(data_dir, ticket[:-3] + "abc") is None
    assert sessions.account_for(data_dir, cookie)[:2] == (account, sid)
    sessions.end(data_dir, sessions.cookie_session(data_dir, cookie))
    assert sessions.account_for(data_dir, cookie) == (None, None, "session_ended")


def test_the_signing_secret_is_made_once_and_owner_only(data_dir):
    first = sessions.secret(data_dir)
    assert len(first) == 32 and sessions.secret(data_dir) == first
    assert stat.S_IMODE(os.stat(data_dir / "secret.key").st_mode) == 0o600


def test_every_login_and_change_is_audited_and_the_log_is_append_only(data_dir):
    commands_accounts.add(data_dir, SYSTEM, "chief", "admin", "", "correct horse")
    accounts.verify(data_dir, "chief", "correct horse", ip="1.2.3.4")
    with pytest.raises(AccountError):
        accounts.verify(data_dir, "chief", "nope")
    commands_accounts.set_password(data_dir, SYSTEM, "chief", "another horse")
    log = audit.entries(data_dir)
    assert log["action"].to_list() == ["account_password", "login_failed", "login", "account_add"]
    assert log["account"].to_list() == ["system", "chief", "chief", "system"]
    with database.engine(data_dir).begin() as con, pytest.raises(sa.exc.DatabaseError, match="append-only"):
        con.execute(sa.text("delete from audit"))
    with database.engine(data_dir).begin() as con, pytest.raises(sa.exc.DatabaseError, match="append-only"):
        con.execute(sa.text("update audit set action = 'nothing'"))
    assert audit.entries(data_dir).height == 4


def _cli(monkeypatch, capsys, args, stdin=""):
    from junheng.tools import cli
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    code = cli.main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_command_line_users_and_audit(data_dir, monkeypatch, capsys):
    d = ["--data-dir", str(data_dir), "--lang", "en"]
    assert _cli(monkeypatch, capsys, ["users", "add", "chief", "--role", "admin", "--password-stdin", *d],
                "correct horse\n")[0] == 0
    assert _cli(monkeypatch, capsys, ["users", "add", "linqu", "--region", "370724", "--password-stdin", *d],
                "correct horse\n")[0] == 0
    code, _, err = _cli(monkeypatch, capsys, ["users", "add", "x", "--region", "379999", "--password-stdin", *d],
                        "correct horse\n")
    assert code == 1 and "379999" in err and "does not exist" in err and "Traceback" not in err
    assert _cli(monkeypatch, capsys, ["users", "disable", "linqu", *d])[0] == 0
    assert _cli(monkeypatch, capsys, ["users", "passwd", "chief", "--password-stdin", *d], "new horse 2\n")[0] == 0
    code, out, _ = _cli(monkeypatch, capsys, ["users", "list", *d])
    assert out.splitlines() == ["chief\tadmin\tall\tactive", "linqu\tviewer\t370724\tdisabled"]
    assert accounts.verify(data_dir, "chief", "new horse 2").name == "chief"
    code, out, _ = _cli(monkeypatch, capsys, ["audit", "--since", "2000-01-01", *d])
    actions = [line.split("\t")[3] for line in out.splitlines()]
    assert actions == ["account_add", "account_add", "account_disable", "account_password", "login"]
    assert all(line.split("\t")[1] in ("system", "chief") for line in out.splitlines())
    code, _, err = _cli(monkeypatch, capsys, ["audit", "--since", "yesterday", *d])
    assert code == 1 and "not a date" in err

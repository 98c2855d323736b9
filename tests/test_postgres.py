"""The account, audit and import tests again, against a real PostgreSQL server (tests/pg.py starts one).

The test functions are those of test_access, test_import and test_import_hostile, collected again here; the
fixtures below give each a fresh PostgreSQL database through JUNHENG_DATABASE_URL.
"""
import shutil

import pytest
import sqlalchemy as sa

from junheng.access import database
from junheng.access.accounts import SYSTEM
from junheng.commands import accounts as commands_accounts
from junheng.data import backend, store
from tests.test_access import *  # noqa: F401,F403
from tests.test_access import test_passwords_are_stored_as_argon2_hashes as _sqlite_only  # noqa: F401
from tests.test_import import (  # noqa: F401
    test_a_county_file_replaces_its_county_only_and_undo_restores_it,
    test_a_second_import_waits_for_the_lock_or_says_why,
    test_an_account_imports_only_its_region,
    test_replace_year_replaces_the_whole_year,
)
from tests.test_import_hostile import (  # noqa: F401
    test_a_hard_crash_after_the_commit_is_finished_by_recover,
    test_every_step_of_a_write_can_fail_and_the_store_stays_consistent,
    test_store_messages_name_no_server_path,
)

# it checks the SQLite file's mode; see the PostgreSQL one below
del test_passwords_are_stored_as_argon2_hashes  # noqa: F821 - defined by the star import from tests.test_access


@pytest.fixture()
def data_dir(tmp_path, boundary_dir, postgres_url):
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    yield tmp_path


@pytest.fixture()
def data(tmp_path, demo_data, postgres_url):
    out = tmp_path / "data"
    shutil.copytree(demo_data, out, ignore=shutil.ignore_patterns("access.sqlite3*"))
    return out


@pytest.fixture()
def tiny_data(tiny_data, postgres_url):
    return tiny_data


def test_accounts_live_in_postgresql_not_in_the_data_directory(data_dir, postgres_url):
    commands_accounts.add(data_dir, SYSTEM, "chief", "admin", "", "correct horse")
    eng = database.engine(data_dir)
    assert eng.dialect.name == "postgresql"
    with eng.connect() as con:
        stored = con.execute(sa.select(database.accounts.c.password_hash)).scalar_one()
        triggers = con.execute(sa.text("select tgname from pg_trigger where tgrelid = 'audit'::regclass "
                                       "and not tgisinternal")).scalars().all()
    assert stored.startswith("$argon2id$") and "correct horse" not in stored
    assert triggers == ["audit_no_change"]
    assert not (data_dir / "access.sqlite3").exists()


def test_the_write_lock_is_an_advisory_lock_held_across_connections(data_dir, postgres_url):
    assert isinstance(store.lock(data_dir), backend.AdvisoryLock)
    with store.lock(data_dir):
        with database.engine(data_dir).connect() as con:
            held = con.execute(sa.text("select count(*) from pg_locks where locktype = 'advisory' "
                                       "and objid = :key and granted"), {"key": backend.ADVISORY_KEY}).scalar_one()
            assert held == 1
        with pytest.raises(store.Timeout):
            with store.lock(data_dir, timeout=0.3):
                pass
    with store.lock(data_dir, timeout=0):  # released: free again at once
        pass
    assert not (data_dir / store.LOCK_NAME).exists()  # no lock file on a shared store


def test_servers_starting_at_once_create_the_tables_once(data_dir, postgres_url):
    from tests.test_scale import at_once
    results = at_once("from junheng.access import database", "database.engine(sys.argv[1])", 4, str(data_dir))
    assert [code for code, _, _ in results] == [0, 0, 0, 0], [err[-300:] for _, _, err in results]
    with database.engine(data_dir).connect() as con:
        tables = con.execute(
            sa.text("select tablename from pg_tables where schemaname = 'public' order by 1")).scalars()
        assert list(tables) == ["accounts", "api_tokens", "audit", "login_failures", "sessions"]

"""A real PostgreSQL server for the tests: initdb into a temporary folder, pg_ctl start on a free local port.

Nothing is installed here (`make system` installs the Debian package postgresql); where the server binaries
are missing, the tests that need it are skipped and say why. PostgreSQL refuses to run as root: as root the
server runs as the Debian package's user postgres (runuser).
"""
from __future__ import annotations

import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid

import pytest

from junheng.tools.browser import free_port

SERVER_USER = "postgres"


def binary(name: str) -> str | None:
    """A PostgreSQL server program: on PATH, else the newest under /usr/lib/postgresql (Debian's layout)."""
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), key=lambda p: int(p.split("/")[4]))
    return shutil.which(name) or (found[-1] if found else None)


@pytest.fixture(scope="session")
def postgres_server():
    """The base URL (no database) of a PostgreSQL server started for this test run, stopped at its end."""
    initdb, pg_ctl = binary("initdb"), binary("pg_ctl")
    if not initdb or not pg_ctl:
        pytest.skip("PostgreSQL server programs not found (Debian package postgresql; `make system` installs it)")
    as_user = []
    folder = tempfile.mkdtemp(prefix="junheng-pg-")
    if os.geteuid() == 0:
        try:
            account = pwd.getpwnam(SERVER_USER)
        except KeyError:
            pytest.skip(f"running as root and there is no user {SERVER_USER} to run PostgreSQL as")
        os.chown(folder, account.pw_uid, account.pw_gid)
        as_user = ["runuser", "-u", SERVER_USER, "--"]
    data, port = os.path.join(folder, "data"), free_port()
    subprocess.run([*as_user, initdb, "-D", data, "-U", "junheng", "--auth=trust", "-E", "UTF8", "--no-locale"],
                   check=True, capture_output=True)
    # fsync off: a throwaway server whose durability no test measures
    options = f"-p {port} -k {folder} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
    subprocess.run([*as_user, pg_ctl, "-D", data, "-o", options, "-l", os.path.join(folder, "log"), "-w", "start"],
                   check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://junheng@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, pg_ctl, "-D", data, "-m", "immediate", "stop"], capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def _admin(server: str, statement: str) -> None:
    import psycopg
    with psycopg.connect(server.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as con:
        con.execute(statement)


@pytest.fixture()
def postgres_url(postgres_server, monkeypatch):
    """A fresh, empty database on the test server, set as JUNHENG_DATABASE_URL for the test; dropped after."""
    from junheng.access import database
    name = f"t_{uuid.uuid4().hex[:12]}"
    _admin(postgres_server, f"create database {name}")
    monkeypatch.setenv("JUNHENG_DATABASE_URL", f"{postgres_server}/{name}")
    yield f"{postgres_server}/{name}"
    database.dispose()
    _admin(postgres_server, f"drop database {name} with (force)")

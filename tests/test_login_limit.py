"""The failed-login limit holds under guesses sent at once (issue 22, part 4): an attempt is recorded before its
password is checked, in one serialized transaction with the count, on SQLite and on PostgreSQL alike."""
import shutil
import threading

import pytest

from junheng.access import accounts, audit, database
from junheng.access.accounts import AccountError
from tests.conftest import PASSWORD, add_account


@pytest.fixture(params=["sqlite", "postgresql"])
def data_dir(request, tmp_path, boundary_dir):
    if request.param == "postgresql":
        request.getfixturevalue("postgres_url")  # a fresh database on tests/pg.py's server (skipped without one)
    shutil.copytree(boundary_dir, tmp_path / "boundaries")
    yield tmp_path
    database.dispose()


class CountingHasher:
    """The real Argon2 hasher, counting how many passwords it was asked to check."""

    def __init__(self, hasher):
        self.hasher, self.checks, self.lock = hasher, 0, threading.Lock()

    def verify(self, digest, password):
        with self.lock:
            self.checks += 1
        return self.hasher.verify(digest, password)

    def hash(self, password):
        return self.hasher.hash(password)


@pytest.fixture()
def hasher(monkeypatch):
    counting = CountingHasher(accounts._hasher)
    monkeypatch.setattr(accounts, "_hasher", counting)
    return counting


def at_once(attempts: list[tuple[str, str, str]], data_dir) -> list[str]:
    """Each (name, password, address) tried by its own thread, all released together; the outcome keys."""
    start, outcomes = threading.Barrier(len(attempts)), [None] * len(attempts)

    def attempt(i, name, password, ip):
        start.wait()
        try:
            accounts.verify(data_dir, name, password, ip=ip)
            outcomes[i] = "login"
        except AccountError as e:
            outcomes[i] = e.key

    threads = [threading.Thread(target=attempt, args=(i, *a)) for i, a in enumerate(attempts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return outcomes


def _actions(data_dir) -> list[str]:
    return audit.entries(data_dir)["action"].to_list()


def test_forty_wrong_guesses_at_once_for_one_name_get_five_password_checks(data_dir, hasher):
    add_account(data_dir, "chief", "admin")
    outcomes = at_once([("chief", f"guess {n}", f"10.0.{n}.1") for n in range(40)], data_dir)
    assert sorted(set(outcomes)) == ["login_too_many", "login_wrong"]
    assert outcomes.count("login_wrong") == accounts.MAX_FAILURES["user"] == 5
    assert outcomes.count("login_too_many") == 35
    assert hasher.checks == 5
    actions = _actions(data_dir)
    assert actions.count("login_failed") == 5 and actions.count("login_refused") == 35


def test_sixty_wrong_guesses_at_once_from_one_address_get_twenty_password_checks(data_dir, hasher):
    outcomes = at_once([(f"user{n}", "guess", "10.0.0.9") for n in range(60)], data_dir)
    assert outcomes.count("login_wrong") == accounts.MAX_FAILURES["ip"] == 20
    assert outcomes.count("login_too_many") == 40
    assert hasher.checks == 20


def test_the_right_password_leaves_no_failure_behind(data_dir, hasher):
    add_account(data_dir, "chief", "admin")
    for _ in range(8):  # more successes than the limit of failures: none of them counts
        assert accounts.verify(data_dir, "chief", PASSWORD, ip="10.0.0.1").name == "chief"
    for _ in range(4):
        with pytest.raises(AccountError):
            accounts.verify(data_dir, "chief", "guess", ip="10.0.0.1")
    assert accounts.verify(data_dir, "chief", PASSWORD, ip="10.0.0.1").name == "chief"  # 4 failures: still allowed
    with pytest.raises(AccountError) as wrong:
        accounts.verify(data_dir, "chief", "guess", ip="10.0.0.1")  # the fifth failure
    with pytest.raises(AccountError) as refused:
        accounts.verify(data_dir, "chief", PASSWORD, ip="10.0.0.1")
    assert (wrong.value.key, refused.value.key) == ("login_wrong", "login_too_many")
    assert hasher.checks == 8 + 4 + 1 + 1  # the refused attempt was never checked


def test_a_right_password_among_guesses_at_once_is_checked_only_while_under_the_limit(data_dir, hasher):
    add_account(data_dir, "chief", "admin")
    outcomes = at_once([("chief", "guess", "10.0.0.2")] * 20 + [("chief", PASSWORD, "10.0.0.3")], data_dir)
    # whatever the order, never more than five attempts are counted at once: the right one either got in
    # (claimed while fewer than five were counted, its claim dropped once the password proved right) or was
    # refused unchecked; a wrong one that came while the right one was being checked may have been refused
    wrong = outcomes.count("login_wrong")
    assert 4 <= wrong <= 5 and outcomes[-1] in ("login", "login_too_many")
    assert hasher.checks == wrong + (outcomes[-1] == "login")


def test_the_lock_numbers_are_signed_32_bit_integers():
    numbers = [database._lock_number(f"user:{n}") for n in range(2000)]
    assert all(-2**31 <= n < 2**31 for n in numbers) and min(numbers) < 0 < max(numbers)
    assert database._lock_number("ip:10.0.0.9") == database._lock_number("ip:10.0.0.9")

"""The results cache shared by sessions: bounded by bytes and age, one build per key."""
import threading
import time

import polars as pl

from junheng.views import shared


def frame(mb: int) -> pl.DataFrame:
    return pl.DataFrame({"x": pl.zeros(mb * shared.MB // 8, dtype=pl.Float64, eager=True)})


def test_the_cache_holds_no_more_bytes_than_its_budget_and_drops_the_least_recently_used():
    cache = shared.SharedResults(max_bytes=40 * shared.MB, ttl_s=3600)
    for key in "abc":
        cache.get(key, lambda: frame(10))
    assert len(cache) == 3 and cache.bytes == 30 * shared.MB
    cache.get("a", lambda: frame(10))  # a is now the most recently used
    cache.get("d", lambda: frame(10))
    cache.get("e", lambda: frame(10))  # 50 MB asked: b (the least recently used) goes
    assert cache.bytes <= 40 * shared.MB
    built = []
    cache.get("b", lambda: built.append("b") or frame(10))
    cache.get("a", lambda: built.append("a") or frame(10))
    assert built == ["b"]


def test_a_result_larger_than_a_quarter_of_the_budget_is_returned_but_not_kept():
    cache = shared.SharedResults(max_bytes=40 * shared.MB, ttl_s=3600)
    big = cache.get("big", lambda: frame(11))
    assert big.height == 11 * shared.MB // 8
    assert len(cache) == 0 and cache.bytes == 0
    assert cache.get("small", lambda: frame(10)).height and len(cache) == 1


def test_results_expire_after_their_time():
    now = [0.0]
    cache = shared.SharedResults(max_bytes=40 * shared.MB, ttl_s=60, timer=lambda: now[0])
    calls = []
    cache.get("a", lambda: calls.append(1) or frame(1))
    now[0] = 59
    cache.get("a", lambda: calls.append(1) or frame(1))
    now[0] = 61
    cache.get("a", lambda: calls.append(1) or frame(1))
    assert len(calls) == 2


def test_sessions_asking_for_one_result_at_once_build_it_once():
    cache = shared.SharedResults(max_bytes=40 * shared.MB, ttl_s=3600)
    calls, go = [], threading.Event()

    def build():
        calls.append(1)
        time.sleep(0.2)
        return frame(1)

    def ask():
        go.wait()
        cache.get("k", build)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for th in threads:
        th.start()
    go.set()
    for th in threads:
        th.join()
    assert len(calls) == 1


def test_a_failed_build_is_not_kept_and_is_tried_again():
    cache = shared.SharedResults(max_bytes=40 * shared.MB, ttl_s=3600)

    def fail():
        raise ValueError("no")

    try:
        cache.get("k", fail)
    except ValueError:
        pass
    assert cache.get("k", lambda: frame(1)).height and len(cache) == 1


def test_sizes_count_the_frames_inside_containers():
    assert shared.size_of({"a": frame(2), "b": [frame(1), frame(1)]}) >= 4 * shared.MB

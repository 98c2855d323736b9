"""Results shared by every session of one app server, bounded by the memory they take (issue 15: server memory
≤ 1.5 GB after a benchmark pass, no growth per session).

Streamlit's caches bound the number of entries, not their size: 48 query results were anything from 48 small
tables to 48 national frames of 60 MB. Here each result is counted by its size (a Polars frame's estimated
size, containers by their items), the least recently used go first when the budget is full, each lives at most
`ttl_s`, and a result larger than a quarter of the budget is handed out but not kept. One build per key at a
time: sessions asking for the same result while it is built wait for it instead of building it again.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable, Hashable
from typing import Any

import cachetools
import polars as pl

MB = 2**20


def size_of(value: Any, depth: int = 0) -> int:
    """Bytes a result holds, roughly: frames by Polars' estimate, containers by their items (two levels deep)."""
    if isinstance(value, pl.DataFrame | pl.Series):
        return int(value.estimated_size())
    if depth < 3 and isinstance(value, dict):
        return sys.getsizeof(value) + sum(size_of(k, depth + 1) + size_of(v, depth + 1) for k, v in value.items())
    if depth < 3 and isinstance(value, list | tuple | set | frozenset):
        return sys.getsizeof(value) + sum(size_of(v, depth + 1) for v in value)
    if hasattr(value, "__dict__") and depth < 3:
        return sys.getsizeof(value) + size_of(vars(value), depth + 1)
    return sys.getsizeof(value)


class SharedResults:
    """A thread-safe LRU of results bounded by bytes and age; `get(key, build)` builds once per key."""

    def __init__(self, max_bytes: int, ttl_s: float, timer: Callable[[], float] | None = None):
        self.max_bytes = max_bytes
        kwargs = {"timer": timer} if timer else {}
        self._cache = cachetools.TTLCache(maxsize=max_bytes, ttl=ttl_s, getsizeof=size_of, **kwargs)
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}

    def get(self, key: Hashable, build: Callable[[], Any]) -> Any:
        with self._lock:
            try:
                return self._cache[key]
            except KeyError:
                pass
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._lock:  # another session may have built it while this one waited
                try:
                    return self._cache[key]
                except KeyError:
                    pass
            try:
                value = build()
                with self._lock:
                    if size_of(value) <= self.max_bytes // 4:
                        self._cache[key] = value
            finally:
                with self._lock:
                    self._building.pop(key, None)
            return value

    @property
    def bytes(self) -> int:
        with self._lock:
            self._cache.expire()
            return int(self._cache.currsize)

    def __len__(self) -> int:
        with self._lock:
            self._cache.expire()
            return len(self._cache)

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

"""County search by name, code or pinyin (initials such as "yy" or whole syllables such as "yiyuan" find 沂源县).

Pure: the index is built once from the counties a visitor may see; a name's every reading counts (长 is chang and
zhang), so a polyphonic name is found under each of them.
"""
from __future__ import annotations

import itertools
import re

import polars as pl
from pypinyin import Style, pinyin

MAX_READINGS = 16   # readings kept per name (polyphones multiply them)
MAX_RESULTS = 8


def readings(name: str) -> tuple[list[str], list[str]]:
    """(initials, whole pinyin) of every reading of name, lower case, e.g. 沂源县 -> (['yyx'], ['yiyuanxian'])."""
    letters = pinyin(name, style=Style.FIRST_LETTER, heteronym=True, errors="ignore")
    syllables = pinyin(name, style=Style.NORMAL, heteronym=True, errors="ignore")
    initials = ["".join(p) for p in itertools.islice(itertools.product(*letters), MAX_READINGS)]
    whole = ["".join(p) for p in itertools.islice(itertools.product(*syllables), MAX_READINGS)]
    return sorted({s.lower() for s in initials}), sorted({s.lower() for s in whole})


def index(counties: pl.DataFrame) -> list[dict]:
    """One entry per county: code, name, where (prefecture and province names), initials, whole pinyin."""
    out = []
    for row in counties.iter_rows(named=True):
        initials, whole = readings(row["county_name"])
        out.append({"code": row["county_code"], "name": row["county_name"],
                    "where": f"{row.get('province_name') or ''}{row.get('prefecture_name') or ''}",
                    "initials": initials, "whole": whole})
    return out


def search(entries: list[dict], text: str, limit: int = MAX_RESULTS) -> list[dict]:
    """The counties text finds, best first: by code prefix (digits), pinyin initials or syllables (letters),
    or name (anything else; a county whose name starts with it first)."""
    text = re.sub(r"\s+", "", text or "").lower()[:32]
    if not text:
        return []
    if text.isdigit():
        hits = [(0 if e["code"] == text else 1, e) for e in entries if e["code"].startswith(text)]
    elif text.isascii() and text.isalpha():
        hits = [(0 if text in e["initials"] else 1 if any(i.startswith(text) for i in e["initials"]) else 2, e)
                for e in entries
                if any(i.startswith(text) for i in e["initials"]) or any(w.startswith(text) for w in e["whole"])]
    else:
        hits = [(0 if e["name"].startswith(text) else 1, e) for e in entries if text in e["name"]]
    return [e for _, e in sorted(hits, key=lambda h: (h[0], h[1]["code"]))][:limit]

"""Shared-link parameters (?county=370724&year=2024&lang=en): each checked for type, length and known value
before use; an invalid one is ignored with a one-line notice naming it (never a traceback, never a hang)."""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from junheng import escape
from junheng.i18n import t

MAX_LENGTH = 64  # no valid parameter value is longer; longer ones are refused before any other work


@dataclass(frozen=True)
class Param:
    name: str
    pattern: str        # the whole value must match
    known: str = ""     # which set of known values it must be in: 'county', 'year', 'lang' or '' (pattern only)


PARAMS = (
    Param("county", r"\d{6}", "county"),
    Param("year", r"\d{4}", "year"),
    Param("lang", r"zh|en", "lang"),
)
BY_NAME = {p.name: p for p in PARAMS}


@dataclass
class Link:
    values: dict[str, str] = field(default_factory=dict)   # valid parameters only
    notices: list[str] = field(default_factory=list)        # one line per refused parameter


def check(name: str, raw, known: dict[str, set[str]] | None = None) -> str | None:
    """The reason raw cannot be used for parameter name ('' or None: it can). known: name -> allowed values."""
    spec = BY_NAME.get(name)
    if spec is None:
        return None
    value = raw if isinstance(raw, str) else ""
    if len(value) > MAX_LENGTH:
        return "too_long"
    if not re.fullmatch(spec.pattern, value):
        return "malformed"
    if known and spec.known in known and value not in known[spec.known]:
        return "unknown"
    return None


def parse(params, lang: str, known: dict[str, set[str]] | None = None, names=None) -> Link:
    """Validate the link's parameters (a mapping of name -> value). Unknown names are left to their pages."""
    link = Link()
    for name in names or BY_NAME:
        if name not in params:
            continue
        raw = params[name]
        problem = check(name, raw, known)
        if problem:
            shown = escape.markdown(str(raw), limit=24)
            link.notices.append(t(f"link_{problem}", lang, name=name, value=shown))
        else:
            link.values[name] = raw
    return link

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
    known: str = ""     # which set of known values it must be in: 'county', 'region', 'year', 'lang' or ''


PARAMS = (
    Param("county", r"\d{6}", "county"),
    Param("region", r"\d{2}|\d{4}|\d{6}", "region"),  # a county too, as `junheng cohort --region` takes
    Param("year", r"\d{4}", "year"),
    Param("lang", r"zh|en", "lang"),
    Param("present", r"[01]"),
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


MAX_CONDITION_PARAM = 1000   # characters of one condition in a link (the grammar's own limit)
MAX_LIST_PARAM = 400         # characters of a comma-separated list (measures)


def cohort_params(raw: dict[str, list[str]], lang: str, years) -> dict:
    """The cohort page's link parameters (name -> its values in the link), checked: from, to (known years),
    where / bwhere (conditions, each parsed by the grammar), compare (rest, b), measures (known measures), measure,
    view, k (1–20). Returns the valid ones by name, and 'notices': one line per part that was ignored."""
    from junheng.rules import cohort
    from junheng.views import cohort_views
    out: dict = {}
    notices: list[str] = []

    def refuse(problem: str, name: str, value: str) -> None:
        notices.append(t(f"link_{problem}", lang, name=name, value=escape.markdown(value, limit=24)))

    def single(name: str, limit: int = MAX_LENGTH) -> str | None:
        values = raw.get(name) or []
        if not values:
            return None
        value = values[-1] if isinstance(values[-1], str) else ""
        if len(value) > limit:
            refuse("too_long", name, value)
            return None
        return value

    known_years = {str(y): int(y) for y in years}
    for name in ("from", "to"):
        value = single(name)
        if value is not None:
            if value in known_years:
                out[name] = known_years[value]
            else:
                refuse("malformed" if not re.fullmatch(r"\d{4}", value) else "unknown", name, value)
    for name in ("where", "bwhere"):
        values = [v for v in raw.get(name) or [] if isinstance(v, str)]
        if len(values) > cohort.MAX_CONDITIONS:
            refuse("too_long", name, values[0])
            values = values[: cohort.MAX_CONDITIONS]
        conditions, errors = cohort.parse_all([v for v in values if len(v) <= MAX_CONDITION_PARAM] or [])
        for v in values:
            if len(v) > MAX_CONDITION_PARAM:
                refuse("too_long", name, v)
        notices += [t("cohort_link_condition", lang, message=e.message(lang, markdown=True)) for e in errors]
        out[name] = conditions
    for name, allowed in (("compare", ("rest", "b")), ("view", cohort_views.VIEWS)):
        value = single(name)
        if value is not None:
            if value in allowed:
                out[name] = value
            else:
                refuse("unknown", name, value)
    numeric = {f.name for f in cohort.numeric_fields()}
    value = single("measures", MAX_LIST_PARAM)
    if value is not None:
        names = [m for m in value.split(",") if m]
        good = [m for m in dict.fromkeys(names) if m in numeric][: cohort_views.MAX_MEASURES]
        if len(good) < len(names):
            refuse("unknown", "measures", ",".join(m for m in names if m not in good))
        if good:
            out["measures"] = good
    value = single("measure")
    if value is not None:
        if value in numeric:
            out["measure"] = value
        else:
            refuse("unknown", "measure", value)
    value = single("k")
    if value is not None:
        if re.fullmatch(r"\d{1,2}", value) and 1 <= int(value) <= 20:
            out["k"] = int(value)
        else:
            refuse("malformed", "k", value)
    out["notices"] = notices
    return out

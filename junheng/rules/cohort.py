"""The cohort grammar: a region, a year range and conditions `column op value`, shared by the cohort page, its
links and `junheng cohort`.

Columns are an allow-list: the data dictionary's columns and the derived measures of cohort_measures.toml (plus
every indicator of the registry). A condition is checked here, before any query: an unknown column, an operator
that does not apply, or a value of the wrong kind is a ConditionError whose message names the condition in the
user's language. Values stay values: junheng/data/cohort.py binds them as named parameters.
"""
from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass
from functools import cache, lru_cache

from junheng import escape, settings
from junheng.i18n import t
from junheng.rules import indicators

OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "in")
# Other ways people type an operator (full-width, math signs, ==): read as the canonical one.
OPERATOR_ALIASES = {"==": "=", "＝": "=", "≠": "!=", "！=": "!=", "<>": "!=", "＞": ">", "＜": "<", "≥": ">=",
                    "≤": "<=", "＞＝": ">=", "＜＝": "<="}
ORDERED_KINDS = ("number", "share", "int")   # kinds every operator applies to; the others take = != in
MAX_CONDITION = 1000    # characters of one condition
MAX_CONDITIONS = 20     # conditions of one cohort
MAX_LIST = 100          # values of one `in` list
MAX_TEXT_VALUE = 100    # characters of one text value
PROTECTED_COUNTS = ("left_behind_students", "migrant_students")

_OPS = sorted([*OPERATORS[:-1], *OPERATOR_ALIASES], key=len, reverse=True)
_CONDITION = re.compile(
    r"^\s*(?P<column>[^\s=!<>≠≥≤＝＞＜！]+?)\s*(?P<op>" + "|".join(re.escape(o) for o in _OPS)
    + r"|(?<=\s)in(?=[\s(]))\s*(?P<value>.*?)\s*$", re.S | re.I)
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
_BARE = re.compile(r"[^\s,，、()\"'“”=<>!≠≥≤＝＞＜！][^\s,，、()\"'“”]*")  # shown unquoted
BOOL_WORDS = {"是": True, "否": False, "true": True, "false": False, "yes": True, "no": False, "1": True,
              "0": False, "y": True, "n": False}


@dataclass(frozen=True)
class Field:
    """A column a condition may name: a data-dictionary column or a derived measure."""
    name: str
    zh: str
    en: str
    kind: str                      # number, share, int, bool, code, text
    unit_zh: str = ""
    unit_en: str = ""
    meaning_zh: str = ""
    meaning_en: str = ""
    values: tuple[str, ...] = ()   # the stored values a code column may take (empty: any of its pattern)
    protected: str = ""            # the small count this value is (or is made from), suppressed where it is
    derived: bool = False

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def unit(self, lang: str) -> str:
        return self.unit_zh if lang == "zh" else self.unit_en

    def meaning(self, lang: str) -> str:
        return self.meaning_zh if lang == "zh" else self.meaning_en

    @property
    def numeric(self) -> bool:
        return self.kind in ORDERED_KINDS


@dataclass(frozen=True)
class Condition:
    column: str
    op: str
    value: object         # float, bool, str, or a tuple of them for `in`

    @property
    def text(self) -> str:
        """The canonical form: what links and the command line carry (stored values, not labels)."""
        if self.op == "in":
            return f"{self.column} in ({', '.join(_render(v) for v in self.value)})"
        return f"{self.column} {self.op} {_render(self.value)}"

    @property
    def field(self) -> Field:
        return fields()[self.column]

    @property
    def protected(self) -> bool:
        return bool(self.field.protected)


@dataclass(frozen=True)
class Cohort:
    """Schools of a region (''; 2-, 4- or 6-digit code) in a year range that meet every condition.

    follow_year: fixed membership — the schools that met the conditions in that year, followed through the whole
    range whatever their values in the other years (None: each year's schools that meet them that year)."""
    region: str = ""
    year_from: int | None = None
    year_to: int | None = None
    conditions: tuple[Condition, ...] = ()
    follow_year: int | None = None

    def with_conditions(self, conditions) -> Cohort:
        return Cohort(self.region, self.year_from, self.year_to, tuple(conditions), self.follow_year)

    def per_year(self) -> Cohort:
        """The same cohort with each year's membership (no followed year)."""
        return Cohort(self.region, self.year_from, self.year_to, self.conditions)


class ConditionError(ValueError):
    """A condition that cannot be used; message(lang) names it and says why."""

    def __init__(self, key: str, **values):
        super().__init__(key)
        self.key, self.values = key, values

    def message(self, lang: str, markdown: bool = False) -> str:
        shown = {k: (escape.markdown(v, limit=80) if markdown else escape.plain(v, limit=80)) if isinstance(v, str)
                 else v for k, v in self.values.items()}
        return t(self.key, lang, **shown)

    def __str__(self) -> str:
        return self.message("zh") + " / " + self.message("en")


@lru_cache(maxsize=1)
def measures() -> tuple[Field, ...]:
    """The derived measures, then every indicator of the registry (per student of the whole school)."""
    with open(settings.PACKAGE_DIR / "rules" / "cohort_measures.toml", "rb") as f:
        rows = tomllib.load(f)["measure"]
    out = [Field(name=r["key"], zh=r["zh"], en=r["en"], kind=r["kind"], unit_zh=r.get("unit_zh", ""),
                 unit_en=r.get("unit_en", ""), meaning_zh=r["meaning_zh"], meaning_en=r["meaning_en"],
                 values=tuple(indicators.GROUPS) if r["key"] == "urban_rural" else (),
                 protected=r.get("protected", ""), derived=True) for r in rows]
    for ind in indicators.registry():
        per = "每百名学生" if ind.scale == 100 else "每名学生"
        out.append(Field(name=ind.key, zh=ind.zh, en=ind.en, kind="number", unit_zh=ind.unit_zh, unit_en=ind.unit_en,
                         meaning_zh=f"{ind.numerator} ÷ 在校生总数（含高中）× {ind.scale:g}（{per}）",
                         meaning_en=f"{ind.numerator} ÷ all students (senior included) × {ind.scale:g}",
                         derived=True))
    return tuple(out)


_DICTIONARY_KINDS = {"int": "int", "float": "number", "bool": "bool", "code": "code", "text": "text"}


@lru_cache(maxsize=1)
def _dictionary() -> list[dict]:
    """The data dictionary's columns (junheng/data/data_dictionary.toml, read as data: rules sit below data/)."""
    with open(settings.PACKAGE_DIR / "data" / "data_dictionary.toml", "rb") as f:
        return tomllib.load(f)["column"]


@lru_cache(maxsize=1)
def fields() -> dict[str, Field]:
    """Every column a condition may name, dictionary columns first: name -> Field."""
    out = {}
    for c in _dictionary():
        values = ()
        if c["name"] == "school_type":
            values = indicators.SCHOOL_TYPES
        elif c["name"] == "urban_rural_code":
            values = tuple(indicators.URBAN_RURAL_GROUPS)
        allowed = c.get("allowed", "")
        out[c["name"]] = Field(name=c["name"], zh=c["zh"], en=c["en"], kind=_DICTIONARY_KINDS[c["type"]],
                               unit_zh=c.get("unit", ""), unit_en=c.get("unit", ""), meaning_zh=allowed or c["zh"],
                               meaning_en=c["en"] + (f" ({allowed})" if allowed else ""), values=values,
                               protected=c["name"] if c["name"] in PROTECTED_COUNTS else "")
    for m in measures():
        out[m.name] = m
    return out


def numeric_fields() -> tuple[Field, ...]:
    """The measures a summary can describe: derived numbers first, then the dictionary's counts and amounts."""
    skip = {"year", "lon", "lat", "standardized_year"}
    derived = [f for f in measures() if f.numeric]
    plain = [f for f in fields().values() if f.numeric and not f.derived and f.name not in skip]
    return tuple(derived + plain)


@lru_cache(maxsize=1)
def _aliases() -> dict[str, str]:
    """Chinese (and English) labels a user may type for a column: label -> name."""
    out = {}
    for f in fields().values():
        out[f.zh.lower()] = f.name
    return out


@cache
def value_aliases(name: str) -> dict[str, str]:
    """What a user may type for a value of a code column (lower case) -> the stored value."""
    field = fields()[name]
    out = {v.lower(): v for v in field.values}
    if name == "school_type":
        for v in field.values:
            out[t(f"type_{v}", "zh").lower()] = v
            out[t(f"type_{v}", "en").lower()] = v
        out.update({"初级中学": "junior", "初中": "junior"})
    elif name == "urban_rural":
        for v in field.values:
            out[t(f"group_{v}", "zh").lower()] = v
            out[t(f"group_{v}", "en").lower()] = v
    elif name == "urban_rural_code":
        allowed = next(c["allowed"] for c in _dictionary() if c["name"] == "urban_rural_code")
        for part in allowed.split(","):
            code, _, label = part.strip().partition(" ")
            out[label.strip().lower()] = code
    return out


def value_label(name: str, value, lang: str) -> str:
    """A stored value as a user reads it: 小学 for primary, 乡村 for rural, 是 for true."""
    if name == "school_type" and value in indicators.SCHOOL_TYPES:
        return t(f"type_{value}", lang)
    if name == "urban_rural" and value in indicators.GROUPS:
        return t(f"group_{value}", lang)
    if isinstance(value, bool):
        return t("yes" if value else "no", lang)
    return str(value)


def parse(text: str) -> Condition:
    """One condition `column op value` (e.g. `left_behind_share > 30%`, `school_type in (小学, 初中)`)."""
    raw = text if isinstance(text, str) else ""
    if len(raw) > MAX_CONDITION:
        raise ConditionError("cohort_err_too_long", condition=raw[:40], n=MAX_CONDITION)
    match = _CONDITION.match(raw)
    if not raw.strip() or not match:
        raise ConditionError("cohort_err_syntax", condition=raw)
    column, op, value = match["column"], match["op"].lower(), match["value"]
    op = OPERATOR_ALIASES.get(op, op)
    name = column if column in fields() else column.lower() if column.lower() in fields() else _aliases().get(
        column.lower())
    if name is None:
        raise ConditionError("cohort_err_column", condition=raw, column=column)
    field = fields()[name]
    if op not in OPERATORS:  # cannot happen with the pattern; kept as the allow-list's last word
        raise ConditionError("cohort_err_syntax", condition=raw)
    if op not in ("=", "!=", "in") and not field.numeric:
        raise ConditionError("cohort_err_operator", condition=raw, op=op, column=field.name)
    if op == "in" and field.kind == "bool":
        raise ConditionError("cohort_err_operator", condition=raw, op=op, column=field.name)
    if op == "in":
        items = _split_list(value, raw)
        if not items:
            raise ConditionError("cohort_err_value_missing", condition=raw)
        if len(items) > MAX_LIST:
            raise ConditionError("cohort_err_list", condition=raw, n=MAX_LIST)
        typed = tuple(dict.fromkeys(_typed(field, item, raw) for item in items))
        return Condition(name, op, typed)
    single = _unquote(value)
    if single == "":
        raise ConditionError("cohort_err_value_missing", condition=raw)
    return Condition(name, op, _typed(field, single, raw))


def parse_all(texts) -> tuple[list[Condition], list[ConditionError]]:
    """Every non-empty line parsed: (the valid conditions, one error per invalid one); at most MAX_CONDITIONS."""
    conditions, errors = [], []
    lines = [x for x in texts if isinstance(x, str) and x.strip()]
    for text in lines[:MAX_CONDITIONS]:
        try:
            condition = parse(text)
        except ConditionError as e:
            errors.append(e)
            continue
        if condition not in conditions:
            conditions.append(condition)
    if len(lines) > MAX_CONDITIONS:
        errors.append(ConditionError("cohort_err_too_many", n=MAX_CONDITIONS))
    return conditions, errors


def _typed(field: Field, value: str, condition: str):
    """value as the field's kind (the stored value of a label), or a ConditionError naming the condition."""
    problem = None
    if field.numeric:
        text = value.strip()
        percent = text.endswith("%")
        number = text[:-1].strip() if percent else text
        if percent and field.kind != "share":
            problem = "cohort_err_percent"
        elif _NUMBER.fullmatch(number):
            out = float(number) / (100 if percent else 1)
            if math.isfinite(out) and abs(out) < 1e15:
                return out
        if problem is None:
            problem = "cohort_err_number"
    elif field.kind == "bool":
        if value.strip().lower() in BOOL_WORDS:
            return BOOL_WORDS[value.strip().lower()]
        problem = "cohort_err_bool"
    elif field.values or field.name == "urban_rural":
        stored = value_aliases(field.name).get(value.strip().lower())
        if stored is not None:
            return stored
        problem = "cohort_err_code"
    elif field.name == "county_code":
        if re.fullmatch(r"\d{6}", value.strip()):
            return value.strip()
        problem = "cohort_err_county"
    else:
        if len(value) <= MAX_TEXT_VALUE:
            return value
        problem = "cohort_err_text"
    allowed = ", ".join(field.values) if field.values else ""
    raise ConditionError(problem, condition=condition, value=value, column=field.name, allowed=allowed,
                         n=MAX_TEXT_VALUE)


def _unquote(text: str) -> str:
    text = text.strip()
    for open_, close in (('"', '"'), ("'", "'"), ("“", "”")):
        if len(text) >= 2 and text[0] == open_ and text[-1] == close:
            return text[1:-1].replace(close * 2, close) if open_ == close else text[1:-1]
    return text


def _split_list(text: str, condition: str) -> list[str]:
    """The items of `(a, b, "c, d")` or `a,b`: commas (also ， and 、) outside quotes separate them."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    items, current, quote = [], [], None
    for ch in text:
        if quote:
            current.append(ch)
            if ch == quote:
                quote = None
        elif ch in "\"'“":
            quote = "”" if ch == "“" else ch
            current.append(ch)
        elif ch in ",，、":
            items.append("".join(current))
            current = []
        else:
            current.append(ch)
    if quote:
        raise ConditionError("cohort_err_syntax", condition=condition)
    items.append("".join(current))
    items = [_unquote(i) for i in items]
    if any(i == "" for i in items) and any(i != "" for i in items):
        raise ConditionError("cohort_err_value_missing", condition=condition)
    return [i for i in items if i != ""]


def _render(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    text = str(value)
    return text if _BARE.fullmatch(text) else '"' + text.replace('"', '""') + '"'


def with_facet(conditions, column: str, values) -> list[Condition]:
    """conditions with the facet column's equality condition replaced by `column in values` (or `=` for one
    value, none for no values); its other conditions (say `!=`) stay."""
    values = tuple(dict.fromkeys(values))
    if fields()[column].kind == "bool" and set(values) == {True, False}:
        values = ()  # both: no condition (a yes/no column takes no `in`)
    kept = [c for c in conditions if not (c.column == column and c.op in ("=", "in"))]
    if len(values) == 1:
        kept.append(Condition(column, "=", values[0]))
    elif values:
        kept.append(Condition(column, "in", values))
    return kept


def facet_values(conditions, column: str) -> tuple:
    """The values a facet shows as chosen: those of the column's `=` or `in` condition."""
    for c in conditions:
        if c.column == column and c.op == "=":
            return (c.value,)
        if c.column == column and c.op == "in":
            return tuple(c.value)
    return ()


def condition_text(condition: Condition, lang: str) -> str:
    """A condition as a reader of lang writes it in the conditions box: in Chinese the column's label and the values'
    labels (城乡 in (乡村, 镇区); both parse back to the same condition), in English the canonical text."""
    if lang != "zh":
        return condition.text
    field = condition.field
    column = field.zh if _aliases().get(field.zh.lower()) == field.name and not re.search(r"\s", field.zh) \
        else field.name
    values = condition.value if condition.op == "in" else (condition.value,)
    shown = []
    for value in values:
        label = value_label(field.name, value, lang)
        readable = label if field.kind == "bool" else label if value_aliases(field.name).get(
            label.lower()) == value else None
        shown.append(_render(value if readable is None else readable))
    if condition.op == "in":
        return f"{column} in ({', '.join(shown)})"
    return f"{column} {condition.op} {shown[0]}"


def replace_facet(lines, column: str, values, lang: str = "en") -> list[str]:
    """Lines of a conditions box with the facet column's `=` / `in` condition replaced by the chosen values (written
    in lang: Chinese labels in Chinese); every other line (an invalid one too) stays as the user wrote it."""
    kept = []
    for line in lines:
        try:
            condition = parse(line)
        except ConditionError:
            kept.append(line)
            continue
        if not (condition.column == column and condition.op in ("=", "in")):
            kept.append(line)
    return [line for line in kept if line.strip()] + [condition_text(c, lang) for c in with_facet([], column, values)]

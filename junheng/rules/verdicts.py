"""Verdicts from all four parts of each evaluation: pass, fail or incomplete, never pass on one part alone.

A county reaches an evaluation only when every part passes and no veto item applies. A part is judged from
its items (county_items.toml): any item not met fails the part; any item with no value leaves it incomplete.
The verdict: fail when any part fails (even with others missing), else incomplete when any part is
incomplete, else pass. 优质均衡's prerequisite: recognised as 基本均衡 at least three years before the evaluated
year (the item basic_recognized_year) and this year's 基本均衡 verdict held (the annual monitoring).
Items come from the school rows (computed) or the county self-assessment table (self-assessed). Where both
exist, what decides depends on what the computed value can prove (the item's `bound`): an exact value decides;
a lower or upper bound decides only in the direction it proves (a lower bound over a '<=' ceiling proves a
fail, never a pass), else the self-assessed value decides when the bound allows it. Both values are kept.
"""
from __future__ import annotations

import math
import operator
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache

import polars as pl

from junheng import settings
from junheng.i18n import t
from junheng.rules import evaluation

EVALUATIONS = ("basic", "quality")
# Targets a county is held to besides the two methods (the seeds' per-student funding and retention): judged and
# shown with the parts, never part of a verdict.
TARGETS = "targets"
VERDICTS = ("pass", "fail", "incomplete")
OPS = {">=": operator.ge, "<=": operator.le, "<": operator.lt, "==": operator.eq}
COMBINED_TYPES = ("nine_year", "twelve_year")  # the larger school size cap


@dataclass(frozen=True)
class Part:
    evaluation: str
    key: str
    zh: str
    en: str
    short_zh: str
    short_en: str

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    def short(self, lang: str) -> str:
        return self.short_zh if lang == "zh" else self.short_en


@dataclass(frozen=True)
class Item:
    key: str
    evaluation: str
    part: str
    number: str
    zh: str
    en: str
    kind: str          # share, yes_no, number, count, verdict
    op: str            # >=, <=, <, ==
    confirmed: bool
    source: str        # self, rows, both
    threshold: float | bool | None = None
    bound: str = "exact"  # what the computed value is: exact, lower (the true value is ≥ it) or upper (≤ it)
    cites: str = ""       # where the rule comes from, for items taken from a method's text
    local: dict = field(default_factory=dict)  # a local plan's own threshold by profile, e.g. {"anshan": 850}

    def label(self, lang: str) -> str:
        return self.zh if lang == "zh" else self.en

    @property
    def self_assessable(self) -> bool:
        return self.source in ("self", "both")


@lru_cache(maxsize=1)
def _registry() -> tuple[tuple[Part, ...], tuple[Item, ...]]:
    with open(settings.PACKAGE_DIR / "rules" / "county_items.toml", "rb") as f:
        data = tomllib.load(f)
    return tuple(Part(**p) for p in data["part"]), tuple(Item(**i) for i in data["item"])


def parts(evaluation_key: str | None = None) -> tuple[Part, ...]:
    """The parts of one evaluation (or of both), in the method's order."""
    return tuple(p for p in _registry()[0] if evaluation_key in (None, p.evaluation))


@lru_cache(maxsize=64)
def items(evaluation_key: str | None = None, part: str | None = None) -> tuple[Item, ...]:
    """The registry's items, optionally of one evaluation and part."""
    return tuple(i for i in _registry()[1] if evaluation_key in (None, i.evaluation) and part in (None, i.part))


def item(key: str) -> Item:
    for i in _registry()[1]:
        if i.key == key:
            return i
    raise KeyError(f"未知评估项目 / unknown item: {key}")


def part(evaluation_key: str, key: str) -> Part:
    return next(p for p in parts(evaluation_key) if p.key == key)


RECOGNITION_YEARS = 3  # 优质均衡 is assessed only this many years after the county's 基本均衡 recognition


def threshold(it: Item, rules: dict, year: int | None = None):
    """The item's threshold: the thresholds file's [items] entry, else the registry's; CV ceilings from [basic];
    for basic_recognized_year the latest year of recognition allowed (year − 3), None when the year is unknown."""
    if it.kind == "year":
        wait = int(rules.get("items", {}).get(it.key, it.threshold if it.threshold is not None else RECOGNITION_YEARS))
        return None if year is None else year - wait
    if it.key.startswith("composite_cv_"):
        return float(rules["basic"][it.key.removeprefix("composite_cv_")])
    if it.kind == "verdict":
        return "pass"
    if it.key in rules.get("items", {}):
        return rules["items"][it.key]
    return it.local.get(rules.get("targets", {}).get("item_profile", "national"), it.threshold)


def is_met(it: Item, value, rules: dict, year: int | None = None) -> bool | None:
    """Whether value meets the item's rule; None when there is no value (or no year to judge a year against)."""
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "incomplete":
        return None
    limit = threshold(it, rules, year)
    if limit is None:
        return None
    return bool(OPS[it.op](value, limit))


def proves(it: Item, met: bool | None) -> bool:
    """Whether a computed verdict `met` is proven by the computed value, given what the value is (it.bound).

    A lower bound L (the true value is ≥ L) proves a fail of a '<=' / '<' / '==' rule and a pass of a '>=' rule;
    an upper bound the reverse. An exact value proves both.
    """
    if met is None or it.bound == "exact":
        return met is not None
    rising = it.op == ">="  # larger values are better
    return met is (rising if it.bound == "lower" else not rising)


def rule(it: Item, rules: dict, year: int | None = None) -> str:
    """The rule as plain text for the JSON, e.g. '>= 0.85', '== true', '<= 0.65', '== pass', '<= 2022'."""
    value = threshold(it, rules, year)
    if value is None and it.kind == "year":
        return f"{it.op} year - {RECOGNITION_YEARS}"
    shown = str(value).lower() if isinstance(value, bool) else value
    return f"{it.op} {shown}"


SYMBOLS = {">=": "≥", "<=": "≤", "<": "<", "==": "="}


def format_value(it: Item, value, lang: str) -> str:
    """A value as people read it: shares as percentages, yes/no as 是/否, verdicts in words; '—' when none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if it.kind == "yes_no":
        return t("yes" if value else "no", lang)
    if it.kind == "verdict":
        return t(f"verdict_{value}", lang)
    if it.kind == "share":
        return f"{float(value) * 100:.1f}".removesuffix(".0") + "%"
    if it.kind in ("count", "year"):
        return str(int(value))
    return f"{float(value):.3f}".rstrip("0").rstrip(".")


def rule_label(it: Item, rules: dict, lang: str, year: int | None = None) -> str:
    """The rule as people read it, e.g. '≥ 85%', '= 是', '≤ 0.65', '≤ 2022'."""
    value = threshold(it, rules, year)
    if value is None and it.kind == "year":
        return t("rule_recognized_years", lang, n=RECOGNITION_YEARS)
    return f"{SYMBOLS[it.op]} {format_value(it, value, lang)}"


def school_row_items(schools: pl.DataFrame, rules: dict) -> pl.DataFrame:
    """Per county, the 政府保障程度 items the school rows can show: county_code, item, value, met.

    - class_size_cap: share of classes over the cap (小学 45, 初中 50), a lower bound. The rows give classes of
      56+ (over either cap) and each level's students and classes; a school-level whose mean class exceeds the
      cap has at least one class over it. Over-cap classes per school = max(classes of 56+, levels over).
      A single class of 46–55 in a school whose mean is under the cap cannot be seen.
    - school_size_cap: schools whose compulsory students (小学 + 初中; the 高中 section is outside the
      evaluation) exceed 2000, or 2500 for 九年一贯制 / 十二年一贯制.
    - migrant_public_share: migrant children in public schools over all migrant children (private schools
      included in the count, whatever the counting rules). The rows do not say which private schools the
      government buys places from, so the share is a lower bound. No migrant children: met, value empty.
    - art_rooms_per_12_classes: only when the rows carry music_rooms and art_rooms: share of schools with at
      least one of each per 12 classes (rounded up).
    Class size, school size and art rooms count the schools the evaluation counts (public unless
    include_private_schools).
    """
    r = rules["rules"]
    counted = schools if r["include_private_schools"] else schools.filter(pl.col("is_public").fill_null(True))
    p, j = pl.col("primary_students"), pl.col("junior_students")
    cp, cj = pl.col("primary_classes"), pl.col("junior_classes")
    caps = rules["targets"]  # one home for the class size caps (the standardization page reads them too)
    levels_over = (((cp > 0) & (p > caps["primary_class_max"] * cp)).cast(pl.Int64)
                   + ((cj > 0) & (j > caps["junior_class_max"] * cj)).cast(pl.Int64))
    large = (pl.col("classes_56_65") + pl.col("classes_66_plus")).cast(pl.Int64)
    cap = pl.when(pl.col("school_type").is_in(COMBINED_TYPES)).then(r["combined_school_max"]).otherwise(
        r["large_school_max"])
    per_county = counted.group_by("county_code").agg(
        (pl.max_horizontal(large, levels_over).sum() / (cp + cj).sum()).alias("class_size_cap"),
        ((p + j) > cap).sum().cast(pl.Float64).alias("school_size_cap"),
    )
    long = per_county.unpivot(index="county_code", variable_name="item", value_name="value").with_columns(
        pl.lit(None, dtype=pl.Boolean).alias("met"))
    migrants = schools.group_by("county_code").agg(
        pl.col("migrant_students").filter(pl.col("is_public").fill_null(False)).sum().alias("public"),
        pl.col("migrant_students").sum().alias("all"))
    migrant = migrants.select(
        "county_code", pl.lit("migrant_public_share").alias("item"),
        pl.when(pl.col("all") > 0).then(pl.col("public") / pl.col("all")).alias("value"),
        pl.when(pl.col("all") == 0).then(pl.lit(True)).alias("met"))
    frames = [long, migrant]
    if {"music_rooms", "art_rooms"} <= set(schools.columns):
        need = ((cp + cj) / 12).ceil()
        rooms = counted.group_by("county_code").agg(
            ((pl.col("music_rooms") >= need) & (pl.col("art_rooms") >= need)).mean().alias("value"),
            (pl.col("music_rooms").is_null() | pl.col("art_rooms").is_null()).any().alias("gaps"))
        frames.append(rooms.filter(~pl.col("gaps")).select(
            "county_code", pl.lit("art_rooms_per_12_classes").alias("item"), "value",
            pl.lit(None, dtype=pl.Boolean).alias("met")))
    return pl.concat(frames, how="vertical_relaxed").sort("county_code", "item")


def resource_items(levels: pl.DataFrame) -> pl.DataFrame:
    """The computed parts as items (county_code, item, value, met), from evaluation.level_results."""
    pieces = []
    for level in ("primary", "junior"):
        rows = levels.filter(pl.col("level") == level)
        pieces += [
            rows.select("county_code", pl.lit(f"composite_cv_{level}").alias("item"),
                        pl.col("composite").cast(pl.Float64).alias("value"), pl.col("basic_pass").alias("met")),
            rows.select("county_code", pl.lit(f"resource_cvs_{level}").alias("item"),
                        pl.col("cvs_within").cast(pl.Float64).alias("value"), pl.col("cv_pass").alias("met")),
            rows.select("county_code", pl.lit(f"resource_schools_{level}").alias("item"),
                        (pl.col("schools_passing") / pl.col("schools_assessed")).cast(pl.Float64).alias("value"),
                        pl.col("schools_pass").alias("met")),
        ]
    return pl.concat(pieces, how="vertical_relaxed")


def computed_items(schools: pl.DataFrame, rules: dict, levels: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every item computed from the school rows of one year, per county: county_code, item, value, met."""
    if levels is None:
        levels = evaluation.level_results(evaluation.level_values(schools, rules), rules)
    return pl.concat([resource_items(levels), school_row_items(schools, rules)], how="vertical_relaxed")


def _json_value(it: Item, value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if it.kind == "yes_no":
        return bool(value)
    if it.kind in ("count", "year"):
        return int(value)
    if it.kind == "verdict":
        return value
    return float(value)


def _entry(it: Item, computed: tuple | None, assessed, rules: dict, rule_text: str | None = None,
           year: int | None = None) -> dict | None:
    """One item's entry: value, rule, met, source (which value decided: computed / self-assessed / missing);
    None when the item does not apply (a computed item of a level the county does not have).

    Where both values exist the entry keeps both (computed, self_assessed), says what the computed one is
    (bound: exact / lower / upper) and which decided (decided_by). rule_text: rule(it, rules, year), if known.
    """
    base = {"rule": rule(it, rules, year) if rule_text is None else rule_text}
    own = None if assessed is None else is_met(it, assessed, rules, year)
    if computed is not None:
        value, met = computed
        met = is_met(it, value, rules, year) if met is None else bool(met)
        proven = proves(it, met)
        if proven or assessed is None or not _allowed(it, value, assessed):
            # The computed value decides: exact, or a bound proving its verdict, or a self-assessed value the
            # bound shows impossible. A bound that proves nothing leaves the item open (never a pass by default).
            entry = {"value": _json_value(it, value), **base, "met": met if proven else None, "source": "computed"}
        else:
            entry = {"value": _json_value(it, assessed), **base, "met": own, "source": "self-assessed"}
        if it.bound != "exact":
            entry["bound"] = it.bound
        if assessed is not None:
            entry["computed"] = _json_value(it, value)
            entry["self_assessed"] = _json_value(it, assessed)
            entry["decided_by"] = entry["source"]
            entry["disagrees"] = own != met or (value is not None and abs(float(value) - float(assessed)) > 0.005)
        return entry
    if it.source == "rows":
        return None
    if assessed is not None:
        return {"value": _json_value(it, assessed), **base, "met": own, "source": "self-assessed"}
    return {"value": None, **base, "met": None, "source": "missing"}


def _allowed(it: Item, value, assessed) -> bool:
    """Whether a self-assessed value is possible given the computed bound (a lower bound L: assessed ≥ L)."""
    if value is None or it.bound == "exact":
        return value is None
    if it.bound == "lower":
        return float(assessed) >= float(value) - 1e-9
    return float(assessed) <= float(value) + 1e-9


def part_status(entries: dict) -> str:
    """fail when any item is not met; incomplete when any has no value (or there are none); else pass."""
    met = [e["met"] for e in entries.values()]
    if any(m is False for m in met):
        return "fail"
    if not met or any(m is None for m in met):
        return "incomplete"
    return "pass"


def combine(statuses) -> str:
    """The verdict from the parts' statuses: a failed part beats a missing one."""
    statuses = list(statuses)
    if "fail" in statuses:
        return "fail"
    if "incomplete" in statuses or not statuses:
        return "incomplete"
    return "pass"


def county_verdicts(computed: dict, assessed: dict, rules: dict, rule_texts: dict | None = None,
                    year: int | None = None) -> tuple[dict, dict]:
    """(verdicts, parts) of one county-year.

    computed: item key -> (value, met or None); assessed: item key -> self-assessed value.
    verdicts: {"basic": V, "quality": V}; parts: evaluation -> part -> {"status", "items": key -> entry}.
    rule_texts: item key -> rule(item, rules, year), computed once when many counties are judged.
    year: the evaluated year (the prerequisite's recognition year is judged against it; unknown: incomplete).
    """
    rule_texts = rule_texts or {}
    verdicts, out = {}, {}
    for evaluation_key in EVALUATIONS:
        out[evaluation_key] = {}
        for p in parts(evaluation_key):
            entries = {}
            for it in items(evaluation_key, p.key):
                from_rows = computed.get(it.key)
                if it.kind == "verdict":  # the prerequisite: this year's 基本均衡 verdict
                    from_rows = (verdicts["basic"], None)
                entry = _entry(it, from_rows, assessed.get(it.key), rules, rule_texts.get(it.key), year)
                if entry is not None:
                    entries[it.key] = entry
            out[evaluation_key][p.key] = {"status": part_status(entries), "items": entries}
        verdicts[evaluation_key] = combine(part["status"] for part in out[evaluation_key].values())
    out[TARGETS] = {}
    for p in parts(TARGETS):  # judged like items, no verdict
        entries = {it.key: entry for it in items(TARGETS, p.key)
                   if (entry := _entry(it, computed.get(it.key), assessed.get(it.key), rules, rule_texts.get(it.key),
                                       year)) is not None}
        out[TARGETS][p.key] = {"status": part_status(entries), "items": entries}
    return verdicts, out


def _by_county(frame: pl.DataFrame, pair: bool) -> dict[str, dict]:
    grouped: dict[str, dict] = {}
    for row in frame.iter_rows(named=True):
        grouped.setdefault(row["county_code"], {})[row["item"]] = (row["value"], row["met"]) if pair else row["value"]
    return grouped


def assessed_values(table: pl.DataFrame | None) -> dict[str, dict]:
    """county_code -> item -> value from a county self-assessment table (county_code, item, value)."""
    if table is None or table.is_empty():
        return {}
    return _by_county(table.select("county_code", "item", "value"), pair=False)


def year_of(schools: pl.DataFrame) -> int | None:
    """The one year of a county-year's school rows (None when the rows carry no single year)."""
    if "year" not in schools.columns:
        return None
    years = schools["year"].drop_nulls().unique().to_list()
    return int(years[0]) if len(years) == 1 else None


def evaluate(schools: pl.DataFrame, rules: dict, table: pl.DataFrame | None = None,
             year: int | None = None) -> tuple[dict, dict]:
    """(verdicts, parts) of one county-year from its school rows and its self-assessment rows.
    year: the evaluated year; by default the rows' own year."""
    codes = schools["county_code"].unique().to_list()
    computed = _by_county(computed_items(schools, rules), pair=True)
    assessed = assessed_values(table)
    code = codes[0] if len(codes) == 1 else None
    year = year_of(schools) if year is None else year
    verdicts, parts_of = county_verdicts(computed.get(code, {}), assessed.get(code, {}), rules, year=year)
    bounds = migrant_share_bounds(schools, int(rules["privacy"]["min_count"]))
    if bounds is not None:
        hide_computed(parts_of, "migrant_public_share", bounds)
    return verdicts, parts_of


def migrant_share_bounds(schools: pl.DataFrame, min_count: int) -> tuple | None:
    """What may be shown of a county's migrant public-school share (issue 23): None where the exact share is a
    function of published cells (the county's migrant total and every 城乡 group's public part shown: the share is
    the sum of the public parts over the total); otherwise the bounds a reader works out from the published cells
    alone, (low, high), or (None, None) where the total itself is hidden. The exact share there would give back
    the sum of the public parts, and with it a small or withheld part (on the national demo data: 113 of the first
    400 counties)."""
    known = migrant_public_known(schools, min_count)
    if known is None or known[2] is None:
        return None if known is None else (None, None)
    low, high, total = known
    return (low / total, high / total)


def migrant_public_known(schools: pl.DataFrame, min_count: int) -> tuple | None:
    """What the published cells tell of a county's migrant children in public schools: None where their sum is
    published exactly (see migrant_share_bounds); else (low, high, total) in children, or (None, None, None) where
    the county's migrant total is hidden. The protection is the one the pages publish
    (left_behind.migrant_protection, a few ms for one county).

    Bounds by interval arithmetic over the public and private parts of the 城乡 groups (a wider range than a
    reader's best, never a narrower one: a function of published numbers only): a part shown is exact, a "<5"
    part is 1..min_count-1, a withheld one 0.. . The public sum is at least the shown and "<5" public parts' least,
    and at most the total less the private parts' least."""
    from junheng.rules import left_behind, privacy
    if schools.is_empty() or not schools["migrant_students"].fill_null(0).sum() \
            or schools["county_code"].n_unique() != 1:  # one county's rows (evaluate judges one county)
        return None
    shield = left_behind.migrant_protection(schools, min_count)
    county = shield.counties.row(0, named=True)
    if county["status"] != privacy.SHOWN:
        return (None, None, None)
    total = int(county["value"])
    parts = shield.group_status(left_behind.PUBLIC_GROUP)
    public = pl.col("group").str.ends_with("|true")
    if parts.filter(public & (pl.col("status") != privacy.SHOWN)).is_empty():
        return None
    least = (pl.when(pl.col("status") == privacy.SHOWN).then(pl.col("value"))
             .when(pl.col("status") == privacy.PRIMARY).then(1).otherwise(0)).alias("least")
    parts = parts.with_columns(least)
    low = int(parts.filter(public)["least"].sum())
    high = total - int(parts.filter(~public)["least"].sum())
    return (low, high, total)


def hide_computed(parts_of: dict, key: str, bounds: tuple) -> None:
    """Withhold an item's value computed from the school rows, keeping the bounds (low, high) a reader can work
    out anyway; its verdict stays (the official judgement). A self-assessed value, the county's own figure, stays."""
    for evaluation_parts in parts_of.values():
        for part in evaluation_parts.values():
            entry = part["items"].get(key)
            if entry is None:
                continue
            if entry.get("source") == "computed":
                entry["value"] = None
            if "computed" in entry:
                entry["computed"] = None
            entry["hidden"] = True
            entry["bounds"] = list(bounds)


def value_text(it: Item, entry: dict, lang: str, field: str = "value") -> str:
    """An entry's value (or its computed one) as people read it; a withheld one as the range a reader can work out
    from the published counts, or its mark, and why."""
    if entry.get("hidden") and entry.get(field) is None:
        low, high = entry.get("bounds") or (None, None)
        if low is None:
            return t("value_withheld", lang)
        return t("value_bounds", lang, low=format_value(it, low, lang), high=format_value(it, high, lang))
    return format_value(it, entry.get(field), lang)


def failing(parts_of: dict) -> list[str]:
    """The keys of the items not met, in the registry's order."""
    return [key for part in parts_of.values() for key, e in part["items"].items() if e["met"] is False]


def region_verdicts(schools: pl.DataFrame, rules: dict, table: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per county of one year: the computed parts (evaluation.region_status) and both verdicts.

    status: 'both' (优质均衡 reached), 'basic' (基本均衡 reached, 优质均衡 not or not yet), 'incomplete'
    (基本均衡 not yet decidable: parts missing, none failed), 'neither' (基本均衡 failed).
    basic_failing / quality_failing: the items not met.
    """
    levels = evaluation.level_results(evaluation.level_values(schools, rules), rules)
    return region_verdicts_from(levels, school_row_items(schools, rules), rules, table, year_of(schools))


def region_verdicts_from(levels: pl.DataFrame, row_items: pl.DataFrame, rules: dict,
                         table: pl.DataFrame | None = None, year: int | None = None) -> pl.DataFrame:
    """region_verdicts from what the school rows give per county, computed once per data version and stored
    beside it (junheng.data.db): levels from evaluation.level_results, row_items from school_row_items.
    year: the evaluated year (the 优质均衡 prerequisite is judged against it)."""
    wide = evaluation.region_wide(levels)
    computed = _by_county(pl.concat([resource_items(levels), row_items.select("county_code", "item", "value", "met")],
                                    how="vertical_relaxed"), pair=True)
    assessed = assessed_values(table)
    rows = []
    texts = {it.key: rule(it, rules, year) for it in items()}
    for code in wide["county_code"]:
        verdicts, out = county_verdicts(computed.get(code, {}), assessed.get(code, {}), rules, texts, year)
        rows.append({"county_code": code, "basic_verdict": verdicts["basic"], "quality_verdict": verdicts["quality"],
                     "basic_failing": failing(out["basic"]), "quality_failing": failing(out["quality"])})
    frame = pl.DataFrame(rows, schema={"county_code": pl.String, "basic_verdict": pl.String,
                                       "quality_verdict": pl.String, "basic_failing": pl.List(pl.String),
                                       "quality_failing": pl.List(pl.String)})
    status = (pl.when(pl.col("quality_verdict") == "pass").then(pl.lit("both"))
              .when(pl.col("basic_verdict") == "fail").then(pl.lit("neither"))
              .when(pl.col("basic_verdict") == "pass").then(pl.lit("basic"))
              .otherwise(pl.lit("incomplete")))
    return wide.join(frame, on="county_code", how="left", maintain_order="left").with_columns(status.alias("status"))

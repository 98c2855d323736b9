"""How numbers, counts, empty cells and times are shown, in one place (issue 25 point 7).

Thousands separators, a fixed number of decimals per figure, no "-0.0", an em dash for a missing value (never
"None" or "nan"), counts with their unit in Chinese and a correctly singular or plural English noun, and times in
Beijing time. A ground-floor module beside i18n: rules, figures, reports and views all show numbers.
"""
from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta, timezone

EMPTY = "—"
BEIJING = timezone(timedelta(hours=8), "北京时间")  # China keeps no daylight saving time: a fixed offset


def is_missing(value) -> bool:
    """None, NaN, an empty string: what a table shows as EMPTY."""
    if value is None:
        return True
    if isinstance(value, float) and math.isnan(value):
        return True
    return isinstance(value, str) and not value.strip()


def number(value, digits: int = 0) -> str:
    """1234567.891 → "1,234,567.89" with digits=2; -0.04 → "0.0" with digits=1 (never "-0.0"); None → "—"."""
    if is_missing(value):
        return EMPTY
    value = float(value)
    if math.isinf(value):
        return EMPTY
    rounded = round(value, digits)
    if rounded == 0:
        rounded = 0.0  # round(-0.04, 1) is -0.0, which would print its sign
    return f"{rounded:,.{digits}f}"


def signed(value, digits: int = 0) -> str:
    """A change with its sign: "+1,234", "-0.5"; one that rounds to nothing is "0" or "0.0", never "-0.0" or "+0.0"
    (Streamlit's metric then draws no arrow direction from a sign); None → "—"."""
    text = number(value, digits)
    if text == EMPTY or float(text.replace(",", "")) == 0:
        return text
    return text if text.startswith("-") else "+" + text


def percent(share, digits: int = 1) -> str:
    """A share (0.1234) as "12.3%"; None → "—"."""
    return EMPTY if is_missing(share) else number(float(share) * 100, digits) + "%"


def money(yuan, lang: str) -> str:
    """Yuan for a sentence: "12.3 万元" from ten thousand up and "860 元" below in Chinese, "12,345 yuan" in
    English; None → "—"."""
    if is_missing(yuan):
        return EMPTY
    yuan = float(yuan)
    if lang == "zh":
        return f"{number(yuan / 10_000, 1)} 万元" if abs(round(yuan)) >= 10_000 else f"{number(yuan, 0)} 元"
    return f"{number(yuan, 0)} yuan"


def count(n, unit_zh: str, unit_en: str, lang: str, plural_en: str | None = None) -> str:
    """12 → "12 所" / "12 schools", 1 → "1 school": Chinese has no plural, English needs the right one."""
    if is_missing(n):
        return EMPTY
    n = int(n)
    if lang == "zh":
        return f"{n:,} {unit_zh}".rstrip()
    noun = unit_en if n == 1 else (plural_en or plural(unit_en))
    return f"{n:,} {noun}".rstrip()


def plural(noun: str) -> str:
    """An English noun's regular plural: school → schools, class → classes, county → counties."""
    if not noun:
        return noun
    if noun.endswith(("s", "x", "ch", "sh")):
        return noun + "es"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return noun[:-1] + "ies"
    return noun + "s"


def beijing_time(moment, seconds: bool = False) -> str:
    """A UTC time (datetime, naive meaning UTC, or ISO text) as "2026-12-07 08:56" in Beijing time; None → "—"."""
    if is_missing(moment):
        return EMPTY
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment.strip().replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def decimals(values, most: int = 2) -> int:
    """The fewest decimals (up to most) that show every value of a column as it is: a column of 6.6, 9 and 1.6
    takes 1, so it reads 6.6, 9.0, 1.6 (not 6.6, 9, 1.6)."""
    finite = [float(v) for v in values if not is_missing(v) and math.isfinite(float(v))]
    for digits in range(most + 1):
        if all(math.isclose(round(v, digits), v, rel_tol=0, abs_tol=1e-9) for v in finite):
            return digits
    return most


def shared_digits(values, most: int = 3) -> int:
    """One number of decimals for figures read side by side, set by the largest of them: 1,234 and 56 take 0,
    27.2 and 7.0 take 1, 3.46 and 0.52 take 2, 0.123 takes 3 (never 7.000 next to 27.2)."""
    finite = [abs(float(v)) for v in values if not is_missing(v) and math.isfinite(float(v))]
    top = max(finite, default=0.0)
    return min(0 if top >= 100 else 1 if top >= 10 else 2 if top >= 1 else 3, most)


def printf(digits: int) -> str:
    """The printf pattern a table's number column uses for digits decimals with separators ("%,.1f", "%,d")."""
    return "%,d" if digits == 0 else f"%,.{digits}f"


def cell(value, digits: int = 2, lang: str = "zh") -> str:
    """Any table cell as text: missing → "—", integers with separators, every float with the same digits decimals
    (a column reads evenly), yes/no in lang."""
    if is_missing(value):
        return EMPTY
    if isinstance(value, bool):
        return ("是" if value else "否") if lang == "zh" else ("yes" if value else "no")
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return number(value, digits)
    return str(value)

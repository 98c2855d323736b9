"""Hostile text, as a careless or malicious bureau file could carry it: used by the unit and browser tests."""
from __future__ import annotations

import polars as pl

NAMES = (
    "${alert(document.domain)}小学",
    "`+alert(1)+`中学",
    "反斜杠\\`${alert(2)}`\\",
    "\"'><img src=x onerror=alert(3)>",
    "</script><script>alert(4)</script>",
    "<svg/onload=alert(5)>",
    "javascript:alert(6)",
    "[点我](javascript:alert(7))",
    "=HYPERLINK(\"http://example.invalid\",\"点我\")",
    "=cmd|' /C calc'!A0",
    "+1+1", "-2-2", "@SUM(A1)", "\tTAB", "\rCR",
    "\u202eRTL覆盖gnp.exe",
    "%{x}%{y}<extra>注入</extra>",
    "{{7*7}}{0}{name}",
    "**粗体** _斜体_ # 标题 <b>b</b> &amp; &lt;",
    "名" * 10_000,
)


def hostile_rows(rows: pl.DataFrame) -> pl.DataFrame:
    """rows with every school name and township replaced by a hostile text (cycling through NAMES)."""
    n = rows.height
    return rows.with_columns(
        pl.Series("school_name", [NAMES[i % len(NAMES)] for i in range(n)]),
        pl.Series("township", [NAMES[(i + 3) % len(NAMES)] for i in range(n)]),
    )

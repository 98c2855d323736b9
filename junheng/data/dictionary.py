"""The data dictionary of the school-year table, read from data_dictionary.toml."""
from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache

import polars as pl

from junheng import settings


@dataclass(frozen=True)
class Column:
    name: str
    zh: str
    en: str
    type: str
    unit: str = ""
    allowed: str = ""
    required: bool = True
    min: float | None = None   # plausible range of a number, inclusive; outside it an import is refused
    max: float | None = None

    @property
    def range_text(self) -> str:
        if self.min is None and self.max is None:
            return ""
        return f"{_number(self.min)} – {_number(self.max)}"


def _number(value) -> str:
    if value is None:
        return ""
    if value != int(value):
        return f"{value:g}"
    return f"{int(value):,}" if abs(value) >= 10_000 else str(int(value))


@lru_cache(maxsize=1)
def columns() -> tuple[Column, ...]:
    with open(settings.PACKAGE_DIR / "data" / "data_dictionary.toml", "rb") as f:
        return tuple(Column(**c) for c in tomllib.load(f)["column"])


def markdown() -> str:
    """The dictionary as a Markdown table (docs/data_dictionary.md)."""
    lines = [
        "# 数据字典 / Data dictionary",
        "",
        "One row per school per statistical year (`DATA_DIR/snapshots/year=YYYY/*.parquet`).",
        "Rendered from `junheng/data/data_dictionary.toml` by `junheng dictionary`; do not edit by hand.",
        "",
        "A number outside its range (范围), or not a finite number (NaN, inf), is refused on import.",
        "",
        "| 列名 column | 中文名 | meaning | 类型 type | 单位 unit | 取值 allowed | 范围 range | 必填 required |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c in columns():
        lines.append(f"| `{c.name}` | {c.zh} | {c.en} | {c.type} | {c.unit} | {c.allowed} | {c.range_text} | "
                     f"{'是' if c.required else '否'} |")
    return "\n".join(lines) + "\n"


POLARS_TYPES = {"int": pl.Int32, "float": pl.Float64, "text": pl.String, "code": pl.String, "bool": pl.Boolean}


def polars_schema() -> dict[str, pl.DataType]:
    """The snapshot schema: column name -> Polars type, in dictionary order."""
    return {c.name: POLARS_TYPES[c.type] for c in columns()}


def by_name(name: str) -> Column:
    return next(c for c in columns() if c.name == name)

"""Number columns of a displayed table with thousands separators and one number of decimals per column
(junheng/formats.py decides both), as Streamlit column settings: the cells stay numbers, so sorting works.

A count of children published with its marks ("<5", "*") is a text column; shown, its numbers get the same
separators ("19,523" beside "13,089"), while the frame itself, which the downloads write, keeps plain digits."""
from __future__ import annotations

import polars as pl
import streamlit as st

from junheng import formats
from junheng.i18n import t

MARKED_COUNTS = ("left_behind_students", "migrant_students")  # i18n keys of counts shown as a number or a mark


def number_columns(frame: pl.DataFrame, most: int = 2) -> dict:
    """column_config for st.dataframe: integers as 1,234, each float column with the decimals its values need."""
    config = {}
    for name, dtype in frame.schema.items():
        if dtype.is_integer() and _is_year(name, frame[name]):
            config[name] = st.column_config.NumberColumn(format="%d")  # 2025, not 2,025
        elif dtype.is_integer():
            config[name] = st.column_config.NumberColumn(format=formats.printf(0))
        elif dtype.is_float():
            config[name] = st.column_config.NumberColumn(format=formats.printf(formats.decimals(frame[name], most)))
    return config


def _is_year(name: str, values: pl.Series) -> bool:
    """A column of years (its name says so and every value is one): shown without a thousands separator."""
    named = "年" in name or "year" in name.lower()
    return named and values.drop_nulls().is_between(1900, 2100).all()


def marked_counts(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame for display: in a text column of published counts (a number, "<5" or "*"), each number with
    thousands separators; the marks and every other column as they are."""
    marked = _marked(frame)
    return frame.with_columns(
        pl.col(c).map_elements(lambda v: formats.number(int(v)) if v.isdigit() else v, return_dtype=pl.String)
        for c in marked) if marked else frame


def _marked(frame: pl.DataFrame) -> list[str]:
    names = {t(key, lang) for key in MARKED_COUNTS for lang in ("zh", "en")}
    return [c for c, dtype in frame.schema.items() if c in names and dtype == pl.String]


def show(frame: pl.DataFrame, most: int = 2, where=None, column_config: dict | None = None, **options) -> None:
    """st.dataframe (in where: a column, a container) with the numbers formatted, floats to at most `most`
    decimals (3 for a table of CVs), published counts with their marks as `marked_counts` and aligned right like
    the other counts; column_config adds to (or overrides) these; options as st.dataframe's."""
    config = {**number_columns(frame, most), **{c: st.column_config.TextColumn(alignment="right")
                                                for c in _marked(frame)}, **(column_config or {})}
    (where or st).dataframe(marked_counts(frame), column_config=config, **options)

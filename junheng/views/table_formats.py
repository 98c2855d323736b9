"""Number columns of a displayed table with thousands separators and one number of decimals per column
(junheng/formats.py decides both), as Streamlit column settings: the cells stay numbers, so sorting works."""
from __future__ import annotations

import polars as pl
import streamlit as st

from junheng import formats


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


def show(frame: pl.DataFrame, most: int = 2, where=None, column_config: dict | None = None, **options) -> None:
    """st.dataframe (in where: a column, a container) with the numbers formatted, floats to at most `most`
    decimals (3 for a table of CVs); column_config adds to (or overrides) the number formats; options as
    st.dataframe's."""
    (where or st).dataframe(frame, column_config={**number_columns(frame, most), **(column_config or {})}, **options)

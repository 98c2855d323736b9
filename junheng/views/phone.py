"""The phone layout (390 px wide and up) in one place: the style sheet the frame adds once, and a table shown as
its key columns on a narrow screen and whole on a wide one (issue 25 point 6)."""
from __future__ import annotations

import polars as pl
import streamlit as st

from junheng.views import table_formats

NARROW = 640  # px: Streamlit stacks columns below this width, and so does this layout

# Containers keyed narrow_* show on a narrow screen only, wide_* on a wide one only: a table's key columns on a
# phone, the whole table on a laptop (the server does not know the screen's width, so both are sent).
CSS = """
.jh-verdicts { line-height: 1.55; }
.jh-verdict { font-size: 1.05rem; }
.jh-verdict .jh-status { font-weight: 700; font-size: 1.35rem; }
.jh-verdict .jh-parts { color: #555; font-size: .92rem; }
.jh-level { color: #333; font-size: .9rem; margin-top: .2rem; }
[class*="st-key-narrow_"] { display: none !important; }
/* pills and segmented controls wrap to a new line, not scroll or squeeze a label ("乡村" cut to "乡木") */
[data-testid="stButtonGroup"] > div { flex-wrap: wrap !important; row-gap: .35rem; overflow: visible !important; }
[data-testid="stButtonGroup"] button { flex-shrink: 0 !important; }
@media (max-width: %(narrow)dpx) {
  [class*="st-key-wide_"] { display: none !important; }
  [class*="st-key-narrow_"] { display: flex !important; }
  /* headline figures two to a row, not one card per screen third: the columns give way to their figures */
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] > [data-testid="stVerticalBlock"]
    > [data-testid="stElementContainer"] > [data-testid="stMetric"]) { flex-wrap: wrap !important;
    gap: .5rem !important; }
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] > [data-testid="stVerticalBlock"]
    > [data-testid="stElementContainer"] > [data-testid="stMetric"]) > [data-testid="stColumn"],
  [data-testid="stHorizontalBlock"]:has(> [data-testid="stColumn"] > [data-testid="stVerticalBlock"]
    > [data-testid="stElementContainer"] > [data-testid="stMetric"]) > [data-testid="stColumn"]
    > [data-testid="stVerticalBlock"] { display: contents !important; }
  [data-testid="stElementContainer"]:has(> [data-testid="stMetric"]) { width: calc(50%% - .25rem) !important;
    flex: 0 0 calc(50%% - .25rem) !important; }
  [data-testid="stMetric"] { padding: .5rem .6rem !important; }
  [data-testid="stMetricValue"] { font-size: 1.6rem !important; }
  [data-testid="stMetricLabel"] p { font-size: .85rem !important; white-space: normal !important; }
  [data-testid="stMainBlockContainer"] { padding-left: .75rem !important; padding-right: .75rem !important; }
  h3 { font-size: 1.3rem !important; }
}
""" % {"narrow": NARROW}  # noqa: UP031 — the CSS braces stay literal with %


def style() -> None:
    """The phone layout's style sheet; the frame adds it once per run."""
    st.html(f"<style>{CSS}</style>")


def narrow(key: str, where=None):
    """A container (in where: a column) shown on a narrow screen only (`with phone.narrow("list"): ...`); pair it
    with wide(key)."""
    return (where or st).container(key=f"narrow_{key}")


def wide(key: str, where=None):
    """A container shown on a wider screen only (the whole table where narrow(key) holds its key columns)."""
    return (where or st).container(key=f"wide_{key}")


def table(key: str, frame: pl.DataFrame, narrow_columns: list[str] | None = None, first_width: int = 150,
          most: int = 2, where=None, styled=None, **options) -> None:
    """frame whole on a wider screen (as styled, a Styler of it, when given) and as its narrow_columns (all by
    default) on a phone, the first (a long label) first_width px wide; numbers formatted (table_formats); where: a
    column or container; options as st.dataframe's."""
    shown = frame.select([c for c in narrow_columns if c in frame.columns]) if narrow_columns else frame
    with narrow(key, where):
        table_formats.show(shown, most=most, column_config={
            shown.columns[0]: st.column_config.Column(width=first_width)} if shown.width else None, **options)
    with wide(key, where):
        if styled is None:
            table_formats.show(frame, most=most, **options)
        else:
            st.dataframe(styled, **options)

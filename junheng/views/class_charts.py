"""Large-class charts: class counts per year against the most a rule profile allows."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from junheng.figures.charts import _layout
from junheng.i18n import t

BAND_COLUMNS = {"56+": ("classes_56_plus", "#fd8d3c", "band_56"), "66+": ("classes_66_plus", "#d62728", "band_66")}


def class_count_chart(region: pl.DataFrame, allowed: pl.DataFrame, title: str, lang: str) -> go.Figure:
    """Classes of 56+ and 66+ per year as bars, and the profile's allowed maximum for the years it names."""
    fig = go.Figure()
    for band, (column, colour, key) in BAND_COLUMNS.items():
        fig.add_bar(x=region["year"], y=region[column], name=t(key, lang), marker_color=colour)
        cap = allowed.filter(pl.col("band") == band).sort("year")
        if cap.height:
            fig.add_scatter(x=cap["year"], y=cap["allowed"], mode="markers", name=t("allowed_max", lang,
                                                                                        band=t(key, lang)),
                            marker=dict(symbol="line-ew-open", size=22, line=dict(width=3, color=colour)),
                            hovertemplate="%{x}: ≤ %{y:,.0f}<extra></extra>")
    fig.update_layout(barmode="group")
    fig.update_yaxes(rangemode="tozero")
    return _layout(fig, title, t("year", lang), t("class_count", lang))

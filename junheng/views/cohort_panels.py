"""Parts of the cohort page that draw themselves (Streamlit): similar counties and the method panel."""
from __future__ import annotations

import streamlit as st

from junheng.data import cohort as cohort_query
from junheng.i18n import t
from junheng.rules import cohort, cohort_stats as stats
from junheng.views import cohort_views as views, ui


def similar(filters, spec, span, columns, measures, lang: str) -> None:
    """The k counties most like the chosen one on the chosen measures (standardised distance)."""
    if not filters.county:
        st.info(t("cohort_similar_need_county", lang))
        return
    k = st.slider(t("cohort_similar_k", lang), 1, 20, key="cohort_k")
    pool = ui.cohort(cohort.Cohort("", span[1], span[1], spec.conditions), (span[1], span[1]), columns).rows
    values = stats.county_values(pool, measures)
    nearest = stats.similar(values, filters.county, measures, k)
    st.caption(t("cohort_similar_note", lang, year=span[1], n=values.height))
    if nearest.is_empty():
        st.info(t("cohort_similar_none", lang, county=filters.region_md))
    st.dataframe(views.similar_table(nearest, ui.query("counties_with_data"), measures, lang), hide_index=True,
                 width="stretch")


def method(result, lang: str) -> None:
    """How this was computed: the SQL that ran, its bound values, the row counts and a script to rerun it."""
    with st.expander(t("cohort_method", lang)):
        st.caption(t("cohort_method_text", lang, sql_rows=f"{result.sql_rows:,}", rows=f"{result.rows.height:,}"))
        if result.after:
            st.caption(t("cohort_method_after", lang, conditions="; ".join(c.text for c in result.after)))
        st.code(result.sql, language="sql")
        st.markdown(f"**{t('cohort_method_params', lang)}**")
        st.json(result.params)
        st.markdown(t("cohort_method_rerun", lang))
        st.code(cohort_query.rerun_script(result), language="sql")

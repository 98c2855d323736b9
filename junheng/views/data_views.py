"""The 数据管理 page's parts that are not commands: the blank forms a bureau fills in."""
from __future__ import annotations

import streamlit as st

from junheng.access.roles import Account
from junheng.data import county_table, dictionary
from junheng.i18n import t
from junheng.reports import exports, templates


def template_downloads(lang: str, admin: Account) -> None:
    """The import templates (the county one filled with the admin's own county), the dictionary and the sample;
    each workbook is built only when its button is clicked."""
    st.markdown(f"**{t('template_title', lang)}**")
    left, right = st.columns(2)
    left.download_button(t("template_download", lang), lambda: templates.school_template(lang),
                         "junheng_template.xlsx", exports.XLSX_MIME, key="template_download", on_click="ignore")
    right.download_button(t("dictionary_download", lang), dictionary.markdown().encode("utf-8"),
                          "data_dictionary.md", "text/markdown", key="dictionary_download")
    left.download_button(t("ct_template_download", lang),
                         lambda: templates.county_template(lang, county_code=admin.region),
                         "junheng_county_template.xlsx", exports.XLSX_MIME, key="county_template_download",
                         on_click="ignore")
    right.download_button(t("ct_sample_download", lang), county_table.SAMPLE.read_bytes(), county_table.SAMPLE.name,
                          "text/csv", key="county_sample_download")

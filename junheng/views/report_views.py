"""The county deck on the evaluation page: PPTX, PDF and Excel download buttons, each file built only when its
button is clicked (it takes seconds), shown to analysts and administrators only, and audited like every export."""
from __future__ import annotations

import logging

import streamlit as st

from junheng.i18n import t
from junheng.views import cache

log = logging.getLogger(__name__)


def deck_downloads(county: str, year: int, lang: str) -> None:
    """Three buttons for the deck of county and year, in the user's scope."""
    from junheng.reports import exports, report
    account = st.session_state.get("account")
    if account is None or not account.can("analyst"):  # nothing shown: the page prints and presents as before
        return
    st.markdown(f"**{t('deck_download', lang)}**")
    st.caption(t("deck_download_help", lang))
    stem = f"{t('report_stem', lang)}_{county}_{year}"
    for column, kind in zip(st.columns(len(report.FORMATS)), report.FORMATS):
        column.download_button(t("report_build", lang, format=kind.upper()),
                               _builder(county, year, kind, lang, account),
                               exports.file_name(stem, kind), report.MIME[kind], key=f"deck_{kind}",
                               on_click="ignore")


def _builder(county: str, year: int, kind: str, lang: str, account):
    """What Streamlit runs on the click: the export command checks, builds inside the account's scope and audits."""
    from junheng.commands import exports as export_commands
    data_dir = cache.data_dir()

    def make() -> bytes:
        try:
            return export_commands.report(data_dir, account, year, kind, lang, county=county)[0]
        except Exception:  # the server log has the details; the user sees Streamlit's plain error notice
            log.exception("report %s %s %s failed", county, year, kind)
            raise RuntimeError(t("report_err_build", lang, what=kind)) from None
    return make

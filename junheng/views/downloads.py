"""Download buttons for a table as shown: every file released by the command layer, built only when its button is
clicked."""
from __future__ import annotations

import polars as pl
import streamlit as st

from junheng.i18n import t
from junheng.views import cache


def downloads(frame: pl.DataFrame, name: str, lang: str, key: str, school_level: bool = True,
              formats: tuple[str, ...] = ("csv", "xlsx"), build=None, regions: tuple[str, ...] = ()) -> None:
    """Download buttons (CSV, Excel, Parquet) for a table exactly as shown (through the one export module);
    frame: the table, or a function that makes it when a button is clicked.

    Each file is released by the command layer (junheng/commands/exports.py `table`: school-level rows for
    analysts and administrators, inside the account's region, audited), built only when a button is clicked.
    build(frame, kind) -> bytes replaces the plain files (the cohort page's carry their data dictionary).
    """
    from junheng.reports import exports
    account = st.session_state.get("account")
    if school_level and (account is None or not account.can("analyst")):
        st.caption(t("export_needs_analyst", lang))
        return
    plain = {"csv": exports.csv_bytes, "xlsx": lambda f: exports.xlsx_bytes({name: f}),
             "parquet": exports.parquet_bytes}
    mime = {"csv": "text/csv", "xlsx": exports.XLSX_MIME, **exports.COHORT_FORMATS}  # the cohort's dta, sav too
    for column, kind in zip(st.columns(len(formats)), formats):
        maker = plain[kind] if build is None else (lambda f, kind=kind: build(f, kind))
        column.download_button(t(f"download_{kind}", lang),
                               _export(frame, name, kind, account, maker, school_level, regions),
                               exports.file_name(name, kind), mime[kind], key=f"{key}_{kind}", on_click="ignore")


def _export(frame, name: str, kind: str, account, build, school_level: bool = True, regions: tuple[str, ...] = ()):
    """What Streamlit runs when the button is clicked: the command that checks, builds and records the file."""
    from junheng.commands import exports as export_commands
    data_dir_now = cache.data_dir()

    def make() -> bytes:
        return export_commands.table(data_dir_now, account, name, kind, frame, build, school_level, regions)
    return make

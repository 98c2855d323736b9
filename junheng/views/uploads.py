"""Uploads on the data page: validate, import and undo, each through the command layer."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from junheng.views import cache


@st.cache_data(show_spinner=False, max_entries=16)
def _validate_upload(table: str, name: str, content: bytes, year: int, lang: str, path: str, fp: str,
                     account, replace_year: bool):
    from junheng.commands import data as data_commands
    return data_commands.validate_upload(Path(path), account, table, name, content, year, lang, replace_year)


def validate_upload(uploaded, year: int, lang: str, replace_year: bool = False, table: str = "school"):
    """(report, unreadable-file message) for an uploaded file of either table, checked by the command layer once
    per file, year, language and account (rows outside the account's region are errors)."""
    return _validate_upload(table, uploaded.name, uploaded.getvalue(), year, lang, str(cache.data_dir()),
                            cache.fingerprint(), st.session_state.get("account"), replace_year)


def import_upload(uploaded, year: int, lang: str, allow_removal=False, replace_year: bool = False,
                  table: str = "school"):
    """Store the uploaded file as a new version of year through the command layer (authorized, all or nothing,
    audited); (report, version or None)."""
    from junheng.commands import data as data_commands
    return data_commands.import_upload(cache.data_dir(), st.session_state.get("account"), table, uploaded.name,
                                       uploaded.getvalue(), year, lang, allow_removal=allow_removal,
                                       replace_year=replace_year)


def undo_import(year: int, version: str, lang: str, table: str = "school") -> dict:
    """Undo one import of year inside the account's region, through the command layer (audited)."""
    from junheng.commands import data as data_commands
    return data_commands.rollback(cache.data_dir(), st.session_state.get("account"), table, year, version, lang)

"""One-line messages in the user's language: the current language code, a stop with a message, a failure logged with its
details on the server and shown without them."""
from __future__ import annotations

import logging

import streamlit as st

from junheng.i18n import t

log = logging.getLogger("junheng")


def stop_with(message: str) -> None:
    st.error(message)
    st.stop()


def fail(lang: str, error: BaseException, key: str = "page_error") -> None:
    """Show a one-line message in the user's language and log the details (traceback, paths) on the server."""
    log.error("%s", t(key, "en"), exc_info=error)
    st.error(t(key, lang))


def language_code() -> str:
    return st.session_state.get("lang", "zh")

"""Streamlit's own English texts in Chinese. Streamlit 1.67 draws some words itself and offers no parameter for
them: the file uploader's "Upload", "100MB per file • XLSX, CSV" and "Drag and drop a file here", and the
keyboard user's "Skip to main content" link. A style sheet hides those words and shows the translation table's in
their place (CSS generated content; the widgets themselves are untouched)."""
from __future__ import annotations

import json

import streamlit as st

from junheng.i18n import t

_ZONE = '[data-testid="stFileUploaderDropzone"]'
# The button's label, the size-and-types line, and the overlay drawn only while a file is dragged over the zone.
_BUTTON = f'{_ZONE} button [data-testid="stMarkdownContainer"] p'
_LIMIT = '[data-testid="stFileUploaderDropzoneInstructions"] span'
_DROP = f"{_ZONE} > div:not([data-testid]) > div"
# Shown only while it has the keyboard's focus (the first Tab on a page).
_SKIP = '[data-testid="stSkipToContent"]'


def _css_text(text: str) -> str:
    """A CSS string literal; the texts are the translation table's, escaped all the same."""
    return '"' + "".join(c if c.isalnum() or c in " ·•、，.()（）" else f"\\{ord(c):x} " for c in text) + '"'


def _replaced(texts: list[tuple[str, str]], size: str = ".875rem") -> str:
    return "".join(f"{selector}{{font-size:0}}{selector}::after{{content:{_css_text(text)};font-size:{size}}}"
                   for selector, text in texts)


def uploader_css(lang: str, types: list[str], max_mb: int) -> str:
    """The style sheet that shows the uploader's own texts in lang ('' in English: Streamlit's are English)."""
    if lang == "en":
        return ""
    limit = t("uploader_limit", lang, mb=max_mb, types="、".join(x.upper() for x in types))
    return _replaced([(_BUTTON, t("uploader_button", lang)), (_LIMIT, limit), (_DROP, t("uploader_drop", lang))])


def frame_css(lang: str) -> str:
    """The style sheet for what every page shows ('' in English)."""
    return "" if lang == "en" else _replaced([(_SKIP, t("skip_to_content", lang))], size="1rem")


def frame_script(lang: str) -> str:
    """A script giving Streamlit's select boxes a Chinese placeholder (its "Choose an option" shows when a reader
    clears the box to search; an attribute, which CSS cannot rewrite). '' in English."""
    if lang == "en":
        return ""
    return ("<script>(() => {if (window.__junhengPlaceholders) return; window.__junhengPlaceholders = true;"
            "const fix = () => document.querySelectorAll('input[placeholder=\"Choose an option\"]')"
            f".forEach(i => i.placeholder = {json.dumps(t('choose_option', lang))});"
            "new MutationObserver(fix).observe(document.body, {childList: true, subtree: true}); fix();})();"
            "</script>")


def chinese_uploader(lang: str, types: list[str]) -> None:
    """Show the next file uploader's built-in texts in lang (call once on the page, beside the uploader)."""
    css = uploader_css(lang, types, int(st.get_option("server.maxUploadSize")))
    if css:
        st.html(f"<style>{css}</style>")

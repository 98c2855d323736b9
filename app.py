"""Junheng's frame: page config, login, navigation, the shared sidebar and the synthetic-data notice."""
import os
import sys
from pathlib import Path

import streamlit as st

from junheng.i18n import t
from junheng.settings import LAUNCHER_ENV, STATIC_DIR

# `streamlit run app.py` (Streamlit's command line makes the script sys.argv[0]) serves the frame without the
# launcher's login routes, so a login would be lost at the next reload: stop at once and name the launcher. The
# one hidden page replaces Streamlit's pages/-directory navigation, which would run each page without the frame.
if os.environ.get(LAUNCHER_ENV) != "1" and Path(sys.argv[0]).resolve() == Path(__file__).resolve():
    st.navigation([st.Page(lambda: st.error(f"{t('launcher_required', 'zh')}\n\n{t('launcher_required', 'en')}"),
                           title="均衡 Junheng", url_path="launcher")], position="hidden").run()
    st.stop()

from junheng.views import cache, login, messages, phone, present, sidebar  # noqa: E402 — after the check: a refused start loads no more

# The tab's icon is the app's own SVG (sent inline): an emoji icon made Streamlit import its emoji catalogue
# (0.2-0.4 s of a fresh server's first page), and a Material Symbols icon is fetched from fonts.gstatic.com.
st.set_page_config(page_title="均衡 Junheng", page_icon=str(STATIC_DIR / "favicon.svg"), layout="wide")

lang = sidebar.language()
cache.housekeeping()  # once per server process: finish an interrupted write, delete day-old uploads
account = login.current(lang)
# URL paths differ from the file names on purpose: a first visit to /<file name> would make Streamlit run
# the file as a pages/-directory page, without this frame.
pages = [
    st.Page("pages/overview.py", title=t("page_overview", lang), icon=":material/map:", default=True),
    st.Page("pages/evaluation.py", title=t("page_evaluation", lang), icon=":material/balance:", url_path="pinggu"),
    st.Page("pages/gaps.py", title=t("page_gaps", lang), icon=":material/school:", url_path="chengxiang"),
    st.Page("pages/left_behind.py", title=t("page_left_behind", lang), icon=":material/family_restroom:",
            url_path="liushou"),
    st.Page("pages/standardization.py", title=t("page_standardization", lang), icon=":material/domain:",
            url_path="biaozhun"),
    st.Page("pages/cohort.py", title=t("page_cohort", lang), icon=":material/query_stats:", url_path="yanjiu"),
]
# Guests and readers never see import, rollback or accounts: hidden from them, and the pages refuse them too
# (a pasted link then gets a clear message, not Streamlit's "Page not found").
admin = "visible" if account is not None and account.can("admin") else "hidden"
pages += [
    st.Page("pages/data.py", title=t("page_data", lang), icon=":material/database:", url_path="shuju",
            visibility=admin),
    st.Page("pages/accounts.py", title=t("page_accounts", lang), icon=":material/group:", url_path="zhanghu",
            visibility=admin),
]
page = st.navigation(pages)
login.box(lang, account)
# Data management works with no data at all (that is how the first import happens); the views do not.
filters = sidebar.sidebar(lang, required=page.url_path not in ("shuju", "zhanghu"))
st.session_state["frame_filters"] = filters
presenting = present.mode(lang)
present.style(lang, presenting)  # print always; presentation mode; a Chinese screen without Streamlit's English
phone.style()  # the phone layout's media queries, in one place (views/phone.py)
if presenting:
    present.bar(lang, page.url_path)
sidebar.notice(filters)
try:
    page.run()
except Exception as e:  # st.stop and st.rerun are not Exceptions: they pass through
    messages.fail(lang, e)

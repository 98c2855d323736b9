"""账户管理: accounts, roles and regions (administrators only); the audit log is on the 数据管理 page."""
import streamlit as st

from junheng.access import accounts
from junheng.access.accounts import AccountError
from junheng.i18n import t
from junheng.views import admin_tables, login, ui

filters = ui.page_filters(required=False)
lang = filters.lang if filters else ui.language_code()
admin = login.require("admin", lang)
data_dir = ui.data_dir()
st.subheader(t("accounts_title", lang))
if message := st.session_state.pop("accounts_message", None):
    st.success(message)

listing = accounts.listing(data_dir)
st.dataframe(admin_tables.accounts_table(listing, lang), hide_index=True, width="stretch")


def attempt(action, done_key: str, name: str) -> None:
    try:
        action()
    except AccountError as e:
        st.error(t(e.key, lang, **e.values))
    else:
        st.session_state["accounts_message"] = t(done_key, lang, name=name)
        st.rerun()


with st.form("account_add", clear_on_submit=True):
    st.markdown(f"**{t('account_add', lang)}**")
    left, middle, right = st.columns(3)
    name = left.text_input(t("account_name", lang), max_chars=64, key="new_account_name")
    role = middle.selectbox(t("account_role", lang), accounts.ROLES, format_func=lambda r: t(f"role_{r}", lang),
                            key="new_account_role")
    region = right.text_input(t("account_region", lang), max_chars=6, key="new_account_region")
    password = st.text_input(t("password", lang), type="password", key="new_account_password")
    if st.form_submit_button(t("account_add", lang), type="primary"):
        attempt(lambda: accounts.add(data_dir, name, role, region, password, admin), "account_added", name)

if listing:
    chosen = st.selectbox(t("account_choose", lang), [a.name for a in listing], key="account_chosen")
    target = next(a for a in listing if a.name == chosen)
    left, right = st.columns(2)
    if target.disabled:
        if left.button(t("account_enable", lang), key="account_enable"):
            attempt(lambda: accounts.disable(data_dir, chosen, admin, disabled=False), "account_changed", chosen)
    elif left.button(t("account_disable", lang), key="account_disable", disabled=chosen == admin.name):
        attempt(lambda: accounts.disable(data_dir, chosen, admin), "account_changed", chosen)
    new_password = right.text_input(t("account_new_password", lang), type="password", key="account_new_password")
    if right.button(t("account_set_password", lang), key="account_set_password"):
        attempt(lambda: accounts.set_password(data_dir, chosen, new_password, admin), "account_changed", chosen)

"""账户管理: accounts, roles and regions inside the administrator's own region (the audit log is on 数据管理)."""
import streamlit as st

from junheng.access.accounts import ROLES, AccountError
from junheng.commands import accounts as account_commands
from junheng.commands.gate import Denied, message
from junheng.i18n import t
from junheng.views import admin_tables, cache, login, messages, sidebar

filters = sidebar.page_filters(required=False)
lang = filters.lang if filters else messages.language_code()
admin = login.require("admin", lang)
data_dir = cache.data_dir()
st.subheader(t("accounts_title", lang))
st.caption(t("accounts_scope", lang, region=admin.region or t("whole_country", lang)))
if notice := st.session_state.pop("accounts_message", None):
    st.success(notice)


def attempt(action, done_key: str, name: str) -> None:
    """Run one account command; its refusal is shown in the user's language, success after the rerun."""
    try:
        action()
    except AccountError as e:
        st.error(t(e.key, lang, **e.values))
    except Denied as e:
        st.error(message(e, lang))
    else:
        st.session_state["accounts_message"] = t(done_key, lang, name=name)
        st.rerun()


try:
    listing = account_commands.listing(data_dir, admin)
except Denied as e:
    st.error(message(e, lang))
    st.stop()
st.dataframe(admin_tables.accounts_table(listing, lang), hide_index=True, width="stretch")

with st.form("account_add", clear_on_submit=True):
    st.markdown(f"**{t('account_add', lang)}**")
    left, middle, right = st.columns(3)
    name = left.text_input(t("account_name", lang), max_chars=64, key="new_account_name")
    # no role above the administrator's own is offered (the command refuses one anyway)
    role = middle.selectbox(t("account_role", lang), [r for r in ROLES if admin.can(r)],
                            format_func=lambda r: t(f"role_{r}", lang), key="new_account_role")
    region = right.text_input(t("account_region", lang), max_chars=6, key="new_account_region",
                              value=admin.region, help=t("account_region_help", lang))
    password = st.text_input(t("password", lang), type="password", key="new_account_password")
    if st.form_submit_button(t("account_add", lang), type="primary"):
        attempt(lambda: account_commands.add(data_dir, admin, name, role, region, password), "account_added", name)

if listing:
    chosen = st.selectbox(t("account_choose", lang), [a.name for a in listing], key="account_chosen")
    target = next(a for a in listing if a.name == chosen)
    left, right = st.columns(2)
    if target.disabled:
        if left.button(t("account_enable", lang), key="account_enable"):
            attempt(lambda: account_commands.set_disabled(data_dir, admin, chosen, disabled=False), "account_changed",
                    chosen)
    elif left.button(t("account_disable", lang), key="account_disable", disabled=chosen == admin.name):
        attempt(lambda: account_commands.set_disabled(data_dir, admin, chosen), "account_changed", chosen)
    new_password = right.text_input(t("account_new_password", lang), type="password", key="account_new_password")
    if right.button(t("account_set_password", lang), key="account_set_password"):
        attempt(lambda: account_commands.set_password(data_dir, admin, chosen, new_password), "account_changed",
                chosen)

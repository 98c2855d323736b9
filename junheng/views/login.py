"""Who is looking: the login form on the frame, log-out, the session cookie, guests and single sign-on.

The result is the account (or None for a guest) and its region scope in st.session_state, which the query
layer applies to every read (junheng/views/cache.py `query`).
"""
from __future__ import annotations

import json
from typing import TYPE_CHECKING

import streamlit as st

from junheng import escape, settings
from junheng.access.routes import COOKIE, LOGOUT_ROUTE, SESSION_ROUTE
from junheng.data.scope import GUEST
from junheng.i18n import t

if TYPE_CHECKING:
    from junheng.access.accounts import Account

# The account database's modules (SQLAlchemy, argon2, Polars: 0.25 s to import) are imported where an account is
# read or written: a guest's page, the first a fresh server shows, never needs them.


def current(lang: str) -> Account | None:
    """The signed-in account (None: a guest), checked again on every script run against the server-side session
    (or, after single sign-on, the account itself): a tab whose session was logged out, whose account was
    disabled or given a new password elsewhere drops to a guest at its next click, with a notice; one whose
    role or region changed gets the changed account.

    With guest access turned off, a visitor who is not signed in sees only the login form.
    """
    data_dir = settings.data_dir()
    if "account" not in st.session_state:
        _restore(data_dir)
    else:
        _check_again(data_dir)
    account = st.session_state["account"]
    if account is None and not settings.flag("JUNHENG_GUEST_ACCESS"):
        box(lang, None)
        st.info(t("login_required", lang))
        st.stop()
    return account


def _restore(data_dir) -> None:
    """A new Streamlit session: the account named by the session cookie, or by single sign-on, or a guest."""
    cookie = st.context.cookies.get(COOKIE)
    account, sid, problem = None, None, None
    if isinstance(cookie, str) and cookie:
        from junheng.access import sessions
        account, sid, problem = sessions.account_for(data_dir, cookie)
    if account is not None:
        _set(account, sid, "session")
    else:
        account, problem = _single_sign_on(data_dir) or (None, problem)
        _set(account, None, "sso" if account is not None else None)
    if problem:
        st.session_state["login_notice"] = problem


def _check_again(data_dir) -> None:
    """Every later script run: the session (or single sign-on account) as the database has it now. A guest
    has nothing to check and imports nothing (see the import note above)."""
    account = st.session_state["account"]
    via, sid = st.session_state.get("account_via"), st.session_state.get("session_id")
    if account is None or via == "pinned":  # pinned: placed by the process itself (an AppTest's sign-in)
        return
    if via == "session" and sid:
        from junheng.access import sessions
        fresh, problem = sessions.check(data_dir, sid)
    elif via == "sso":
        fresh, problem = _single_sign_on_now(data_dir)
    else:  # an account of no known origin is not trusted
        fresh, problem = None, "session_ended"
    if fresh == account:
        return
    if fresh is None:
        _set(None, None)
        st.session_state["login_notice"] = problem
        if via == "session":  # the cookie names an ended session: the browser forgets it
            st.session_state["browser_call"] = (LOGOUT_ROUTE, "")
    else:
        _set(fresh, sid, via)
        st.session_state["login_notice"] = "session_changed"
    _forget_view_state()


def _set(account: Account | None, sid: str | None, via: str | None = None) -> None:
    st.session_state["account"] = account
    st.session_state["session_id"] = sid
    st.session_state["account_via"] = via  # 'session' (password and cookie), 'sso', or None for a guest
    st.session_state["scope"] = account.scope if account else GUEST


def box(lang: str, account: Account | None) -> None:
    """The sidebar's login form (用户名, 密码, 登录), or who is signed in and a log-out button."""
    _send_pending_browser_calls()
    if notice := st.session_state.pop("login_notice", None):
        st.sidebar.warning(t(notice, lang))
    if account is not None:
        region = account.region or t("whole_country", lang)
        st.sidebar.caption(t("signed_in_as", lang, name=escape.markdown(account.name),
                             role=t(f"role_{account.role}", lang), region=region))
        if st.sidebar.button(t("logout", lang), key="logout"):
            logout()
        return
    with st.sidebar.form("login", clear_on_submit=True, border=True):
        st.markdown(f"**{t('login_title', lang)}**")
        name = st.text_input(t("username", lang), key="login_name", max_chars=64)
        password = st.text_input(t("password", lang), type="password", key="login_password", max_chars=256)
        submitted = st.form_submit_button(t("login", lang), type="primary")
    if submitted:
        login(name, password, lang)
    if _sso_configured():
        if st.sidebar.button(t("login_sso", lang), key="login_sso"):
            st.login()


def login(name: str, password: str, lang: str) -> None:
    from junheng.access import accounts, sessions
    from junheng.access.accounts import AccountError
    data_dir = settings.data_dir()
    try:
        peer = st.context.ip_address
        forwarded = st.context.headers.get("X-Forwarded-For")  # set by a proxy (trusted only as configured)
        ip = accounts.client_address(peer if isinstance(peer, str) else None, forwarded)
        account = accounts.verify(data_dir, name, password, ip=ip)
    except AccountError as e:
        st.sidebar.error(t(e.key, lang, **e.values))
        return
    sid, ticket = sessions.start(data_dir, account)
    _set(account, sid, "session")
    st.session_state["browser_call"] = (SESSION_ROUTE, ticket)  # the browser swaps the ticket for its cookie
    _forget_view_state()
    st.rerun()


def logout() -> None:
    from junheng.access import audit, sessions
    data_dir = settings.data_dir()
    account = st.session_state.get("account")
    sessions.end(data_dir, st.session_state.get("session_id"))
    if account is not None:
        audit.record(data_dir, account, "logout")
    _set(None, None)
    st.session_state["browser_call"] = (LOGOUT_ROUTE, "")
    _forget_view_state()
    if _sso_configured() and getattr(st.user, "is_logged_in", False):
        st.logout()
    st.rerun()


def _forget_view_state() -> None:
    """A new account may see other counties: the chosen region starts again from the account's own."""
    for key in ("province", "prefecture", "county", "link_applied", "region_defaulted"):
        st.session_state.pop(key, None)


def _send_pending_browser_calls() -> None:
    """POST to the app's cookie routes from the page (a script cannot set a cookie itself)."""
    call = st.session_state.pop("browser_call", None)
    if call is None:
        return
    route, body = call
    base = (st.get_option("server.baseUrlPath") or "").strip("/")
    url = ("/" + base if base else "") + route
    st.html(f"<script>fetch({json.dumps(url)}, {{method: 'POST', body: {json.dumps(body)}, "
            f"credentials: 'same-origin'}});</script>", unsafe_allow_javascript=True)


def _sso_configured() -> bool:
    """Single sign-on through st.login, when .streamlit/secrets.toml has an [auth] section."""
    try:
        return "auth" in st.secrets
    except Exception:  # no secrets file at all
        return False


def _single_sign_on(data_dir) -> tuple[Account | None, str | None] | None:
    """The local account named by the identity provider's email (or None and why), when signed in by SSO."""
    if not _sso_configured() or not getattr(st.user, "is_logged_in", False):
        return None
    from junheng.access import accounts, audit
    from junheng.access.accounts import Account
    name = _sso_name()
    account = accounts.get(data_dir, name)
    if account is None or account.disabled:
        audit.record(data_dir, Account(name or "-", "viewer", ""), "login_refused", {"reason": "sso: no account"})
        return None, "login_sso_unknown"
    audit.record(data_dir, account, "login", {"via": "sso"})
    return account, None


def _single_sign_on_now(data_dir) -> tuple[Account | None, str | None]:
    """A single sign-on account re-read (at most a few seconds old): gone once the identity provider's login
    ended or the local account was disabled or removed."""
    if not _sso_configured() or not getattr(st.user, "is_logged_in", False):
        return None, "session_ended"
    from junheng.access import sessions
    account = sessions.account_named(data_dir, _sso_name())
    if account is None or account.disabled:
        return None, "session_ended"
    return account, None


def _sso_name() -> str:
    return st.user.get("email") or st.user.get("preferred_username") or ""


def require(role: str, lang: str) -> Account:
    """Stop the page unless the signed-in account, as checked on this script run, has at least role (a page
    reached by its link, too)."""
    account = current(lang)
    if account is None or not account.can(role):
        st.error(t("role_required", lang, role=t(f"role_{role}", lang)))
        st.stop()
    return account

"""The app's own HTTP routes beside Streamlit's (junheng/tools/serve.py) and the session cookie's name: here,
apart from the sessions module, so the launcher and a guest's page need not import the account database's
libraries (SQLAlchemy, argon2) to name them."""

COOKIE = "junheng_session"

SESSION_ROUTE = "/_junheng/session"  # POST a one-time ticket, get the session cookie
LOGOUT_ROUTE = "/_junheng/logout"    # POST: end the session named by the cookie, clear the cookie

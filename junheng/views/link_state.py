"""The view in the link: every choice that changes what a page shows is a query parameter, read when the link changed
from outside, written by the widgets (the cohort page's conditions too)."""
from __future__ import annotations

import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from junheng import escape
from junheng.i18n import t
from junheng.views import links, messages

# The view is in the link: every choice that changes what a page shows is a query parameter (?county=…&year=…
# &overview_metric=…), so a reload, back / forward and a pasted link show the same view. The link is applied to
# the widgets when it changed from outside (a new session, a pasted link, back / forward); after that the widgets
# write it, one history entry per change.
URL_LAST = "_url_last"


def _current_link() -> dict[str, tuple[str, ...]]:
    return {k: tuple(st.query_params.get_all(k)) for k in st.query_params}


def url_begin() -> None:
    """First thing in every run: whether the link changed from outside since this session last wrote it."""
    now, last = _current_link(), st.session_state.get(URL_LAST)
    ctx = get_script_run_ctx()
    page = ctx.page_script_hash if ctx is not None else None
    # A click on a sidebar page link clears the link's parameters (Streamlit does): not a change from outside,
    # so the region, year and language stay as they were (it used to reset a county view to the whole country).
    navigated = not now and st.session_state.get("_url_page") not in (None, page)
    st.session_state["_url_page"] = page
    st.session_state["_url_first"] = last is None
    st.session_state["_url_outside"] = last is None or (now != last and not navigated)
    st.session_state[URL_LAST] = now


def from_link(name: str) -> list[str] | None:
    """The link's values of parameter name when the link changed from outside in this run, [] when it lacks it
    (back to the default), None when the widgets' own state stands."""
    ctx = get_script_run_ctx()
    if not st.session_state.get("_url_outside") or (ctx is not None and ctx.fragment_ids_this_run):
        return None  # the widgets' own state stands (a fragment's rerun never rereads the link)
    values = st.query_params.get_all(name)
    if not values and st.session_state.get("_url_first"):
        return None  # a new session: the widgets' defaults (or a test's state) stand
    return list(values)


def to_link(values: dict) -> None:
    """Make the link show these parameters (None or [] removes one); one update, only when something changed."""
    current = _current_link()
    new = dict(current)
    for name, value in values.items():
        if value is None or (isinstance(value, (list, tuple)) and not value):
            new.pop(name, None)
        else:
            new[name] = tuple(str(v) for v in value) if isinstance(value, (list, tuple)) else (str(value),)
    if new != current:
        st.query_params.from_dict({k: list(v) for k, v in new.items()})
    st.session_state[URL_LAST] = new


def linked(widget, label: str, options, *, key: str, default, **kwargs):
    """A widget (select box, radio, segmented control) whose value is also the link's ?key=value: taken from the
    link when it changed from outside (an invalid value is ignored with a one-line notice), written to it after."""
    options = list(options)
    raw = from_link(key)
    if raw is not None:
        value = default
        if raw:
            text = raw[-1]
            known = {str(o): o for o in options}
            problem = "too_long" if len(text) > links.MAX_LENGTH else None if text in known else "unknown"
            if problem:
                st.warning(t(f"link_{problem}", messages.language_code(), name=key,
                             value=escape.markdown(text, limit=24)))
            else:
                value = known[text]
        st.session_state[key] = value
    elif st.session_state.get(key) not in options:
        st.session_state[key] = default
    else:
        # Set again each run: a language switch changes the label, which makes it a new widget to Streamlit, and
        # a new widget shows its default unless its value was set in this run.
        st.session_state[key] = st.session_state[key]
    value = widget(label, options, key=key, **kwargs)
    value = default if value is None else value
    to_link({key: None if value == default else value})
    return value


# The cohort page's link: ?from=2016&to=2025&where=…&where=…&compare=b&bwhere=…&measures=a,b&measure=a&view=trend&k=5
COHORT_KEYS = {"from": "cohort_years", "to": "cohort_years", "where": "cohort_where", "compare": "cohort_compare",
               "bwhere": "cohort_where_b", "measures": "cohort_measures", "measure": "cohort_measure",
               "view": "cohort_view", "k": "cohort_k"}


def cohort_link(lang: str, years: tuple[int, ...], defaults: dict) -> None:
    """Put the cohort page's link into its widgets when the link changed from outside; invalid parts are ignored
    with a one-line notice naming them (a condition's notice says what is wrong with it)."""
    raw = {name: from_link(name) for name in COHORT_KEYS}
    if all(v is None for v in raw.values()):
        for key, value in defaults.items():  # assigning a widget's key keeps it while its view is not shown
            st.session_state[key] = st.session_state.get(key, value)
        return
    values = links.cohort_params({k: v or [] for k, v in raw.items()}, lang, years)
    for notice in values.pop("notices"):
        st.warning(notice)
    state = {**defaults, **{COHORT_KEYS[k]: v for k, v in values.items() if k not in ("from", "to")}}
    first, last = values.get("from", defaults["cohort_years"][0]), values.get("to", defaults["cohort_years"][1])
    state["cohort_years"] = (min(first, last), max(first, last))
    for key in ("cohort_where", "cohort_where_b"):
        state[key] = "\n".join(c.text for c in state[key]) if not isinstance(state[key], str) else state[key]
    st.session_state.update(state)


def cohort_to_link(defaults: dict) -> None:
    """Write the cohort page's view into the link (defaults left out: a short link; only valid conditions)."""
    from junheng.rules import cohort as grammar
    chosen = st.session_state
    conditions, _ = grammar.parse_all(chosen.get("cohort_where", "").splitlines())
    conditions_b, _ = grammar.parse_all(chosen.get("cohort_where_b", "").splitlines())
    span = chosen.get("cohort_years", defaults["cohort_years"])
    to_link({"from": None if span[0] == defaults["cohort_years"][0] else span[0],
             "to": None if span[1] == defaults["cohort_years"][1] else span[1],
             "where": [c.text for c in conditions],
             "compare": None if chosen.get("cohort_compare") == defaults["cohort_compare"] else chosen.get(
                 "cohort_compare"),
             "bwhere": [c.text for c in conditions_b] if chosen.get("cohort_compare") == "b" else None,
             "measures": None if list(chosen.get("cohort_measures", [])) == list(defaults["cohort_measures"])
             else ",".join(chosen.get("cohort_measures", [])) or None,
             "measure": None if chosen.get("cohort_measure") in (None, defaults["cohort_measure"])
             else chosen.get("cohort_measure"),
             "view": None if chosen.get("cohort_view") in (None, defaults["cohort_view"])
             else chosen.get("cohort_view"),
             "k": None if chosen.get("cohort_k") in (None, defaults["cohort_k"]) else chosen.get("cohort_k")})


def facet_changed(column: str, where_key: str, lang: str = "en") -> None:
    """A click on a facet value: its condition in the conditions box becomes `column in (chosen values)`, written
    in the screen's language (城乡 in (乡村, 镇区) on a Chinese screen)."""
    from junheng.rules import cohort as grammar
    lines = st.session_state.get(where_key, "").splitlines()
    chosen = st.session_state.get(f"{where_key}_facet_{column}") or []
    st.session_state[where_key] = "\n".join(grammar.replace_facet(lines, column, chosen, lang))

"""数据管理: import a bureau's own table with a validation report, list versions, roll back, get the template."""
import streamlit as st

from junheng import escape
from junheng.commands import audit_log
from junheng.commands import data as data_commands
from junheng.commands.gate import Denied
from junheng.commands.gate import message as denied_message
from junheng.data import county_table, importer, store
from junheng.i18n import t
from junheng.reports import exports
from junheng.views import admin_tables, builtin_texts, cache, data_views, login, messages, sidebar, uploads


def failed(error: Exception) -> None:
    """One line for the user (a StoreError says what and how to recover); the details go to the server log."""
    if isinstance(error, store.StoreError):
        st.error(t("import_failed", lang, detail=escape.markdown(str(error))))
    elif isinstance(error, Denied):
        st.error(denied_message(error, lang))
    else:
        messages.fail(lang, error, "import_failed_unexpected")


cache.housekeeping()
filters = sidebar.page_filters(required=False)
lang = filters.lang if filters else messages.language_code()
admin = login.require("admin", lang)
st.subheader(t("data_title", lang))
if message := st.session_state.pop("data_message", None):
    st.success(message)

st.markdown(f"**{t('import_title', lang)}**")
# the school table, or the county self-assessment table (what school rows cannot show; see the evaluation page)
county = st.radio(t("ct_choose_table", lang), ["school", "county"], horizontal=True, key="import_table",
                  format_func=lambda k: t(f"ct_table_{k}", lang)) == "county"
left, right = st.columns([1, 3])
# A school file replaces only the counties it holds; replacing a whole year (within the account's region) is asked for.
replace_year = not county and left.checkbox(t("replace_year", lang), key="replace_year",
                                            help=t("replace_year_help", lang))
year = left.number_input(t("import_year", lang), min_value=2000, max_value=2100, step=1, key="import_year",
                         value=filters.years[-1] if filters else 2025)
builtin_texts.chinese_uploader(lang, ["xlsx", "csv"])
# A new key after each import empties the uploader, so a file is not imported twice by accident.
uploaded = right.file_uploader(t("import_file", lang), type=["xlsx", "csv"],
                               key=f"import_file_{st.session_state.get('imports_done', 0)}")
report = unreadable = None
if uploaded is not None:
    try:
        report, unreadable = uploads.validate_upload(uploaded, int(year), lang, replace_year,
                                                table="county" if county else "school")
    except Exception as e:
        failed(e)
if unreadable:
    st.error(escape.markdown(unreadable))  # it names the user's file: data, not formatting
elif report is not None:
    asks = not report.error_count and report.needs_removal_confirmation
    verdict = "import_blocked" if report.error_count else "import_ready_removal" if asks else "import_ready"
    (st.error if report.error_count else st.warning if asks else st.success)(
        report.summary(lang) + " " + t(verdict, lang))
    if report.problems:
        table = report.frame(lang)
        st.dataframe(table, hide_index=True, width="stretch")
        sheets = {t("report_sheet", lang): table, t("report_counts", lang): report.counts_frame(lang)}
        st.download_button(t("report_download", lang), exports.xlsx_bytes(sheets), f"validation_{year}.xlsx",
                           key="report_download")
    confirmed = True
    if asks:
        summary, *counties = report.removal.lines(lang, limit=30)
        st.warning(escape.markdown(summary) + "\n\n" + "\n".join(f"- {escape.markdown(line)}" for line in counties))
        # keyed by what would be removed: a tick given for one file never carries over to another
        confirmed = st.checkbox(t("removal_confirm", lang), key=f"removal_confirm_{hash(report.removal)}")
    if not report.error_count and st.button(t("import_confirm", lang, year=int(year)), type="primary",
                                            key="import_confirm", disabled=not confirmed):
        try:
            result, version = uploads.import_upload(uploaded, int(year), lang, allow_removal=report.removal or False,
                                               replace_year=replace_year, table="county" if county else "school")
        except Exception as e:
            failed(e)
        else:
            if version is None:  # the year changed since the check: confirm what it would remove now
                st.warning(t("removal_needs_confirm", lang))
            else:
                st.session_state["data_message"] = t("ct_import_done" if county else "import_done", lang,
                                                     year=int(year), version=version)
                st.session_state["imports_done"] = st.session_state.get("imports_done", 0) + 1
                st.rerun()

st.markdown(f"**{t('ct_versions_title' if county else 'versions_title', lang)}**")
try:
    versions = data_commands.versions(cache.data_dir(), admin, "county" if county else "school", lang)
except (store.StoreError, Denied) as e:
    failed(e)
    versions = None
if versions is not None:
    st.dataframe((county_table if county else importer).versions_table(versions, lang), hide_index=True,
                 width="stretch")
if versions is not None and not versions.is_empty():
    col_year, col_version, col_button = st.columns([1, 3, 1], vertical_alignment="bottom")
    back_year = col_year.selectbox(t("year", lang), versions["year"].unique(maintain_order=True).to_list(),
                                   key="rollback_year")
    choices = versions.filter(versions["year"] == back_year)
    back_to = col_version.selectbox(t("version", lang), choices["id"].to_list(), key="rollback_version",
                                    format_func=lambda v: importer.version_label(choices, v, lang))
    if col_button.button(t("rollback" if county else "undo_import", lang), key="rollback_button"):
        try:
            uploads.undo_import(int(back_year), back_to, lang, table="county" if county else "school")
        except Exception as e:
            failed(e)
        else:
            st.session_state["data_message"] = t("rollback_done" if county else "undo_done", lang, year=back_year,
                                                 version=back_to)
            st.rerun()

st.markdown(f"**{t('audit_title', lang)}**")
try:  # an administrator reads its own region's entries; addresses only a national one
    st.dataframe(admin_tables.audit_table(audit_log.entries(cache.data_dir(), admin, limit=500), lang), hide_index=True,
                 width="stretch")
except Denied as e:
    st.error(denied_message(e, lang))

data_views.template_downloads(lang, admin)

"""Display tables for administrators: accounts and the audit log, labelled in the chosen language."""
from __future__ import annotations

import polars as pl

from junheng.i18n import t


def accounts_table(accounts, lang: str) -> pl.DataFrame:
    """One row per account: name, role, region (or 全国), status."""
    return pl.DataFrame([{
        t("account_name", lang): a.name,
        t("account_role", lang): t(f"role_{a.role}", lang),
        t("audit_region", lang): a.region or t("whole_country", lang),
        t("account_status", lang): t("account_disabled" if a.disabled else "account_active", lang),
    } for a in accounts], schema={t(k, lang): pl.String for k in ("account_name", "account_role", "audit_region",
                                                                   "account_status")})


def audit_table(entries: pl.DataFrame, lang: str) -> pl.DataFrame:
    """The audit log with headers in lang (newest first, as stored)."""
    return entries.with_columns(
        pl.when(pl.col("region") == "").then(pl.lit(t("whole_country", lang))).otherwise(pl.col("region"))
        .alias("region")).rename({k: t(f"audit_{k}", lang) for k in ("at", "account", "region", "action", "details")})

"""Display tables for administrators: accounts and the audit log, labelled in the chosen language."""
from __future__ import annotations

import json

import polars as pl

from junheng.i18n import TEXT, t


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
    """The audit log in lang, newest first as stored: Beijing time, actions by name, details as readable pairs."""
    return entries.with_columns(
        pl.col("at").str.to_datetime(time_zone="UTC").dt.convert_time_zone("Asia/Shanghai")
        .dt.strftime("%Y-%m-%d %H:%M:%S").alias("at"),
        pl.when(pl.col("region") == "").then(pl.lit(t("whole_country", lang))).otherwise(pl.col("region"))
        .alias("region"),
        pl.col("action").map_elements(lambda a: _named(f"audit_action_{a}", a, lang), return_dtype=pl.String),
        pl.col("details").map_elements(lambda d: readable_details(d, lang), return_dtype=pl.String),
    ).rename({k: t(f"audit_{k}", lang) for k in ("at", "account", "region", "action", "details")})


def readable_details(details: str, lang: str) -> str:
    """An entry's JSON details as 'key: value' pairs in lang (lists joined, true/false as 是/否)."""
    try:
        values = json.loads(details)
    except ValueError:
        return details
    if not isinstance(values, dict):
        return details

    def shown(value) -> str:
        if isinstance(value, bool):
            return t("yes" if value else "no", lang)
        if isinstance(value, list):
            return "、".join(map(str, value)) if lang == "zh" else ", ".join(map(str, value))
        return "—" if value in (None, "") else str(value)
    separator = "；" if lang == "zh" else "; "
    colon = "：" if lang == "zh" else ": "
    return separator.join(f"{_named(f'audit_key_{k}', k, lang)}{colon}{shown(v)}" for k, v in values.items())


def _named(key: str, fallback: str, lang: str) -> str:
    return t(key, lang) if key in TEXT else fallback

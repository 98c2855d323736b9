"""The import templates a bureau fills in: the school table and the county self-assessment table, each with its
data dictionary or item list (Excel)."""
from __future__ import annotations

import polars as pl

from junheng import settings
from junheng.data import county_table, dictionary, importer
from junheng.i18n import t
from junheng.reports import exports
from junheng.rules import verdicts


def school_template(lang: str = "zh") -> bytes:
    """The import template: a data sheet (header row + examples) and the data dictionary sheet."""
    cols = [c for c in dictionary.columns() if c.name != "year"]
    header = [c.zh if lang == "zh" else c.name for c in cols]
    data = pl.DataFrame([[row.get(c.name) for c in cols] for row in importer.EXAMPLE_ROWS], schema=header, orient="row",
                        infer_schema_length=None)
    guide = pl.DataFrame([{
        t("dict_header", lang): c.zh if lang == "zh" else c.name, t("dict_name", lang): c.name,
        t("dict_zh", lang): c.zh, t("dict_meaning", lang): c.en, t("dict_type", lang): c.type,
        t("dict_unit", lang): c.unit, t("dict_allowed", lang): c.allowed, t("dict_range", lang): c.range_text,
        t("dict_required", lang): t("yes", lang) if c.required and c.name not in importer.OPTIONAL else t("no", lang),
    } for c in cols])
    return exports.xlsx_bytes({t("sheet_data", lang): data, t("sheet_dictionary", lang): guide})


def county_template(lang: str = "zh", county_code: str = "") -> bytes:
    """The import template: one row per self-assessable item for the account's own county (blank for a national
    or prefecture account: the bureau writes its code), values to fill in; and the item list with each item's
    official text, part, kind, rule and where the rule is written."""
    rules = settings.load_thresholds()
    open_items = [i for i in verdicts.items() if i.self_assessable]
    header = [county_table.HEADERS[c][1] if lang == "zh" else c for c in ("county_code", "item", "value", "item_name")]
    code = county_code if len(county_code or "") == 6 else None
    data = pl.DataFrame([[code, i.key, None, i.label(lang)] for i in open_items], schema={
        h: pl.String for h in header}, orient="row")
    guide = pl.DataFrame([{
        t("ct_col_item", lang): i.key, t("ct_col_name", lang): i.label(lang),
        t("ct_col_evaluation", lang): t(f"eval_{i.evaluation}", lang),
        t("ct_col_part", lang): verdicts.part(i.evaluation, i.part).label(lang),
        t("ct_col_kind", lang): t(f"ct_kind_{i.kind}", lang),
        t("ct_col_rule", lang): verdicts.rule_label(i, rules, lang),
        t("ct_col_confirmed", lang): "✓" if i.confirmed else "~",
        t("ct_col_cites", lang): i.cites,
    } for i in open_items])
    return exports.xlsx_bytes({t("ct_sheet_data", lang): data, t("ct_sheet_items", lang): guide})

"""The one translation table: every user-facing string, Chinese first, English second."""
from __future__ import annotations

TEXT: dict[str, tuple[str, str]] = {
    "app_title": ("均衡 · 县域义务教育均衡发展分析", "Junheng · County compulsory-education balance"),
    "page_overview": ("总览", "Overview"),
    "language": ("语言 / Language", "语言 / Language"),
    "region": ("地区", "Region"),
    "province": ("省", "Province"),
    "prefecture": ("市", "Prefecture"),
    "county": ("县（区）", "County"),
    "all": ("全部", "All"),
    "all_provinces": ("全部地区", "All regions"),
    "year": ("统计年度", "Statistical year"),
    "synthetic_notice": ("示例数据：本页数字由程序按公开统计规律合成，不代表任何真实学校。",
                         "示例数据 (synthetic data): these figures are generated to resemble the published "
                         "statistics; they describe no real school."),
    "imported_notice": ("数据来源：本地导入的统计数据。", "Data source: statistics imported by the bureau."),
    "no_data": ("数据目录中没有任何年度快照：{path}。请先运行 `make demo` 或导入数据。",
                "The data directory holds no yearly snapshot: {path}. Run `make demo` or import data first."),
    "data_error": ("数据无法读取：{detail}", "The data cannot be read: {detail}"),
    "no_schools": ("所选地区在 {year} 年没有学校数据。", "The chosen region has no schools in {year}."),
    "schools": ("学校数", "Schools"),
    "students": ("在校生数", "Students"),
    "teachers": ("专任教师数", "Full-time teachers"),
    "standardized_share": ("标准化学校占比", "Standardized schools"),
    "large_class_share": ("大班额占比（56人及以上）", "Large classes (56+)"),
    "huge_class_share": ("超大班额占比（66人及以上）", "Oversized classes (66+)"),
    "left_behind_students": ("留守儿童数", "Left-behind children"),
    "left_behind_share": ("留守儿童占在校生比例", "Left-behind share of students"),
    "migrant_share": ("随迁子女占在校生比例", "Migrant children share of students"),
    "vs_last_year": ("较上年", "vs. previous year"),
    "no_previous": ("无上年数据", "no previous year"),
    "headline": ("{region} · {year} 年概况", "{region} · {year} at a glance"),
    "map_metric": ("地图指标", "Map indicator"),
    "map_title": ("各县（区）{metric}（{year} 年）", "{metric} by county, {year}"),
    "map_hint": ("点击地图上的县（区）可将其设为所选地区。", "Click a county on the map to select it."),
    "legend_no_data": ("无数据", "no data"),
    "county_table": ("各县（区）数据", "Counties"),
    "county_name": ("县（区）", "County"),
    "prefecture_name": ("市", "Prefecture"),
    "percentage_points": ("{value:+.1f} 个百分点", "{value:+.1f} pp"),
    "settings_error": ("设置有误：{detail}", "Invalid setting: {detail}"),
}


def t(key: str, lang: str = "zh", **values) -> str:
    """The text for key in lang ('zh' or 'en'), with {placeholders} filled."""
    zh, en = TEXT[key]
    text = zh if lang == "zh" else en
    return text.format(**values) if values else text

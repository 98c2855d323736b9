"""标准化建设: standardized schools and large classes against the published deadlines, with a roadmap per county."""
import polars as pl
import streamlit as st

from junheng.i18n import t
from junheng.rules import standardization as std
from junheng.views import cache, downloads, link_state, phone, present, sidebar, standardization_views

filters = sidebar.page_filters()
lang, year, rules = filters.lang, filters.year, cache.rules()
st.subheader(t("standardization_title", lang, region=filters.region_name, year=year))
totals = cache.query("county_totals", years=list(filters.years), region=filters.region)
if totals.filter(pl.col("year") == year).is_empty():
    st.info(t("no_schools", lang, year=year))
    st.stop()
caps = cache.query("class_size_caps", years=list(filters.years), region=filters.region,
                primary_max=rules["targets"]["primary_class_max"], junior_max=rules["targets"]["junior_class_max"])
names = dict(cache.query("counties_with_data").select("county_code", "county_name").iter_rows())
profiles = list(std.class_profiles(rules))
profile = link_state.linked(st.segmented_control, t("class_profile", lang), profiles, default=profiles[0],
                            key="class_profile",
                    format_func=lambda p: std.profile_label(rules, p, lang))
# Built once per data version and view (the national view's 2,852 counties took about 1 s a run).
parts = cache.memo(("standardization", year, filters.region, filters.region_name, profile, lang, cache.scope().key,
                 repr(rules)), lambda: standardization_views.page_parts(totals, caps, names, year, filters.region_name,
                                                                        rules, profile, lang))

left, right = st.columns(2)
present.chart(parts["std_trend"], "std_trend", lang, left)
present.chart(parts["class_trend"], "class_trend", lang, right)
now = parts["now"]
st.caption(t("teaching_point_note", lang, year=year, n=now["teaching_points"],
             share=f"{now['teaching_point_standardized_share']:.0%}" if now["teaching_points"] else "—"))
present.chart(parts["class_counts"], "class_counts", lang)

st.markdown(f"**{t('milestones_title', lang)}** · {std.profile_label(rules, profile, lang)}")
phone.table("milestones", parts["milestones"], [t(k, lang) for k in ("milestone", "reached", "verdict")],
            hide_index=True, width="stretch")
st.markdown(f"**{t('county_milestones_title', lang)}**")
st.dataframe(parts["county_milestones"], hide_index=True, width="stretch")
downloads.downloads(parts["county_milestones"], f"{t('download_milestones', lang)}_{filters.region or 'all'}_{year}",
                    lang, key="dl_county_milestones", school_level=False)

st.markdown(f"**{t('roadmap_title', lang)}**")
st.caption(t("roadmap_help", lang, k=rules["targets"]["pace_years"]))
st.dataframe(parts["roadmap"], hide_index=True, width="stretch")
downloads.downloads(parts["roadmap"], f"roadmap_{filters.region or 'all'}_{year}", lang, key="roadmap",
                    school_level=False)

if "std_multiples" in parts:
    present.chart(parts["std_multiples"], "std_multiples", lang)
    present.chart(parts["class_multiples"], "class_multiples", lang)

st.markdown(f"**{t('huge_class_schools_title', lang)}**")
holding = std.huge_class_schools(cache.query("huge_class_schools", year=year, region=filters.region), names, lang)
if holding.is_empty():
    st.caption(t("none_left", lang))
else:
    st.dataframe(holding, hide_index=True, width="stretch")
    downloads.downloads(holding, f"{t('huge_class_schools_title', lang)}_{filters.region or 'all'}_{year}", lang,
                        key="dl_huge_classes", protected_counts=False)

"""A two-page Streamlit app for tests/test_loadtest.py: one page that works (slowly with ?sleep=s), one that raises."""
import time

import streamlit as st


def fine() -> None:
    year = st.sidebar.selectbox("year", [2025, 2024, 2023], key="year")
    time.sleep(float(st.query_params.get("sleep", 0)))
    shown = st.segmented_control("shown", ["a", "b"], default="a", key="shown")
    st.write(f"{year} {shown}")


def broken() -> None:
    st.sidebar.selectbox("year", [2025, 2024, 2023], key="year")
    raise ValueError("injected failure")


st.navigation([st.Page(fine, title="Fine", default=True), st.Page(broken, title="Broken", url_path="broken")]).run()

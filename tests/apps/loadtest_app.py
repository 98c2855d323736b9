"""A two-page Streamlit app for tests/test_loadtest.py: one page that works, one that raises."""
import streamlit as st


def fine() -> None:
    year = st.sidebar.selectbox("year", [2025, 2024, 2023], key="year")
    shown = st.segmented_control("shown", ["a", "b"], default="a", key="shown")
    st.write(f"{year} {shown}")


def broken() -> None:
    st.sidebar.selectbox("year", [2025, 2024, 2023], key="year")
    raise ValueError("injected failure")


st.navigation([st.Page(fine, title="Fine", default=True), st.Page(broken, title="Broken", url_path="broken")]).run()

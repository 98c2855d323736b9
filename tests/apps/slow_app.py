"""A page whose script takes 1.5 s after its first elements, then draws a Plotly chart of the chosen year:
tests/test_bench.py checks that wait_for_page waits for it (script finished, chart drawn), after a change too."""
import time

import plotly.graph_objects as go
import streamlit as st

year = st.selectbox("year", [2025, 2024], key="year")
for i in range(5):
    st.write(f"line {i}")
time.sleep(1.5)  # a slow query
st.plotly_chart(go.Figure(go.Bar(x=[f"year {year}"], y=[1])), key="chart")

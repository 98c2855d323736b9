"""What the pages show: the Streamlit helper, charts, maps and display tables."""
